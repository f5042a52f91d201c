/**
 * [PROM-1] The Prometheus text rendered from hand-made snapshots: label escaping, the cardinality
 * cap (which queues get series, what `_other` sums), the histogram's cumulative buckets, the
 * Accept negotiation — and every rendering passes the real `promtool check metrics` with no lint.
 */
import { describe, expect, test } from "bun:test";
import type { QueueView } from "../../src/broker/views.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { COMMIT_LATENCY_BUCKETS, type MetricsSnapshot } from "../../src/server/metrics.ts";
import { DEFAULT_METRICS_QUEUE_LIMIT, escapeLabelValue, formatValue, prefersJson, renderPrometheus, selectQueues } from "../../src/server/prometheus.ts";
import { promtoolCheck } from "../support/promtool.ts";

const NOW_MS = 1_800_000_000_000;

function snapshot(overrides: Partial<MetricsSnapshot> = {}): MetricsSnapshot {
  return {
    version: "1.2.3",
    node: "broker-1",
    uptime_seconds: 100,
    rss_bytes: 50_000_000,
    heap_bytes: 20_000_000,
    cpu: { user_seconds: 1.5, system_seconds: 0.25 },
    connections: 3,
    connections_opened: 10,
    connections_closed: 7,
    published: 40,
    delivered: 30,
    totals: {
      published: 40,
      routed: 55,
      unroutable: 2,
      delivered: 30,
      acknowledged: 20,
      redelivered: 4,
      dead_lettered: { expired: 1, rejected: 2, maxlen: 3, delivery_limit: 4 },
      confirmed: 12,
    },
    security: {
      mode: "users",
      connections_refused: { max_connections: 1, max_connections_per_address: 2 },
      publish_rate_refused: 3,
      auth_failures: 4,
      auth_backoff_refused: 5,
      auth_backoff_tracked: 6,
      auth_backoff_evicted: 7,
    },
    queued_bytes: 4096,
    max_queued_bytes: 268_435_456,
    event_loop: { max_stall_ms: 31.5, recent_max_stall_ms: 2.5, stalls_over_20ms: 1 },
    disk: { path: "/data", free_bytes: 1e10, limit_bytes: 52_428_800, alarm: false },
    store: {
      backend: "sqlite",
      location: "/data/pub-sub.db",
      commit_latency: {
        buckets: COMMIT_LATENCY_BUCKETS.map((le, i) => ({ le, count: Math.min(10, i * 2) })),
        sum_seconds: 0.042,
        count: 11,
      },
    },
    paging: { reads: 5, rows: 2560, failures: 0, max_read_ms: 12.5 },
    checkpoints: { full: 9, acks: 90, removed_messages: 300, failures: 1, max_ms: 40 },
    cluster: null,
    ...overrides,
  };
}

function queue(name: string, fields: Partial<QueueView> = {}): QueueView {
  return {
    name,
    durable: true,
    messages: 0,
    delayed: 0,
    messages_in_memory: 0,
    messages_on_disk: 0,
    unacked: 0,
    bytes: 0,
    subscribers: 0,
    consumers: 0,
    published: 0,
    delivered: 0,
    acked: 0,
    dead_lettered: 0,
    last_seq: 0,
    arguments: {},
    ...fields,
  };
}

const render = (queues: QueueView[] = [], limit = 1000, snap = snapshot()) => renderPrometheus(snap, queues, { queueLimit: limit, nowMs: NOW_MS });

/** The sample lines as `name{labels}` → value (the text is ours, so splitting at the last space is exact). */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    const value = line.slice(at + 1);
    map.set(line.slice(0, at), value === "+Inf" ? Infinity : Number(value));
  }
  return map;
}

async function expectPromtoolClean(text: string): Promise<void> {
  const { code, output } = await promtoolCheck(text);
  expect(output).toBe("");
  expect(code).toBe(0);
}

