import { Elysia } from "elysia";
import type { Static } from "@sinclair/typebox";
import type { Broker } from "../broker/broker.ts";
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { callerOf } from "./caller.ts";
import { forCaller } from "./store-location.ts";
import { bodyCheck } from "./body-check.ts";
import { MAX_PAGE_SIZE } from "./list-paging.ts";
import type { Sample } from "./rate-history.ts";
import { jsonBody } from "./request-body.ts";
import { answer, queryParams } from "./route-helpers.ts";
import { ConnectionsQuery, models, PeekQuery } from "./schemas.ts";
import type { ConnectionView } from "./ws-hub.ts";

export type Overview = Static<typeof models.Overview>;

/** What the operations routes read besides the broker; made in run.ts. */
export type OpsDeps = {
  broker: Broker;
  connections: { list(queue?: string): ConnectionView[]; close(id: string): boolean };
  overview: () => Overview;
  history: { intervalMs: number; samples(): Sample[]; subscribe(listener: (sample: Sample) => void): () => void };
};

const check = {
  peek: bodyCheck<Static<typeof PeekQuery>>(PeekQuery),
  connections: bodyCheck<Static<typeof ConnectionsQuery>>(ConnectionsQuery),
  move: bodyCheck<Static<typeof models.MoveRequest>>(models.MoveRequest),
};
const DEFAULT_PEEK = 50;
const E403 = { 403: "Error" } as const;

/** The dashboard's and operators' routes: overview and its live rates, connections, peek and move. Documented in OpenAPI. */
export function opsRoutes({ broker, connections, overview, history }: OpsDeps) {
  return new Elysia()
    .model(models)
    .get("/overview", ({ request }) => forCaller(overview(), callerOf(request)), {
      response: { 200: "Overview", ...E403 },
      detail: { summary: "Totals, gauges, store status and alarms: the dashboard's overview", tags: ["ops"] },
    })
    .get("/overview/history", () => ({ interval_ms: history.intervalMs, samples: history.samples() }), {
      response: { 200: "OverviewHistory", ...E403 },
      detail: { summary: "Rates per second of the last 10 minutes, oldest first (kept in memory)", tags: ["ops"] },
    })
    .get("/overview/stream", ({ request }) => sampleStream(history, request.signal), {
      detail: {
        summary: "Server-sent events: one `sample` event (an OverviewHistory sample) per interval, for live charts",
        tags: ["ops"],
        responses: {
          200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } },
          403: { description: "Host or Origin not allowed (ALLOWED_HOSTS)", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        },
      },
    })
    .get("/connections", ({ request, query, set }) => {
      const q = check.connections(query);
      // [AUTH-1] An administrator sees every connection, a user its own.
      const caller = callerOf(request);
      const mine = (c: ConnectionView) => caller === undefined || caller.admin || c.user === caller.user;
      return answer(q.ok ? { ok: true as const, value: { connections: connections.list(q.value.queue).filter(mine) } } : q, set);
    }, {
      response: { 200: "Connections", 422: "Error", ...E403 },
      detail: { summary: "WebSocket connections with their subscriptions, consumers and unacked messages", tags: ["ops"], ...queryParams(ConnectionsQuery) },
    })
    .delete("/connections/:id", ({ request, params, set }) => {
      const caller = callerOf(request);
      const target = connections.list().find((c) => c.id === params.id);
      if (target === undefined) return answer(fail(ErrorCodes.NOT_FOUND, `no connection "${params.id}"`), set);
      if (caller !== undefined && !caller.admin && target.user !== caller.user) {
        return answer(fail(ErrorCodes.FORBIDDEN, `connection "${params.id}" is another user's; only an administrator may close it`), set);
      }
      connections.close(params.id);
      return answer(ok({}), set);
    }, {
      response: { 200: "Empty", 404: "Error", ...E403 },
      detail: { summary: "Close a connection (code 4010); what its consumers held goes back to their queues", tags: ["ops"] },
    })
    .get("/queues/:name/messages", async ({ params, query, set }) => {
      const q = check.peek(query);
      const limit = q.ok && q.value.limit !== undefined ? Number(q.value.limit) : DEFAULT_PEEK;
      const peeked: Result<unknown> = !q.ok
        ? q
        : limit < 1 || limit > MAX_PAGE_SIZE
          ? fail(ErrorCodes.VALIDATION, `limit must be from 1 to ${MAX_PAGE_SIZE}`)
          : await broker.peek(params.name, q.value.after === undefined ? 0 : Number(q.value.after), limit);
      return answer(peeked, set) as never;
    }, {
      response: { 200: "Peek", 400: "Error", 404: "Error", 422: "Error", 503: "Error", ...E403 },
      detail: {
        summary: "Peek: messages after a seq, without consuming them (the queue, its order and delivery counts are unchanged)",
        tags: ["queues"],
        ...queryParams(PeekQuery),
      },
    })
    .post("/queues/:name/move", async ({ params, request, set }) => {
      const body = jsonBody(request, check.move);
      return answer(body.ok ? await broker.move(params.name, body.value) : body, set);
    }, {
      response: { 200: "MoveResult", 400: "Error", 404: "Error", 413: "Error", 422: "Error", 503: "Error", ...E403 },
      detail: {
        summary: "Move ready messages into another queue, or each back to the queue it last died in (redrive a dead-letter queue)",
        tags: ["queues"],
        requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/MoveRequest" } } } },
      },
    });
}

/** An event stream of samples until the client goes; a comment first so the browser sees the stream open. */
function sampleStream(history: OpsDeps["history"], signal: AbortSignal): Response {
  const encoder = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`: pubsub overview, one sample every ${history.intervalMs} ms\nretry: 2000\n\n`));
      const unsubscribe = history.subscribe((sample) => {
        try {
          controller.enqueue(encoder.encode(`event: sample\ndata: ${JSON.stringify(sample)}\n\n`));
        } catch {
          stop();
        }
      });
      stop = () => {
        unsubscribe();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      signal.addEventListener("abort", () => stop(), { once: true });
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" } });
}
