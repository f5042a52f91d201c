import { Elysia, t } from "elysia";
import type { Static } from "@sinclair/typebox";
import type { Broker, PublishResult, QueueView } from "../broker/broker.ts";
import { ErrorCodes, type BrokerError, type Result } from "../core/errors.ts";
import { parseQueueArgs } from "../core/queue-args.ts";
import { bodyCheck } from "./body-check.ts";
import { visible } from "./access.ts";
import { accessDenied } from "./access-hook.ts";
import { callerOf } from "./caller.ts";
import { userRoutes } from "./user-routes.ts";
import { sessionRoutes } from "./session-routes.ts";
import { AuthEdge } from "./auth-edge.ts";
import type { UserDirectory } from "../auth/users.ts";
import { errorBody, HTTP_CHALLENGE, statusOf } from "./http-errors.ts";
import { paged, wantsPage } from "./list-paging.ts";
import { opsRoutes, type OpsDeps } from "./ops-routes.ts";
import { answer, queryParams, type Answer } from "./route-helpers.ts";
import { methodsAllowed } from "./method-table.ts";
import { jsonBody } from "./request-body.ts";
import { BindingQuery, DeleteExchangeQuery, DeleteQueueQuery, ListQuery, models } from "./schemas.ts";
import { swaggerDocs } from "./swagger.ts";
import { asyncApiDocs } from "./asyncapi.ts";
import { dashboard } from "./dashboard.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import { metricsRoutes } from "./metrics-routes.ts";
import { DEFAULT_METRICS_QUEUE_LIMIT } from "./prometheus.ts";
import { parseBindingArgs } from "./publish-fields.ts";
import { publishBody } from "./publish-route.ts";

export type AppDeps = {
  broker: Broker;
  version: string;
  metrics: () => MetricsSnapshot;
  /** METRICS_QUEUE_LIMIT (config.metricsQueueLimit): queues with Prometheus series of their own. */
  metricsQueueLimit?: number;
  /** Why the broker is not ready now (GET /readyz is 503 while any): shutting down, the store, a resource alarm. */
  notReady: () => Promise<readonly { name: string; reason: string }[]>;
  ops: Omit<OpsDeps, "broker">;
  /** USERS_FILE's users, for the admin API (undefined: none configured). */
  users?: UserDirectory;
  /** The dashboard's login routes (POST/GET/DELETE /session). */
  login?: { edge: AuthEdge; secure: boolean; remoteOf: (request: Request) => string | undefined };
  /** [CLUSTER-1] In a cluster: the node that holds every queue (this one, the leader), shown as each queue's `owner`. */
  queueOwner?: string;
};

/** Every route can meet a bad Host or Origin (403); the others as each route lists. */
const E403 = { 403: "Error" } as const;
const E_BODY = { 400: "Error", 413: "Error", 422: "Error", ...E403 } as const;
const E_WRITE = { ...E_BODY, 503: "Error" } as const;