describe("the text format", () => {
  test("[PROM-1] passes promtool check metrics with no lint, hostile queue names included", async () => {
    const names = ['a"b', "back\\slash", "队列 ❤", "new\nline", "_other", "ok", "{}=,", "𝄞 music"];
    await expectPromtoolClean(render(names.map((n, i) => queue(n, { messages: i }))));
    await expectPromtoolClean(render(names.map((n, i) => queue(n, { messages: i })), 3));
    await expectPromtoolClean(render([], 0, snapshot({ disk: { path: null, free_bytes: null, limit_bytes: 0, alarm: false } })));
  });

  test("[CLUSTER-1] a cluster's nodes: one gauge of their count, one info series per node with its role; none outside a cluster", async () => {
    const nodes = [
      { node: "mq-1", role: "leader" as const, url: "http://mq-1:8060" },
      { node: 'mq-"2"', role: "follower" as const, url: "http://mq-2:8060" },
    ];
    const text = render([], 0, snapshot({ cluster: { name: "prod", leader: "mq-1", nodes } }));
    await expectPromtoolClean(text);
    const series = samples(text);
    expect(series.get('pubsub_cluster_nodes{cluster="prod"}')).toBe(2);
    expect(series.get('pubsub_cluster_node_info{cluster="prod",node="mq-1",role="leader"}')).toBe(1);
    expect(series.get('pubsub_cluster_node_info{cluster="prod",node="mq-\\"2\\"",role="follower"}')).toBe(1);
    expect(render([], 0, snapshot())).not.toContain("pubsub_cluster");
  });

  test("every family has one HELP and one TYPE before its samples, and the text ends with a newline", () => {
    const text = render([queue("a"), queue("b")]);
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    const seen = new Set<string>();
    let current = "";
    for (const line of lines) {
      const help = /^# HELP (\S+) ./.exec(line);
      if (help) {
        expect(seen.has(help[1]!)).toBe(false);
        seen.add(help[1]!);
        current = help[1]!;
        continue;
      }
      if (line.startsWith("# TYPE ")) {
        expect(line.split(" ")[2]).toBe(current);
        continue;
      }
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
      expect(name === current || name.replace(/_(bucket|sum|count)$/, "") === current).toBe(true);
    }
  });

  test("label values escape backslash, double quote and newline, and keep any other Unicode as is", () => {
    expect(escapeLabelValue('a"b')).toBe('a\\"b');
    expect(escapeLabelValue("a\\b")).toBe("a\\\\b");
    expect(escapeLabelValue("a\nb")).toBe("a\\nb");
    expect(escapeLabelValue("队列 ❤ 𝄞")).toBe("队列 ❤ 𝄞");
    const text = render([queue('say "hi"\\', { messages: 2 })]);
    expect(text).toContain('pubsub_queue_messages_ready{queue="say \\"hi\\"\\\\"} 2\n');
  });

  test("values: integers, decimals and the specials as the format spells them", () => {
    expect([formatValue(3), formatValue(0.0005), formatValue(1e21), formatValue(Infinity), formatValue(-Infinity), formatValue(NaN)]).toEqual([
      "3",
      "0.0005",
      "1e+21",
      "+Inf",
      "-Inf",
      "NaN",
    ]);
  });
});

