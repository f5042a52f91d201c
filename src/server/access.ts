import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { FULL_ACCESS } from "../auth/permissions.ts";
import type { ClientFrame } from "./ws-frames.ts";
import type { ClientFrameType } from "./ws-schemas.ts";

/**
 * Who may do what, RabbitMQ's model: `configure` (declare, delete), `write` (publish into an
 * exchange, bind into a queue), `read` (consume, subscribe, peek, purge a queue; bind from an
 * exchange), plus topic permissions on routing keys. One table for every REST route and every
 * WebSocket frame (ws-access in ws-hub.ts); the permission-matrix test walks both, and fails for
 * a route that has no row here.
 */
export type Action = "configure" | "write" | "read";

/** What the checks need of a caller's permissions (src/auth compiles them, with a cache per name). */
export interface AccessPermissions {
  can(action: Action, name: string): boolean;
  /** Topic permissions: may this key be published (`write`) or bound (`read`) on that topic exchange. */
  canRoute(exchange: string, routingKey: string, action: "write" | "read"): boolean;
}

export type Caller = { readonly user: string; readonly admin: boolean; readonly permissions: AccessPermissions };

export type Need =
  | { readonly kind: "resource"; readonly action: Action; readonly type: "exchange" | "queue"; readonly name: string }
  /** Only binding on, or publishing to, a topic exchange is checked against topic permissions. */
  | { readonly kind: "topic"; readonly action: "write" | "read"; readonly exchange: string; readonly key: string }
  | { readonly kind: "admin" }
  /** Any authenticated caller. */
  | { readonly kind: "caller" };

/** A route's inputs as its handler has them: path params, the checked body (canonical field names), the query. */
export type RouteInput = { params: Record<string, string>; body?: any; query?: Record<string, string | undefined> };
export type Rule = { readonly public: true } | { readonly needs: (input: RouteInput) => readonly Need[] };

const PUBLIC: Rule = { public: true };
const CALLER: Rule = { needs: () => [{ kind: "caller" }] };
const ADMIN: Rule = { needs: () => [{ kind: "admin" }] };
const resource = (action: Action, type: "exchange" | "queue", name: string): Need => ({ kind: "resource", action, type, name });
const binding = ({ body }: RouteInput): Need[] => [
  resource("write", "queue", body.queue_name),
  resource("read", "exchange", body.exchange_name),
  { kind: "topic", action: "read", exchange: body.exchange_name, key: body.key ?? body.Key ?? "" },
];

/**
 * [AUTH-6] A queue with a dead-letter exchange republishes into it: declaring one needs what
 * publishing there would (write on the exchange, topic write on the key) and read on the queue, as
 * RabbitMQ checks. Otherwise a queue of one's own would be a way to publish anywhere.
 */
export function deadLetterNeeds(queue: string, exchange: unknown, key: unknown): Need[] {
  if (typeof exchange !== "string") return [];
  const needs: Need[] = [resource("write", "exchange", exchange), resource("read", "queue", queue)];
  if (typeof key === "string") needs.push({ kind: "topic", action: "write", exchange, key });
  return needs;
}

/** Every route of the app, by `METHOD /path` as Elysia lists it. */
export const ROUTE_ACCESS = {
  "GET /ping": PUBLIC,
  "GET /healthz": PUBLIC,
  "GET /readyz": PUBLIC,
  // Prometheus scrapes without credentials, as RabbitMQ's prometheus plugin serves them; it shows names and counts, no message.
  "GET /metrics": PUBLIC,
  "GET /metrics/json": CALLER,
  "GET /overview": CALLER,
  "GET /overview/history": CALLER,
  "GET /overview/stream": CALLER,
  // Lists show only what the caller has some permission on (filtered in the route).
  "GET /exchanges": CALLER,
  "GET /queues": CALLER,
  "GET /bindings": CALLER,
  "GET /connections": CALLER,
  "DELETE /connections/:id": CALLER,
  "GET /exchanges/:name": { needs: ({ params }) => [{ kind: "caller" }, resource("read", "exchange", params.name!)] },
  "GET /queues/:name": { needs: ({ params }) => [{ kind: "caller" }, resource("read", "queue", params.name!)] },
  "POST /exchanges": { needs: ({ body }) => [resource("configure", "exchange", body.name)] },
  "DELETE /exchanges/:name": { needs: ({ params }) => [resource("configure", "exchange", params.name!)] },
  "POST /queues": { needs: ({ body }) => [resource("configure", "queue", body.name), ...deadLetterNeeds(body.name, body.dead_letter_exchange, body.dead_letter_routing_key)] },
  "DELETE /queues/:name": { needs: ({ params }) => [resource("configure", "queue", params.name!)] },
  "DELETE /queues/:name/messages": { needs: ({ params }) => [resource("read", "queue", params.name!)] },
  "GET /queues/:name/messages": { needs: ({ params }) => [resource("read", "queue", params.name!)] },
  // A redrive's targets come from each message's death records: only an administrator may send them anywhere.
  "POST /queues/:name/move": {
    needs: ({ params, body }) => (body.to === undefined ? [{ kind: "admin" }] : [resource("read", "queue", params.name!), resource("write", "queue", body.to)]),
  },
  "POST /bindings": { needs: binding },
  "DELETE /bindings": { needs: binding },
  "POST /publish": {
    needs: ({ body }) => [resource("write", "exchange", body.exchange_name), { kind: "topic", action: "write", exchange: body.exchange_name, key: body.key ?? body.Key ?? "" }],
  },
  "GET /users": ADMIN,
  "GET /users/:name": ADMIN,
  "PUT /users/:name": ADMIN,
  "DELETE /users/:name": ADMIN,
  "POST /users/:name/keys": ADMIN,
  "DELETE /users/:name/keys/:id": ADMIN,
  "POST /session": PUBLIC,
  "DELETE /session": PUBLIC,
  "GET /session": PUBLIC,
} as const satisfies Record<string, Rule>;
export type RouteKey = keyof typeof ROUTE_ACCESS;