/** Documents a JSON body in OpenAPI without letting Elysia parse or coerce it (request-body.ts does). */
const jsonRequest = (model: keyof typeof models) => ({
  requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${model}` } } } },
});

// [STRICT-1] Closed models, no coercion; the seed's routes match field names case-insensitively.
const seed = { seedCaseInsensitive: true };
const check = {
  exchange: bodyCheck<Static<typeof models.ExchangeDeclare>>(models.ExchangeDeclare, seed),
  queue: bodyCheck<Static<typeof models.QueueDeclare>>(models.QueueDeclare, seed),
  binding: bodyCheck<Static<typeof models.BindingRequest>>(models.BindingRequest, seed),
  deleteQueue: bodyCheck<Static<typeof DeleteQueueQuery>>(DeleteQueueQuery),
  deleteExchange: bodyCheck<Static<typeof DeleteExchangeQuery>>(DeleteExchangeQuery),
  bindingQuery: bodyCheck<Static<typeof BindingQuery>>(BindingQuery),
  list: bodyCheck<Static<typeof ListQuery>>(ListQuery),
};

/** Runs `then` on a checked input, or answers the check's error. */
async function given<I, T>(input: Result<I>, set: { status?: number | string }, then: (value: I) => Promise<Result<T>> | Result<T>): Promise<Answer<T>> {
  return input.ok ? answer(await then(input.value), set) : answer<T>(input, set);
}

const flag = (value: "true" | "false" | undefined): boolean => value === "true";

/** [AUTH-1] What the caller may see of a list: items it has some permission on (any of `namesOf`); everything for an administrator. */
function seen<T>(request: Request, items: T[], namesOf: (item: T) => readonly string[]): T[] {
  const caller = callerOf(request);
  if (caller === undefined || caller.admin) return items;
  return items.filter((item) => namesOf(item).some((name) => visible(caller, name)));
}

/** A management list: the plain array (the seed's answer), or a page when the query asks for one. */
function listed<T extends Record<string, unknown>>(query: Result<Static<typeof ListQuery>>, set: { status?: number | string }, items: T[], nameOf: (item: T) => readonly string[]): never {
  if (!query.ok) return answer(query, set) as never;
  // Typed loosely: the answer is one of two documented shapes (the route lists both).
  return (wantsPage(query.value) ? answer(paged(items, query.value, nameOf), set) : items) as never;
}

/** The REST API. Thin: every route checks its input against its model and hands it to the broker. */
export function createApp({ broker, version, metrics, metricsQueueLimit = DEFAULT_METRICS_QUEUE_LIMIT, notReady, ops, users, login, queueOwner }: AppDeps) {
  const owned = (q: QueueView): QueueView & { owner?: string } => (queueOwner === undefined ? q : { ...q, owner: queueOwner });
  const app = new Elysia()
    // Registered first so it covers every route below.
    .onError(({ code, request, set }) => {
      switch (code) {
        case "NOT_FOUND": {
          const allowed = methodsAllowed(app.routes, new URL(request.url).pathname);
          if (allowed.length > 0) {
            // [METHOD-1] The route exists with other methods: 405 and Allow, not 404.
            set.status = 405;
            set.headers.allow = allowed.join(", ");
            return errorBody({ code: ErrorCodes.METHOD_NOT_ALLOWED, message: `${request.method} is not allowed here; use ${allowed.join(" or ")}` });
          }
          set.status = 404;
          return errorBody({ code: ErrorCodes.NOT_FOUND, message: "no such route" });
        }
        case "VALIDATION":
          // Only path and query schemas are left to Elysia (bodies are checked in the routes).
          set.status = 422;
          return errorBody({ code: ErrorCodes.VALIDATION, message: "invalid path or query" });
        default:
          set.status = 500;
          return errorBody({ code: ErrorCodes.INTERNAL, message: "internal error" });
      }
    })
    // [AUTH-1] One choke point for every route, plugins' too: its row in ROUTE_ACCESS, or 403.
    .onBeforeHandle({ as: "global" }, ({ request, route, params, query, set }) => {
      const denied = accessDenied(request, route, params as Record<string, string>, query, broker);
      if (denied === undefined) return;
      set.status = statusOf(denied.code);
      if (statusOf(denied.code) === 401) set.headers["www-authenticate"] = HTTP_CHALLENGE;
      return errorBody(denied);
    })
    .use(swaggerDocs(version))
    .use(asyncApiDocs(version))
    .use(dashboard())
    .model(models)
    .get("/ping", () => ({ message: "PONG" as const }), {
      response: { 200: "Pong", ...E403 },
      detail: { summary: "Liveness check (the seed's)", tags: ["seed"] },
    })
    .use(metricsRoutes({ broker, metrics, queueLimit: metricsQueueLimit }))
    .get("/healthz", () => ({ status: "alive" as const }), {
      response: { 200: "Health", ...E403 },
      detail: { summary: "Liveness: the process serves requests (restart it if this fails)", tags: ["ops"] },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const now = await notReady();
        if (now.length === 0) return { status: "ready" as const, alarms: [] };
        set.status = 503;
        return { status: "not_ready" as const, alarms: now.map((a) => a.name), message: now.map((a) => a.reason).join(" | ") };
      },
      {
        response: { 200: "Readiness", 503: "Readiness", ...E403 },
        detail: {
          summary: "Readiness: 503 from the moment SIGTERM arrives, while the database does not answer, or while a resource alarm is on (the disk alarm: durable publishes refused)",
          tags: ["ops"],
        },
      },
    )
    .use(opsRoutes({ broker, ...ops }))
    .use(userRoutes(users))
    .use(sessionRoutes(login?.edge ?? new AuthEdge("none", undefined, undefined), login?.secure ?? false, login?.remoteOf ?? (() => undefined)))

    // ---- exchanges --------------------------------------------------------------------------
    .post("/exchanges", ({ request, set }) => given(jsonBody(request, check.exchange), set, (body) => broker.declareExchange(body)), {
      response: { 200: "Declared", ...E_WRITE, 409: "Error" },
      detail: { summary: "Declare an exchange (idempotent; 409 E001 if it exists with other properties)", tags: ["exchanges"], ...jsonRequest("ExchangeDeclare") },
    })
    .get("/exchanges", ({ request, query, set }) => listed(check.list(query), set, seen(request, broker.exchanges(), (e) => [e.name]), (e) => [e.name]), {
      response: { 200: t.Union([t.Ref("Exchanges"), t.Ref("PagedExchanges")]), 422: "Error", ...E403 },
      detail: { tags: ["exchanges"], ...queryParams(ListQuery) },
    })
    .get("/exchanges/:name", ({ params, set }) => answer(broker.exchange(params.name), set), {
      response: { 200: "Exchange", 400: "Error", 404: "Error", ...E403 },
      detail: { tags: ["exchanges"] },
    })
    .delete(
      "/exchanges/:name",
      ({ params, query, set }) =>
        given(check.deleteExchange(query), set, async (q) => {
          const deleted = await broker.deleteExchange(params.name, flag(q.if_unused));
          return deleted.ok ? { ok: true as const, value: {} } : deleted;
        }),
      {
        response: { 200: "Empty", 400: "Error", 404: "Error", 409: "Error", 422: "Error", 503: "Error", ...E403 },
        detail: { summary: "Delete an exchange and its bindings (409 E003 with if_unused=true while bound)", tags: ["exchanges"], ...queryParams(DeleteExchangeQuery) },
      },
    )

    // ---- queues -----------------------------------------------------------------------------
    .post(
      "/queues",
      ({ request, set }) =>
        given(jsonBody(request, check.queue), set, async (body) => {
          const args = parseQueueArgs(body);
          if (!args.ok) return args;
          const declared = await broker.declareQueue({ name: body.name, durable: body.durable, args: args.value });
          return declared.ok ? { ok: true as const, value: { created: declared.value.created } } : declared;
        }),
      {
        response: { 200: "Declared", ...E_WRITE, 409: "Error" },
        detail: { summary: "Declare a queue (idempotent; 409 Q001 if it exists with other properties)", tags: ["queues"], ...jsonRequest("QueueDeclare") },
      },
    )
    .get("/queues", ({ request, query, set }) => listed(check.list(query), set, seen(request, broker.queues().map(owned), (q) => [q.name]), (q) => [q.name]), {
      response: { 200: t.Union([t.Ref("Queues"), t.Ref("PagedQueues")]), 422: "Error", ...E403 },
      detail: { tags: ["queues"], ...queryParams(ListQuery) },
    })
    .get("/queues/:name", ({ params, set }) => {
      const queue = broker.queue(params.name);
      return answer(queue.ok ? { ok: true as const, value: owned(queue.value) } : queue, set);
    }, {
      response: { 200: "Queue", 400: "Error", 404: "Error", ...E403 },
      detail: { tags: ["queues"] },
    })
    .delete(
      "/queues/:name",
      ({ params, query, set }) =>
        given(check.deleteQueue(query), set, (q) => broker.deleteQueue(params.name, { ifUnused: flag(q.if_unused), ifEmpty: flag(q.if_empty) })),
      {
        response: { 200: "Removed", 400: "Error", 404: "Error", 409: "Error", 422: "Error", 503: "Error", ...E403 },
        detail: { summary: "Delete a queue, its messages and bindings", tags: ["queues"], ...queryParams(DeleteQueueQuery) },
      },
    )
    .delete("/queues/:name/messages", ({ params, set }) => given({ ok: true, value: params.name }, set, (name) => broker.purgeQueue(name)), {
      response: { 200: "Removed", 400: "Error", 404: "Error", 409: "Error", 503: "Error", ...E403 },
      detail: { summary: "Purge: drop every waiting message", tags: ["queues"] },
    })

    // ---- bindings ---------------------------------------------------------------------------
    .post("/bindings", ({ request, set }) => given(jsonBody(request, check.binding), set, (body) => bindWith(body, (spec) => broker.bind(spec))), {
      response: { 200: "Declared", ...E_WRITE, 404: "Error" },
      detail: { summary: "Bind a queue to an exchange (binding twice is a no-op)", tags: ["bindings"], ...jsonRequest("BindingRequest") },
    })
    .get("/bindings", ({ request, query, set }) => {
      const q = check.bindingQuery(query);
      if (!q.ok) return answer(q, set) as never;
      const { exchange, queue, ...list } = q.value;
      const bindings = seen(request, broker.bindings({ exchange, queue }), (b) => [b.exchange_name, b.queue_name]);
      return listed({ ok: true, value: list }, set, bindings, (b) => [b.exchange_name, b.queue_name, b.key]);
    }, {
      response: { 200: t.Union([t.Ref("Bindings"), t.Ref("PagedBindings")]), 422: "Error", ...E403 },
      detail: { tags: ["bindings"], ...queryParams(BindingQuery) },
    })
    .delete(
      "/bindings",
      ({ request, set }) =>
        given(jsonBody(request, check.binding), set, async (body) => {
          const removed = await bindWith(body, (spec) => broker.unbind(spec));
          return removed.ok ? { ok: true as const, value: {} } : removed;
        }),
      {
        response: { 200: "Empty", ...E_WRITE, 404: "Error" },
        detail: { summary: "Unbind (404 B001 if there is no such binding)", tags: ["bindings"], ...jsonRequest("BindingRequest") },
      },
    )

    // ---- publish ----------------------------------------------------------------------------
    .post(
      "/publish",
      // A plain POST /publish is answered at the edge (publish-route.ts), with these same checks.
      async ({ request, set }) => answer(await publishBody(request, broker), set),
      {
        response: { 200: "PublishResult", ...E_WRITE, 404: "Error", 429: "Error" },
        detail: {
          summary: "Publish a message; answered after it is committed for every durable queue it reached",
          tags: ["seed"],
          ...jsonRequest("PublishRequest"),
        },
      },
    );
  return app;
}

type BindingBody = Static<typeof models.BindingRequest>;

function bindWith<T>(body: BindingBody, act: (spec: Parameters<Broker["bind"]>[0]) => Promise<Result<T>>): Promise<Result<T>> | Result<T> {
  const args = parseBindingArgs(body.arguments);
  if (!args.ok) return args;
  return act({ exchange: body.exchange_name, queue: body.queue_name, key: body.key ?? body.Key, args: args.value });
}