describe("broker-wide families", () => {
  test("counters, connections, process metrics and build info come from the snapshot", () => {
    const s = samples(render());
    expect(s.get("pubsub_messages_published_total")).toBe(40);
    expect(s.get("pubsub_messages_routed_total")).toBe(55);
    expect(s.get("pubsub_messages_unroutable_total")).toBe(2);
    expect(s.get("pubsub_messages_delivered_total")).toBe(30);
    expect(s.get("pubsub_messages_acknowledged_total")).toBe(20);
    expect(s.get("pubsub_messages_redelivered_total")).toBe(4);
    expect(s.get("pubsub_messages_confirmed_total")).toBe(12);
    expect(s.get('pubsub_messages_dead_lettered_total{reason="delivery_limit"}')).toBe(4);
    expect(s.get('pubsub_messages_dead_lettered_total{reason="maxlen"}')).toBe(3);
    expect([s.get("pubsub_connections"), s.get("pubsub_connections_opened_total"), s.get("pubsub_connections_closed_total")]).toEqual([3, 10, 7]);
    expect(s.get("process_cpu_seconds_total")).toBe(1.75);
    expect(s.get("process_resident_memory_bytes")).toBe(50_000_000);
    expect(s.get("process_start_time_seconds")).toBe(NOW_MS / 1000 - 100);
    expect(s.get('pubsub_build_info{version="1.2.3",node="broker-1",backend="sqlite"}')).toBe(1);
    expect(s.get("pubsub_event_loop_max_stall_seconds")).toBe(0.0315);
    expect(s.get("pubsub_paging_max_read_seconds")).toBe(0.0125);
    const rounded = samples(render([], 1000, snapshot({ event_loop: { max_stall_ms: 95.6, recent_max_stall_ms: 5.9, stalls_over_20ms: 0 } })));
    expect([rounded.get("pubsub_event_loop_max_stall_seconds"), rounded.get("pubsub_event_loop_recent_max_stall_seconds")]).toEqual([0.0956, 0.0059]);
    expect(s.get('pubsub_checkpoints_total{scope="full"}')).toBe(9);
    expect([s.get("pubsub_queued_bytes"), s.get("pubsub_queued_limit_bytes")]).toEqual([4096, 268_435_456]);
    expect([s.get("pubsub_disk_space_available_bytes"), s.get("pubsub_alarms_free_disk_space_watermark")]).toEqual([1e10, 0]);
  });

  test("no free-space sample on Postgres (the broker cannot see that disk); the alarm reads 1 when on", () => {
    const postgres = samples(render([], 1000, snapshot({ disk: { path: null, free_bytes: null, limit_bytes: 0, alarm: false } })));
    expect(postgres.has("pubsub_disk_space_available_bytes")).toBe(false);
    expect(postgres.get("pubsub_disk_space_available_limit_bytes")).toBe(0);
    const alarm = samples(render([], 1000, snapshot({ disk: { path: "/d", free_bytes: 5, limit_bytes: 10, alarm: true } })));
    expect(alarm.get("pubsub_alarms_free_disk_space_watermark")).toBe(1);
  });

  test("the commit latency histogram: the snapshot's cumulative buckets in order, +Inf equal to count, sum and count", () => {
    const text = render();
    const s = samples(text);
    const bucketLines = text.split("\n").filter((l) => l.startsWith("pubsub_store_commit_seconds_bucket"));
    expect(bucketLines.length).toBe(COMMIT_LATENCY_BUCKETS.length + 1);
    expect(bucketLines.at(-1)).toBe('pubsub_store_commit_seconds_bucket{le="+Inf"} 11');
    const counts = bucketLines.map((l) => Number(l.split(" ")[1]));
    for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(s.get('pubsub_store_commit_seconds_bucket{le="0.0005"}')).toBe(0);
    expect(s.get('pubsub_store_commit_seconds_bucket{le="5"}')).toBe(10);
    expect([s.get("pubsub_store_commit_seconds_sum"), s.get("pubsub_store_commit_seconds_count")]).toEqual([0.042, 11]);
  });
});

