/**
 * GET /metrics in Prometheus' text exposition format (0.0.4), rendered per scrape from the metrics
 * snapshot and the queues' management views: nothing here runs on the publish or delivery path.
 * Names follow RabbitMQ's rabbitmq_prometheus where it has one (`pubsub_` for `rabbitmq_`,
 * `pubsub_messages_*_total` for its `rabbitmq_global_messages_*_total`), in base units (seconds,
 * bytes), counters ending in `_total`.
 */
import type { QueueView } from "../broker/views.ts";
import { COUNTED_STALL_MS, LOOP_TICK_MS, LOOP_WINDOW_SECONDS } from "./limits.ts";
import type { MetricsSnapshot } from "./metrics.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Queues with series of their own (METRICS_QUEUE_LIMIT). Every per-queue series is one more time
 * series for Prometheus to store: 1,000 queues × 12 families is 12,000 series, about what one
 * Prometheus target is expected to carry; a broker with more queues should not be able to grow a
 * scrape without bound (a queue per client is a common pattern).
 */
export const DEFAULT_METRICS_QUEUE_LIMIT = 1000;
/**
 * 0: every queue in the aggregate. At most 100,000: a scrape runs on the event loop, and with
 * 10,000 queues of their own one already takes ~30 ms and 7 MB (bench/prometheus-scrape.ts).
 */
export const METRICS_QUEUE_LIMIT_BOUNDS = { min: 0, max: 100_000 } as const;

/**
 * The `queue` label of the series summing the queues past the limit [PROM-1]. A queue whose own
 * name is `_other` is always counted in it, so no two series ever share a label set.
 */
export const OTHER_QUEUES = "_other";

export type PrometheusOptions = {
  /** How many queues get series of their own; the rest are summed into `queue="_other"`. */
  queueLimit: number;
  /** Wall-clock time of the scrape, ms since the epoch (for process_start_time_seconds). */
  nowMs: number;
};

/**
 * Which queues get series of their own [PROM-1]: the `limit` largest by messages (waiting plus
 * held by consumers), ties by name (code-unit order), so the same broker state always selects the
 * same queues. The rest, and a queue named `_other`, are aggregated. Within the limit the views
 * keep their order (no sort at all).
 */
