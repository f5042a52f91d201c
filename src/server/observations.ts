import type { Broker, BrokerTotals } from "../broker/broker.ts";
import type { ConnectionLimiter } from "./abuse/connection-limiter.ts";
import type { AuthBackoff } from "./abuse/auth-backoff.ts";
import type { AuthEdge } from "./auth-edge.ts";
import type { DiskAlarm } from "./disk-alarm.ts";
import type { LoopMonitor } from "./loop-monitor.ts";
import type { ClusterSnapshot, MetricsSnapshot, Totals } from "./metrics.ts";
import type { Overview } from "./ops-routes.ts";
import type { StoreWatch } from "./store-watch.ts";
import type { WsHub } from "./ws-hub.ts";

/** The broker-wide counters as the API names them (snake_case, RabbitMQ's words). */
export const totalsView = (t: BrokerTotals): Totals => ({
  published: t.published,
  routed: t.routed,
  unroutable: t.unroutable,
  delivered: t.delivered,
  acknowledged: t.acked,
  redelivered: t.redelivered,
  dead_lettered: { ...t.deadLettered },
  confirmed: t.confirmed,
});

export const deadLetteredTotal = (t: Totals): number => t.dead_lettered.expired + t.dead_lettered.rejected + t.dead_lettered.maxlen + t.dead_lettered.delivery_limit;

const round1 = (n: number) => Math.round(n * 10) / 10;

export type ObservationDeps = {
  broker: Broker;
  hub: WsHub;
  monitor: LoopMonitor;
  disk: DiskAlarm | undefined;
  storeWatch: StoreWatch;
  edge: AuthEdge;
  connections: ConnectionLimiter;
  backoff: AuthBackoff;
  publishRefusals: { readonly refused_total: number };
  version: string;
  node: string;
  store: { backend: "sqlite" | "postgres"; location: string };
  maxQueuedBytes: number;
  /** [CLUSTER-1] The cluster as this node (its leader) sees it; none outside a cluster. */
  cluster?: () => ClusterSnapshot;
};

/** What /metrics (JSON and Prometheus) and /overview read, gathered from the broker and the server's parts on each request. */
export class Observations {
  constructor(private readonly deps: ObservationDeps) {}

  alarms(): { name: "disk"; reason: string }[] {
    const reason = this.deps.disk?.reason();
    return reason === undefined ? [] : [{ name: "disk", reason }];
  }

  metrics(): MetricsSnapshot {
    const { broker, hub, monitor, disk, connections, backoff, edge } = this.deps;
    const totals = totalsView(broker.totals);
    const cpu = process.cpuUsage();
    const latency = broker.commitLatency;
    const reading = disk?.reading();
    const refused = connections.stats().refused_total;
    const auth = backoff.stats();
    return {
      version: this.deps.version,
      node: this.deps.node,
      uptime_seconds: process.uptime(),
      rss_bytes: process.memoryUsage.rss(),
      heap_bytes: process.memoryUsage().heapUsed,
      cpu: { user_seconds: cpu.user / 1e6, system_seconds: cpu.system / 1e6 },
      connections: hub.connections,
      connections_opened: hub.opened,
      connections_closed: hub.closed,
      published: totals.published,
      delivered: totals.delivered,
      totals,
      queued_bytes: broker.queuedBytes,
      max_queued_bytes: this.deps.maxQueuedBytes,
      store: { ...this.deps.store, commit_latency: { buckets: latency.cumulative(), sum_seconds: latency.sumSeconds, count: latency.count } },
      security: {
        mode: edge.mode,
        connections_refused: { max_connections: refused.max_connections, max_connections_per_address: refused.max_connections_per_address },
        publish_rate_refused: this.deps.publishRefusals.refused_total,
        auth_failures: auth.failures_total,
        auth_backoff_refused: auth.refused_total,
        auth_backoff_tracked: auth.tracked,
        auth_backoff_evicted: auth.evicted_total,
      },
      event_loop: { max_stall_ms: round1(monitor.maxStallMs), recent_max_stall_ms: round1(monitor.recentMaxStallMs), stalls_over_20ms: monitor.stallsOver20ms },
      disk:
        reading === undefined
          ? { path: null, free_bytes: null, limit_bytes: 0, alarm: false }
          : { path: reading.path, free_bytes: reading.freeBytes ?? null, limit_bytes: reading.limitBytes, alarm: reading.alarm },
      // [PAGE-1] Durable queues' messages read back from the store, and the checkpoints that remove delivered ones.
      paging: { reads: broker.paging.reads, rows: broker.paging.rows, failures: broker.paging.failures, max_read_ms: round1(broker.paging.maxReadMs) },
      checkpoints: {
        full: broker.checkpoints.full,
        acks: broker.checkpoints.acks,
        removed_messages: broker.checkpoints.removed,
        failures: broker.checkpoints.failures,
        max_ms: round1(broker.checkpoints.maxMs),
      },
      cluster: this.deps.cluster?.() ?? null,
    };
  }

  overview(): Overview {
    const { broker, hub, monitor, storeWatch } = this.deps;
    const queues = broker.queues();
    let consumers = 0;
    let subscribers = 0;
    let ready = 0;
    let unacked = 0;
    for (const q of queues) {
      consumers += q.consumers;
      subscribers += q.subscribers;
      ready += q.messages - q.delayed;
      unacked += q.unacked;
    }
    const totals = totalsView(broker.totals);
    const watched = storeWatch.status;
    return {
      version: this.deps.version,
      node: this.deps.node,
      uptime_seconds: process.uptime(),
      connections: hub.connections,
      exchanges: broker.exchanges().length,
      queues: queues.length,
      bindings: broker.bindings().length,
      consumers,
      subscribers,
      messages_ready: ready,
      messages_unacked: unacked,
      queued_bytes: broker.queuedBytes,
      max_queued_bytes: this.deps.maxQueuedBytes,
      store: { ...this.deps.store, status: watched.ok ? "ok" : "failing", last_error: watched.lastError ?? null },
      event_loop: { max_stall_ms: round1(monitor.maxStallMs), recent_max_stall_ms: round1(monitor.recentMaxStallMs) },
      totals: { ...totals, dead_lettered: deadLetteredTotal(totals) },
      alarms: this.alarms(),
      cluster: this.deps.cluster?.() ?? null,
    };
  }
}