describe("[PROM-1] per-queue series and the cardinality cap", () => {
  const a = queue("a", { messages: 5, delayed: 1, unacked: 2, bytes: 500, messages_on_disk: 3, consumers: 1, subscribers: 2, published: 9, delivered: 8, acked: 7, dead_lettered: 1 });

  test("a queue's gauges and counters", () => {
    const s = samples(render([a]));
    const at = (name: string) => s.get(`${name}{queue="a"}`);
    expect(at("pubsub_queue_messages_ready")).toBe(4);
    expect(at("pubsub_queue_messages_delayed")).toBe(1);
    expect(at("pubsub_queue_messages_unacked")).toBe(2);
    expect(at("pubsub_queue_messages")).toBe(7);
    expect(at("pubsub_queue_messages_ready_bytes")).toBe(500);
    expect(at("pubsub_queue_messages_paged_out")).toBe(3);
    expect([at("pubsub_queue_consumers"), at("pubsub_queue_subscribers")]).toEqual([1, 2]);
    expect([at("pubsub_queue_messages_published_total"), at("pubsub_queue_messages_delivered_total")]).toEqual([9, 8]);
    expect([at("pubsub_queue_messages_acknowledged_total"), at("pubsub_queue_messages_dead_lettered_total")]).toEqual([7, 1]);
    expect([s.get("pubsub_queues"), s.get("pubsub_queues_aggregated")]).toEqual([1, 0]);
    expect(s.has('pubsub_queue_messages_ready{queue="_other"}')).toBe(false);
  });

  test("past the limit: the largest by messages + unacked keep their series, ties by name; the rest's gauges are summed into _other", () => {
    const queues = [queue("small", { messages: 1 }), queue("tie-b", { messages: 5 }), queue("big", { messages: 1, unacked: 10 }), queue("tie-a", { messages: 5 }), queue("zero")];
    const { own, aggregated } = selectQueues(queues, 2);
    expect(own.map((q) => q.name)).toEqual(["big", "tie-a"]);
    expect(aggregated.map((q) => q.name).sort()).toEqual(["small", "tie-b", "zero"]);
    // The same set whatever order the broker lists them in.
    expect(selectQueues(queues.slice().reverse(), 2).own.map((q) => q.name)).toEqual(["big", "tie-a"]);

    const s = samples(render(queues, 2));
    expect(s.get('pubsub_queue_messages_ready{queue="big"}')).toBe(1);
    expect(s.get('pubsub_queue_messages_ready{queue="_other"}')).toBe(6);
    expect(s.has('pubsub_queue_messages_ready{queue="small"}')).toBe(false);
    expect([s.get("pubsub_queues"), s.get("pubsub_queues_aggregated")]).toEqual([5, 3]);
    // Counters are never summed: a sum over a changing set of queues would go down.
    expect(s.has('pubsub_queue_messages_published_total{queue="_other"}')).toBe(false);
  });

  test("a queue named _other is always in the aggregate, so no two series share a label set", async () => {
    const text = render([queue("_other", { messages: 4 }), queue("x", { messages: 1 })]);
    const s = samples(text);
    expect(s.get('pubsub_queue_messages_ready{queue="_other"}')).toBe(4);
    expect(s.get("pubsub_queues_aggregated")).toBe(1);
    expect(text.split("\n").filter((l) => l.startsWith('pubsub_queue_messages_ready{queue="_other"}')).length).toBe(1);
    await expectPromtoolClean(text);
  });

  test("limit 0: no queue has series of its own, _other holds them all", () => {
    const s = samples(render([a, queue("b", { messages: 2 })], 0));
    expect(s.get('pubsub_queue_messages_ready{queue="_other"}')).toBe(6);
    expect(s.get("pubsub_queues_aggregated")).toBe(2);
    expect([...s.keys()].some((k) => k.includes('queue="a"'))).toBe(false);
  });
});

test("METRICS_QUEUE_LIMIT: 1000 by default, any whole number from 0 to 100000, anything else stops start-up naming it", () => {
  const limitOf = (value?: string) => loadConfig(value === undefined ? {} : { METRICS_QUEUE_LIMIT: value }, "/tmp").metricsQueueLimit;
  expect([limitOf(), limitOf(""), limitOf("0"), limitOf("25"), limitOf("100000")]).toEqual([DEFAULT_METRICS_QUEUE_LIMIT, DEFAULT_METRICS_QUEUE_LIMIT, 0, 25, 100_000]);
  expect(DEFAULT_METRICS_QUEUE_LIMIT).toBe(1000);
  for (const bad of ["-1", "1.5", "100001", "many"]) expect(() => limitOf(bad)).toThrow(ConfigError);
  expect(() => limitOf("many")).toThrow(/METRICS_QUEUE_LIMIT/);
});

describe("Accept: JSON only when preferred over every text type", () => {
  test.each([
    [null, false],
    ["", false],
    ["*/*", false],
    ["text/plain", false],
    ["application/json", true],
    ["application/json, text/plain", false],
    ["application/json, */*;q=0.1", true],
    ["text/plain;q=0.5, application/json", true],
    ["application/json;q=0.5, text/plain;q=0.9", false],
    ["application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", false],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false],
    ["Application/JSON", true],
  ] as const)("%p → JSON %p", (accept, json) => {
    expect(prefersJson(accept)).toBe(json);
  });
});
