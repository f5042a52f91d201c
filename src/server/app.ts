import { Elysia } from "elysia";
import type { Broker, PublishResult } from "../broker/broker.ts";
import { ErrorCodes, type BrokerError, type Result } from "../core/errors.ts";
import { errorBody, statusOf } from "./http-errors.ts";
import { BindingQuery, DeleteExchangeQuery, DeleteQueueQuery, models } from "./schemas.ts";
import { swaggerDocs } from "./swagger.ts";
import { parseQueueArgs } from "../core/queue-args.ts";
import { parseHeaders, parsePublishFields } from "./ws-frames.ts";

export type AppDeps = { broker: Broker; version: string; metrics: () => unknown };

const E = { 400: "Error", 404: "Error", 409: "Error", 413: "Error", 422: "Error", 503: "Error" } as const;

/** Turns a broker Result into the answer, or into `{"error":{code,message}}` with its status. */
function answer<T>(result: Result<T> | { ok: false; error: BrokerError }, set: { status?: number | string }): T | ReturnType<typeof errorBody> {
  if (result.ok) return result.value;
  set.status = statusOf(result.error.code);
  return errorBody(result.error);
}

/** The REST API. Thin: every route validates its body by schema and hands it to the broker. */
export function createApp({ broker, version, metrics }: AppDeps) {
  return (
    new Elysia()
      // Registered first so it covers every route below.
      .onError(({ code, error, set }) => {
        switch (code) {
          case "PARSE":
            set.status = 400;
            return errorBody({ code: ErrorCodes.BAD_JSON, message: "request body is not valid JSON" });
          case "VALIDATION": {
            set.status = 422;
            const first = error.all[0];
            const where = first && "path" in first && first.path ? `${first.path}: ` : "";
            const why = first && "summary" in first && first.summary ? first.summary : error.message;
            return errorBody({ code: ErrorCodes.VALIDATION, message: `${where}${why}` });
          }
          case "NOT_FOUND":
            set.status = 404;
            return errorBody({ code: ErrorCodes.NOT_FOUND, message: "no such route" });
          default:
            set.status = 500;
            return errorBody({ code: ErrorCodes.INTERNAL, message: "internal error" });
        }
      })
      .use(swaggerDocs(version))
      .model(models)
      .get("/ping", () => ({ message: "PONG" as const }), {
        response: "Pong",
        detail: { summary: "Liveness check (the seed's)", tags: ["seed"] },
      })
      .get("/metrics", () => metrics() as never, { response: "Metrics", detail: { summary: "Broker counters and event-loop stalls", tags: ["ops"] } })

      // ---- exchanges --------------------------------------------------------------------------
      .post("/exchanges", async ({ body, set }) => answer(await broker.declareExchange(body), set), {
        body: "ExchangeDeclare",
        response: { 200: "Declared", ...E },
        parse: "json",
        detail: { summary: "Declare an exchange (idempotent; 409 E001 if it exists with other properties)", tags: ["exchanges"] },
      })
      .get("/exchanges", () => broker.exchanges(), { response: { 200: "Exchanges" }, detail: { tags: ["exchanges"] } })
      .get("/exchanges/:name", ({ params, set }) => answer(broker.exchange(params.name), set), {
        response: { 200: "Exchange", 404: "Error" },
        detail: { tags: ["exchanges"] },
      })
      .delete(
        "/exchanges/:name",
        async ({ params, query, set }) => answer(await broker.deleteExchange(params.name, query.if_unused ?? false), set) ?? {},
        { query: DeleteExchangeQuery, detail: { summary: "Delete an exchange and its bindings", tags: ["exchanges"] } },
      )

      // ---- queues -----------------------------------------------------------------------------
      .post(
        "/queues",
        async ({ body, set }) => {
          const args = parseQueueArgs(body);
          if (!args.ok) return answer<{ created: boolean }>(args, set);
          const declared = await broker.declareQueue({ name: body.name, durable: body.durable, args: args.value });
          return answer(declared.ok ? { ok: true, value: { created: declared.value.created } } : declared, set);
        },
        {
        body: "QueueDeclare",
        response: { 200: "Declared", ...E },
        parse: "json",
        detail: { summary: "Declare a queue (idempotent; 409 Q001 if it exists with other properties)", tags: ["queues"] },
      })
      .get("/queues", () => broker.queues(), { response: { 200: "Queues" }, detail: { tags: ["queues"] } })
      .get("/queues/:name", ({ params, set }) => answer(broker.queue(params.name), set), {
        response: { 200: "Queue", 404: "Error" },
        detail: { tags: ["queues"] },
      })
      .delete(
        "/queues/:name",
        async ({ params, query, set }) =>
          answer(await broker.deleteQueue(params.name, { ifUnused: query.if_unused, ifEmpty: query.if_empty }), set),
        {
          query: DeleteQueueQuery,
          response: { 200: "Removed", ...E },
          detail: { summary: "Delete a queue, its messages and bindings", tags: ["queues"] },
        },
      )
      .delete("/queues/:name/messages", async ({ params, set }) => answer(await broker.purgeQueue(params.name), set), {
        response: { 200: "Removed", ...E },
        detail: { summary: "Purge: drop every waiting message", tags: ["queues"] },
      })

      // ---- bindings ---------------------------------------------------------------------------
      .post(
        "/bindings",
        async ({ body, set }) => {
          const args = parseHeaders(body.arguments);
          return answer(
            args.ok
              ? await broker.bind({ exchange: body.exchange_name, queue: body.queue_name, key: body.key ?? body.Key, args: args.value })
              : args,
            set,
          );
        },
        {
          body: "BindingRequest",
          response: { 200: "Declared", ...E },
          parse: "json",
          detail: { summary: "Bind a queue to an exchange (binding twice is a no-op)", tags: ["bindings"] },
        },
      )
      .get("/bindings", ({ query }) => broker.bindings(query), {
        query: BindingQuery,
        response: { 200: "Bindings" },
        detail: { tags: ["bindings"] },
      })
      .delete(
        "/bindings",
        async ({ body, set }) => {
          const args = parseHeaders(body.arguments);
          return (
            answer(
              args.ok
                ? await broker.unbind({ exchange: body.exchange_name, queue: body.queue_name, key: body.key ?? body.Key, args: args.value })
                : args,
              set,
            ) ?? {}
          );
        },
        { body: "BindingRequest", parse: "json", detail: { summary: "Unbind", tags: ["bindings"] } },
      )

      // ---- publish ----------------------------------------------------------------------------
      .post(
        "/publish",
        async ({ body, set }) => {
          // One parser for HTTP and WebSocket: t.Unknown() lets an absent payload through, and
          // Elysia would coerce bad headers into objects.
          const fields = parsePublishFields(body as Record<string, unknown>);
          if (!fields.ok) return answer<PublishResult>(fields, set);
          const p = fields.value;
          return answer(
            await broker.publish({ exchange: p.exchange, routingKey: p.key, body: p.body, headers: p.headers, ttl: p.ttl, delay: p.delay, messageId: p.messageId }),
            set,
          );
        },
        {
          body: "PublishRequest",
          response: { 200: "PublishResult", ...E },
          parse: "json",
          detail: {
            summary: "Publish a message; answered after it is committed for every durable queue it reached",
            tags: ["seed"],
          },
        },
      )
  );
}