/** Every WebSocket frame: what it touches (the frame types' table, so a new frame does not compile without its row). */
export const FRAME_ACCESS: { [T in ClientFrameType]: (frame: Extract<ClientFrame, { type: T }>) => readonly Need[] } = {
  SUBSCRIBE: (f) => [resource("read", "queue", f.queue)],
  CONSUME: (f) => [resource("read", "queue", f.queue)],
  // Leaving, settling and pinging touch only what the connection already holds.
  UNSUBSCRIBE: () => [],
  CANCEL: () => [],
  ACK: () => [],
  NACK: () => [],
  PING: () => [],
  AUTH: () => [],
  // A server-named queue is checked under the name the broker gives it (ws-hub.ts).
  DECLARE_QUEUE: (f) => (f.name === undefined ? [] : [resource("configure", "queue", f.name), ...deadLetterNeeds(f.name, f.args.deadLetterExchange, f.args.deadLetterRoutingKey)]),
  PUBLISH: (f) => [resource("write", "exchange", f.publish.exchange), { kind: "topic", action: "write", exchange: f.publish.exchange, key: f.publish.routingKey }],
};

/** GET routes of the plugins that serve documents and the dashboard's files: public (no broker state in them). */
export const PUBLIC_DOCUMENTS = ["/swagger", "/asyncapi.json", "/ui", "/"] as const;

/**
 * Checks `needs` for `caller`; `topicExchange` says whether an exchange is a topic exchange (topic
 * permissions apply only there). The message names what was refused, as RabbitMQ's does.
 */
export function check(caller: Caller, needs: readonly Need[], topicExchange: (name: string) => boolean): Result<void> {
  for (const need of needs) {
    switch (need.kind) {
      case "caller":
        break;
      case "admin":
        if (!caller.admin) return fail(ErrorCodes.FORBIDDEN, `user "${caller.user}" is not an administrator`);
        break;
      case "resource":
        if (typeof need.name === "string" && !caller.permissions.can(need.action, need.name)) {
          return fail(ErrorCodes.FORBIDDEN, `${need.action} access to ${need.type} "${need.name}" refused for user "${caller.user}"`);
        }
        break;
      case "topic":
        // canRoute first: a cached answer, true for every exchange without a topics entry; the exchange's type only when it says no.
        if (typeof need.exchange === "string" && !caller.permissions.canRoute(need.exchange, need.key, need.action) && topicExchange(need.exchange)) {
          return fail(ErrorCodes.FORBIDDEN, `${need.action} access to topic "${need.key}" of exchange "${need.exchange}" refused for user "${caller.user}"`);
        }
        break;
    }
  }
  return ok(undefined);
}

/** The loopback guest and AUTH=none: full access, nothing to check (the hot path skips building needs). */
export const unrestricted = (caller: Caller): boolean => caller.admin && caller.permissions === FULL_ACCESS;

/** Whether the caller may see a resource in a list: some permission on it (RabbitMQ lists what a user can use). */
export const visible = (caller: Caller, name: string): boolean =>
  caller.admin || caller.permissions.can("configure", name) || caller.permissions.can("write", name) || caller.permissions.can("read", name);