export function selectQueues(queues: readonly QueueView[], limit: number): { own: readonly QueueView[]; aggregated: readonly QueueView[] } {
  const candidates = queues.filter((q) => q.name !== OTHER_QUEUES);
  const named = queues.length - candidates.length === 0 ? [] : queues.filter((q) => q.name === OTHER_QUEUES);
  if (candidates.length <= limit) return { own: candidates, aggregated: named };
  const depth = (q: QueueView) => q.messages + q.unacked;
  const sorted = candidates.slice().sort((a, b) => depth(b) - depth(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { own: sorted.slice(0, limit), aggregated: [...sorted.slice(limit), ...named] };
}

/** A label value as the text format wants it: `\`, `"` and newline escaped, everything else as is (UTF-8). */
export function escapeLabelValue(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, (c) => ESCAPES[c]!) : value;
}
const NEEDS_ESCAPE = /[\\"\n]/;
const ESCAPED = /[\\"\n]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n" };

/** A sample value: integers and decimals as JavaScript writes them (Go's ParseFloat reads them), and the three specials. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

type Kind = "counter" | "gauge" | "histogram";
/** One sample: its label set already rendered (`{queue="a"}` or ``), and its value. */
type Sample = readonly [labels: string, value: number];

/** Appends one family: HELP, TYPE, then every sample, contiguous as the format requires. */
function family(out: string[], name: string, kind: Kind, help: string, samples: readonly Sample[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`);
  for (const [labels, value] of samples) out.push(`${name}${labels} ${formatValue(value)}`);
}

const one = (value: number): Sample[] => [["", value]];
const labelled = (name: string, value: string) => `{${name}="${escapeLabelValue(value)}"}`;
/** Milliseconds to seconds at microsecond precision (no `0.005900000000000001`). */
const seconds = (ms: number) => Math.round(ms * 1000) / 1e6;

type QueueFamily = { name: string; kind: "counter" | "gauge"; help: string; value: (q: QueueView) => number };

/**
 * The per-queue families. Gauges are summed into `_other`; counters are not, since a sum over a
 * changing set of queues goes down when a queue leaves the aggregate, which Prometheus would read
 * as a counter reset (the broker-wide `pubsub_messages_*_total` cover every queue).
 */
const QUEUE_FAMILIES: readonly QueueFamily[] = [
  { name: "pubsub_queue_messages_ready", kind: "gauge", help: "Messages ready to be delivered (waiting and due; RabbitMQ's rabbitmq_queue_messages_ready).", value: (q) => q.messages - q.delayed },
  { name: "pubsub_queue_messages_delayed", kind: "gauge", help: "Messages waiting for their delay to pass (published with delay).", value: (q) => q.delayed },
  { name: "pubsub_queue_messages_unacked", kind: "gauge", help: "Messages delivered to consumers and not yet acknowledged.", value: (q) => q.unacked },
  { name: "pubsub_queue_messages", kind: "gauge", help: "Ready, delayed and unacknowledged messages (queue depth).", value: (q) => q.messages + q.unacked },
  {
    name: "pubsub_queue_messages_ready_bytes",
    kind: "gauge",
    help: "Bytes of the ready and delayed messages, counted as max_bytes counts them (body, key, exchange, id, headers, 64 per entry).",
    value: (q) => q.bytes,
  },
  { name: "pubsub_queue_messages_paged_out", kind: "gauge", help: "Of the waiting messages, those on disk only (a durable queue's backlog past its in-memory window).", value: (q) => q.messages_on_disk },
  { name: "pubsub_queue_consumers", kind: "gauge", help: "Competing consumers attached (CONSUME).", value: (q) => q.consumers },
  { name: "pubsub_queue_subscribers", kind: "gauge", help: "Subscribers attached (SUBSCRIBE); each receives every message.", value: (q) => q.subscribers },
  { name: "pubsub_queue_messages_published_total", kind: "counter", help: "Messages enqueued in this queue.", value: (q) => q.published },
  { name: "pubsub_queue_messages_delivered_total", kind: "counter", help: "Deliveries from this queue to subscribers and consumers (each copy, each time).", value: (q) => q.delivered },
  { name: "pubsub_queue_messages_acknowledged_total", kind: "counter", help: "Messages of this queue acknowledged by consumers.", value: (q) => q.acked },
  { name: "pubsub_queue_messages_dead_lettered_total", kind: "counter", help: "Messages that died in this queue (expired, rejected, maxlen, delivery_limit).", value: (q) => q.dead_lettered },
];

function renderQueues(out: string[], queues: readonly QueueView[], limit: number): void {
  const { own, aggregated } = selectQueues(queues, limit);
  const labels = own.map((q) => labelled("queue", q.name));
  const otherLabels = labelled("queue", OTHER_QUEUES);
  family(out, "pubsub_queues", "gauge", "Queues declared.", one(queues.length));
  family(out, "pubsub_queues_aggregated", "gauge", `Queues without series of their own (past METRICS_QUEUE_LIMIT, or named ${OTHER_QUEUES}): their gauges are summed into queue="${OTHER_QUEUES}".`, one(aggregated.length));
  for (const f of QUEUE_FAMILIES) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.kind}`);
    for (let i = 0; i < own.length; i++) out.push(`${f.name}${labels[i]} ${formatValue(f.value(own[i]!))}`);
    if (f.kind === "gauge" && aggregated.length > 0) {
      let sum = 0;
      for (const q of aggregated) sum += f.value(q);
      out.push(`${f.name}${otherLabels} ${formatValue(sum)}`);
    }
  }
}

/** The commit latency histogram: cumulative buckets as the snapshot holds them, then `+Inf` = count. */
function renderHistogram(out: string[], name: string, help: string, h: MetricsSnapshot["store"]["commit_latency"]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const b of h.buckets) out.push(`${name}_bucket{le="${formatValue(b.le)}"} ${formatValue(b.count)}`);
  out.push(`${name}_bucket{le="+Inf"} ${formatValue(h.count)}`, `${name}_sum ${formatValue(h.sum_seconds)}`, `${name}_count ${formatValue(h.count)}`);
}

