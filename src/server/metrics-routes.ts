import { forCaller } from "./store-location.ts";
import { Elysia } from "elysia";
import type { Broker } from "../broker/broker.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import { PROMETHEUS_CONTENT_TYPE, prefersJson, renderPrometheus } from "./prometheus.ts";
import { models } from "./schemas.ts";
import { callerOf } from "./caller.ts";

export type MetricsRoutesDeps = {
  broker: Broker;
  metrics: () => MetricsSnapshot;
  /** METRICS_QUEUE_LIMIT: queues with Prometheus series of their own [PROM-1]. */
  queueLimit: number;
};

const E403 = { 403: "Error" } as const;
const ref = (model: keyof typeof models) => ({ schema: { $ref: `#/components/schemas/${model}` } });

/**
 * GET /metrics: the Prometheus text (rendered per scrape, never on the publish path), or the JSON
 * snapshot when the client prefers application/json; GET /metrics/json: always the JSON.
 */
export function metricsRoutes({ broker, metrics, queueLimit }: MetricsRoutesDeps) {
  return new Elysia()
    .model(models)
    .get(
      "/metrics",
      ({ request, set }) => {
        set.headers.vary = "Accept";
        // The JSON (the database's path, the node) is for callers, as /metrics/json is; Prometheus gets the text.
        if (prefersJson(request.headers.get("accept")) && callerOf(request) !== undefined) return forCaller(metrics(), callerOf(request)) as never;
        const text = renderPrometheus(metrics(), broker.queues(), { queueLimit, nowMs: Date.now() });
        return new Response(text, { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, vary: "Accept" } }) as never;
      },
      {
        // The JSON goes through the Metrics model as /metrics/json's does; the text is a Response,
        // which Elysia sends as is. detail.responses documents both content types.
        response: { 200: "Metrics", ...E403 },
        detail: {
          summary: "Prometheus metrics (text format 0.0.4); the JSON snapshot with Accept: application/json (or GET /metrics/json)",
          tags: ["ops"],
          responses: {
            200: {
              description: "Prometheus text exposition format; JSON when application/json is preferred to text/plain",
              content: { "text/plain; version=0.0.4": { schema: { type: "string" } }, "application/json": ref("Metrics") },
            },
            403: { description: "Host or Origin not allowed", content: { "application/json": ref("Error") } },
          },
        },
      },
    )
    .get("/metrics/json", ({ request }) => forCaller(metrics(), callerOf(request)) as never, {
      response: { 200: "Metrics", ...E403 },
      detail: { summary: "Broker counters, event-loop stalls, free disk space, paging and checkpoints as JSON", tags: ["ops"] },
    });
}
