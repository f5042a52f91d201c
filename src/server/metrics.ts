import type { Static } from "@sinclair/typebox";
import type { models } from "./schemas.ts";
import type { QueueView } from "../broker/views.ts";

export { COMMIT_LATENCY_BUCKETS } from "../broker/stats.ts";

export type Histogram = {
  /** Cumulative counts, one per COMMIT_LATENCY_BUCKETS bound (`le`), then +Inf = count. */
  buckets: { le: number; count: number }[];
  sum_seconds: number;
  count: number;
};

/** Broker-wide counters since start (RabbitMQ's rabbitmq_global_messages_*). */
export type Totals = {
  published: number;
  /** Copies enqueued: a publish routed to three queues counts three. */
  routed: number;
  /** Publishes that reached no queue. */
  unroutable: number;
  /** Deliveries to subscribers and consumers (each copy each time). */
  delivered: number;
  acknowledged: number;
  /** Deliveries to consumers marked `redelivered`. */
  redelivered: number;
  dead_lettered: { expired: number; rejected: number; maxlen: number; delivery_limit: number };
  /** Publishes that reached a durable queue, answered after their commit (HTTP 200 or CONFIRM). */
  confirmed: number;
};

/** What GET /metrics/json answers, and what the Prometheus text of GET /metrics is rendered from. */
export type MetricsSnapshot = {
  version: string;
  node: string;
  uptime_seconds: number;
  rss_bytes: number;
  heap_bytes: number;
  cpu: { user_seconds: number; system_seconds: number };
  connections: number;
  connections_opened: number;
  connections_closed: number;
  published: number;
  delivered: number;
  totals: Totals;
  queued_bytes: number;
  max_queued_bytes: number;
  event_loop: { max_stall_ms: number; recent_max_stall_ms: number; stalls_over_20ms: number };
  disk: { path: string | null; free_bytes: number | null; limit_bytes: number; alarm: boolean };
  store: { backend: "sqlite" | "postgres" | "memory"; location: string; commit_latency: Histogram };
  paging: { reads: number; rows: number; failures: number; max_read_ms: number };
  /** Authentication and the limits against abuse (issue 13). */
  security: {
    mode: string;
    connections_refused: { max_connections: number; max_connections_per_address: number };
    publish_rate_refused: number;
    auth_failures: number;
    auth_backoff_refused: number;
    auth_backoff_tracked: number;
    auth_backoff_evicted: number;
  };
  checkpoints: { full: number; acks: number; removed_messages: number; failures: number; max_ms: number };
  /** [CLUSTER-1] Null outside a cluster. */
  cluster: ClusterSnapshot | null;
};

export type ClusterSnapshot = { name: string; leader: string; nodes: { node: string; role: "leader" | "follower"; url: string }[] };

/** The per-queue part of the Prometheus text comes from the management views. */
export type QueueMetrics = readonly QueueView[];

/** The OpenAPI model of GET /metrics/json and this type must not drift apart (Elysia trims answers to the model). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const modelMatchesSnapshot: Same<Static<typeof models.Metrics>, MetricsSnapshot> = true;
void modelMatchesSnapshot;