/** The whole scrape. Pure: the snapshot, the queue views and the time come in, text goes out. */
export function renderPrometheus(snapshot: MetricsSnapshot, queues: readonly QueueView[], options: PrometheusOptions): string {
  const out: string[] = [];
  const t = snapshot.totals;
  const build = `{version="${escapeLabelValue(snapshot.version)}",node="${escapeLabelValue(snapshot.node)}",backend="${escapeLabelValue(snapshot.store.backend)}"}`;
  family(out, "pubsub_build_info", "gauge", "Always 1; the labels say which pubsub version, which node (NODE_NAME, else the host name) and which store backend.", [[build, 1]]);
  if (snapshot.cluster !== null) {
    // [CLUSTER-1] The leader answers /metrics; these say which cluster and which nodes it hears.
    const { cluster } = snapshot;
    family(out, "pubsub_cluster_nodes", "gauge", "Nodes of this cluster heard from over NATS within 2 s, the leader included.", [[`{cluster="${escapeLabelValue(cluster.name)}"}`, cluster.nodes.length]]);
    family(
      out,
      "pubsub_cluster_node_info",
      "gauge",
      "Always 1 per node heard from; role is leader (holds the database lock, serves every request) or follower (forwards to it).",
      cluster.nodes.map((n) => [`{cluster="${escapeLabelValue(cluster.name)}",node="${escapeLabelValue(n.node)}",role="${n.role}"}`, 1]),
    );
  }

  // ---- process (the names every Prometheus client library uses) ----
  family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", one(snapshot.cpu.user_seconds + snapshot.cpu.system_seconds));
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", one(snapshot.rss_bytes));
  family(out, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.", one(Math.round(options.nowMs / 1000 - snapshot.uptime_seconds)));
  family(out, "nodejs_heap_size_used_bytes", "gauge", "JavaScript heap in use, in bytes (the name Node.js' prom-client gives it).", one(snapshot.heap_bytes));

  // ---- messages, broker-wide (rabbitmq_global_messages_*_total) ----
  const counter = (name: string, help: string, value: number) => family(out, `pubsub_messages_${name}_total`, "counter", help, one(value));
  counter("published", "Messages accepted by the broker (routed or not).", t.published);
  counter("routed", "Copies enqueued: a message routed to three queues counts three.", t.routed);
  counter("unroutable", "Published messages that reached no queue (dropped).", t.unroutable);
  counter("delivered", "Deliveries to subscribers and consumers (each copy, each time).", t.delivered);
  counter("acknowledged", "Messages acknowledged by consumers.", t.acknowledged);
  counter("redelivered", "Deliveries to consumers marked redelivered.", t.redelivered);
  counter("confirmed", "Publishes that reached a durable queue, answered after their commit.", t.confirmed);
  const reasons = ["expired", "rejected", "maxlen", "delivery_limit"] as const;
  family(out, "pubsub_messages_dead_lettered_total", "counter", "Messages dead-lettered, by reason.", reasons.map((r): Sample => [labelled("reason", r), t.dead_lettered[r]]));

  // ---- connections ----
  family(out, "pubsub_connections", "gauge", "WebSocket connections open.", one(snapshot.connections));
  family(out, "pubsub_connections_opened_total", "counter", "WebSocket connections opened.", one(snapshot.connections_opened));
  family(out, "pubsub_connections_closed_total", "counter", "WebSocket connections closed.", one(snapshot.connections_closed));

  // ---- security: limits against abuse, authentication ----
  const sec = snapshot.security;
  family(out, "pubsub_connections_refused_total", "counter", "WebSocket connections refused by MAX_CONNECTIONS or MAX_CONNECTIONS_PER_ADDRESS.", [
    [labelled("reason", "max_connections"), sec.connections_refused.max_connections],
    [labelled("reason", "max_connections_per_address"), sec.connections_refused.max_connections_per_address],
  ]);
  family(out, "pubsub_publish_rate_refused_total", "counter", "Publishes refused by PUBLISH_RATE_PER_CONNECTION (429 / ERROR RATE_LIMITED).", one(sec.publish_rate_refused));
  family(out, "pubsub_auth_failures_total", "counter", "Failed authentications (a refused API key or token).", one(sec.auth_failures));
  family(out, "pubsub_auth_backoff_refused_total", "counter", "Attempts refused while their address waited after failed authentications.", one(sec.auth_backoff_refused));
  family(out, "pubsub_auth_backoff_tracked", "gauge", "Addresses the authentication backoff remembers.", one(sec.auth_backoff_tracked));
  family(out, "pubsub_auth_backoff_evicted_total", "counter", "Addresses forgotten to stay within AUTH_BACKOFF_MAX_ADDRESSES.", one(sec.auth_backoff_evicted));

  // ---- store, memory, disk ----
  renderHistogram(out, "pubsub_store_commit_seconds", "Time from handing a batch of durable writes to the store to its commit, in seconds.", snapshot.store.commit_latency);
  family(out, "pubsub_queued_bytes", "gauge", "Message bytes all queues hold in memory (counted against MAX_QUEUED_BYTES).", one(snapshot.queued_bytes));
  family(out, "pubsub_queued_limit_bytes", "gauge", "MAX_QUEUED_BYTES: past it, publishes that need memory are refused with FLOW_CONTROL.", one(snapshot.max_queued_bytes));
  const disk = snapshot.disk;
  if (disk.free_bytes !== null) {
    family(out, "pubsub_disk_space_available_bytes", "gauge", "Free space on the SQLite database's filesystem, in bytes.", one(disk.free_bytes));
  }
  family(out, "pubsub_disk_space_available_limit_bytes", "gauge", "DISK_FREE_LIMIT in bytes (0: off, and always on Postgres).", one(disk.limit_bytes));
  family(out, "pubsub_alarms_free_disk_space_watermark", "gauge", "1 while the disk alarm is on (durable publishes refused with DISK_ALARM).", one(disk.alarm ? 1 : 0));

  // ---- paging and checkpoints [PAGE-1] ----
  const p = snapshot.paging;
  family(out, "pubsub_paging_reads_total", "counter", "Reads of durable queues' backlogs from the store.", one(p.reads));
  family(out, "pubsub_paging_rows_total", "counter", "Messages read back from the store by those reads.", one(p.rows));
  family(out, "pubsub_paging_failures_total", "counter", "Backlog reads that failed (retried).", one(p.failures));
  family(out, "pubsub_paging_max_read_seconds", "gauge", "Slowest backlog read since start, in seconds.", one(seconds(p.max_read_ms)));
  const c = snapshot.checkpoints;
  family(out, "pubsub_checkpoints_total", "counter", "Checkpoints done, by scope: full (retention, WAL, free space) and acks (removals only).", [
    [labelled("scope", "full"), c.full],
    [labelled("scope", "acks"), c.acks],
  ]);
  family(out, "pubsub_checkpoint_removed_messages_total", "counter", "Message rows removed from the store by checkpoints.", one(c.removed_messages));
  family(out, "pubsub_checkpoint_failures_total", "counter", "Checkpoints that failed.", one(c.failures));
  family(out, "pubsub_checkpoint_max_seconds", "gauge", "Slowest checkpoint since start, in seconds.", one(seconds(c.max_ms)));

  // ---- the event loop ----
  const loop = snapshot.event_loop;
  family(out, "pubsub_event_loop_max_stall_seconds", "gauge", `Worst event-loop stall since start (how late a ${LOOP_TICK_MS} ms timer fired), in seconds.`, one(seconds(loop.max_stall_ms)));
  family(out, "pubsub_event_loop_recent_max_stall_seconds", "gauge", `Worst event-loop stall within the last ${LOOP_WINDOW_SECONDS} seconds, in seconds.`, one(seconds(loop.recent_max_stall_ms)));
  family(out, "pubsub_event_loop_stalls_total", "counter", `Event-loop stalls longer than ${COUNTED_STALL_MS} ms.`, one(loop.stalls_over_20ms));

  renderQueues(out, queues, options.queueLimit);
  out.push("");
  return out.join("\n");
}

/**
 * Whether an `Accept` header asks for the JSON snapshot rather than the text format: only when
 * `application/json` has a higher q than every text type we could answer (`text/plain`,
 * `application/openmetrics-text`, answered as text/plain 0.0.4). Wildcards count for both, so
 * `*\/*`, no header and Prometheus' own header all get the text.
 */
export function prefersJson(accept: string | null): boolean {
  if (accept === null || accept === "") return false;
  let json = 0;
  let text = 0;
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (range === "application/json") json = Math.max(json, q);
    if (range === "text/plain" || range === "application/openmetrics-text" || range === "text/*") text = Math.max(text, q);
    if (range === "*/*" || range === "application/*") {
      json = Math.max(json, q);
      text = Math.max(text, q);
    }
  }
  return json > text;
}
