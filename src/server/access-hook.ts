import type { TSchema } from "@sinclair/typebox";
import type { Broker } from "../broker/broker.ts";
import { ErrorCodes, type BrokerError, type ErrorCode } from "../core/errors.ts";
import { check, PUBLIC_DOCUMENTS, ROUTE_ACCESS, unrestricted, type Caller, type Rule } from "./access.ts";
import { seedFieldNames } from "./body-check.ts";
import { callerOf, problemOf } from "./caller.ts";
import { parsedBody } from "./request-body.ts";
import { models } from "./schemas.ts";

/** The seed's routes read field names case-insensitively: the access check reads them as the route will. */
const SEED_BODIES: Record<string, TSchema> = {
  "POST /exchanges": models.ExchangeDeclare,
  "POST /queues": models.QueueDeclare,
  "POST /bindings": models.BindingRequest,
  "DELETE /bindings": models.BindingRequest,
  "POST /publish": models.PublishRequest,
};

/**
 * [AUTH-1] Why this request may not run its route, or undefined when it may: a route without a row
 * in ROUTE_ACCESS is refused (fail closed), a public one always runs, any other needs a caller
 * (401) whose permissions cover what the route touches (403).
 */
export function accessDenied(request: Request, route: string, params: Record<string, string>, query: Record<string, string | undefined>, broker: Broker): BrokerError | undefined {
  return accessDeniedTo(request.method, route, params, query, broker, callerOf(request), problemOf(request), parsedBody(request));
}

/** The same verdict for what rides beside a request (the edge's POST /publish has it at hand). */
export function accessDeniedTo(
  requestMethod: string,
  route: string,
  params: Record<string, string>,
  query: Record<string, string | undefined>,
  broker: Broker,
  caller: Caller | undefined,
  problem: { message: string; code?: ErrorCode } | undefined,
  raw: unknown,
): BrokerError | undefined {
  const method = requestMethod === "HEAD" ? "GET" : requestMethod;
  const key = `${method} ${route}`;
  const rule = (ROUTE_ACCESS as Record<string, Rule>)[key];
  if (rule === undefined) {
    if (method === "GET" && PUBLIC_DOCUMENTS.some((prefix) => route === prefix || route.startsWith(`${prefix}/`))) return undefined;
    return { code: ErrorCodes.FORBIDDEN, message: `no access rule for ${key}` };
  }
  if ("public" in rule) return undefined;
  if (caller === undefined) {
    // The edge's verdict, with its code: TOKEN_EXPIRED tells a client to refresh, FORBIDDEN (403) is a valid token that grants nothing.
    return { code: problem?.code ?? ErrorCodes.UNAUTHORIZED, message: problem?.message ?? "authentication required: send Authorization: Bearer <API key or JWT> (or Basic)" };
  }
  if (unrestricted(caller)) return undefined;
  const seedModel = SEED_BODIES[key];
  const body = seedModel === undefined ? raw : seedFieldNames(seedModel, raw);
  const needs = rule.needs({ params, body: typeof body === "object" && body !== null ? body : {}, query });
  const allowed = check(caller, needs, (name) => {
    const exchange = broker.exchange(name);
    return exchange.ok && exchange.value.type === "topic";
  });
  return allowed.ok ? undefined : allowed.error;
}
