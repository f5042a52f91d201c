import type { Static } from "@sinclair/typebox";
import type { Broker, PublishResult } from "../broker/broker.ts";
import type { ErrorCode, Result } from "../core/errors.ts";
import type { Caller } from "./access.ts";
import { accessDeniedTo } from "./access-hook.ts";
import { bodyCheck } from "./body-check.ts";
import { errorResponse, HTTP_CHALLENGE, statusOf } from "./http-errors.ts";
import { parsePublishRequest } from "./publish-fields.ts";
import { checkedBody, jsonBody } from "./request-body.ts";
import { models } from "./schemas.ts";

/**
 * POST /publish, the hot route. Elysia's route (app.ts) documents it and answers what the edge does
 * not take; the edge (serve.ts) answers a plain one itself, without rebuilding the request for
 * Elysia: the same checks in the same order (access rule, body model, publish fields), the same
 * answers, byte for byte. Elysia's per-request work was most of an HTTP publish's cost.
 */
const checkPublish = bodyCheck<Static<typeof models.PublishRequest>>(models.PublishRequest, { seedCaseInsensitive: true });

/** The route's work once access is granted: the body's checks, then the broker. */
export function publishBody(request: Request, broker: Broker): Result<PublishResult> | Promise<Result<PublishResult>> {
  return publishParsed(jsonBody(request, checkPublish), broker);
}

function publishParsed(body: Result<Static<typeof models.PublishRequest>>, broker: Broker): Result<PublishResult> | Promise<Result<PublishResult>> {
  if (!body.ok) return body;
  // One parser for HTTP and WebSocket frames: the domain checks (headers, ids) live there.
  const publish = parsePublishRequest(body.value as Record<string, unknown>);
  return publish.ok ? broker.publish(publish.value) : (publish as Result<PublishResult>);
}

const JSON_TYPE = { "content-type": "application/json;charset=utf-8" };

/** What the edge found about a request before its route: the parsed body, who sent it (or why nobody). */
export type EdgeFindings = { body: Result<unknown> | undefined; caller: Caller | undefined; problem: { message: string; code?: ErrorCode } | undefined };

/**
 * The edge's answer to POST /publish: what the access hook and the route would have answered.
 * Handed what the edge found directly, not through the WeakMaps beside a request Elysia reads.
 */
export function publishAtEdge(found: EdgeFindings, broker: Broker): Response | Promise<Response> {
  const denied = accessDeniedTo("POST", "/publish", {}, {}, broker, found.caller, found.problem, found.body?.ok ? found.body.value : undefined);
  if (denied !== undefined) return errorResponse(denied, statusOf(denied.code) === 401 ? { "www-authenticate": HTTP_CHALLENGE } : undefined);
  const result = publishParsed(checkedBody(found.body, checkPublish), broker);
  return result instanceof Promise ? result.then(respond) : respond(result);
}

/** The route's response model has exactly these fields, in this order (Elysia trims to it). */
function respond(result: Result<PublishResult>): Response {
  if (!result.ok) return errorResponse(result.error);
  const { routed, durable, id, duplicate } = result.value;
  return new Response(`{"routed":${routed},"durable":${durable},"id":${JSON.stringify(id)},"duplicate":${duplicate}}`, { headers: JSON_TYPE });
}
