/**
 * What a Prometheus scrape costs with many queues [PROM-1]: renderPrometheus alone on synthetic
 * queue views, then GET /metrics end to end (broker.queues() + render + HTTP) against a broker from
 * source holding that many queues, with METRICS_QUEUE_LIMIT at its default (the cap sorts) and at
 * the number of queues (every queue its own series). A scrape runs on the event loop: its time is
 * the stall it causes, once per scrape interval; nothing is computed between scrapes.
 *
 *   bun bench/prometheus-scrape.ts [--queues=10000] [--scrapes=30]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { QueueView } from "../src/broker/views.ts";
import { COMMIT_LATENCY_BUCKETS, type MetricsSnapshot } from "../src/server/metrics.ts";
import { DEFAULT_METRICS_QUEUE_LIMIT, renderPrometheus } from "../src/server/prometheus.ts";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const QUEUES = arg("queues", 10_000);
const SCRAPES = arg("scrapes", 30);
const ROOT = resolve(import.meta.dir, "..");

const stats = (ms: number[]) => {
  const sorted = ms.slice().sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`;
};

function time(run: () => unknown, times: number): number[] {
  for (let i = 0; i < 3; i++) run();
  return Array.from({ length: times }, () => {
    const start = performance.now();
    run();
    return performance.now() - start;
  });
}

// ---- the renderer alone ----
const views: QueueView[] = Array.from({ length: QUEUES }, (_, i) => ({
  name: `bench.queue.${i}`,
  durable: i % 2 === 0,
  messages: i % 10 === 0 ? 1 : 0,
  delayed: 0,
  messages_in_memory: 0,
  messages_on_disk: 0,
  unacked: 0,
  bytes: i % 10 === 0 ? 120 : 0,
  subscribers: i % 3,
  consumers: i % 2,
  published: i,
  delivered: i,
  acked: i,
  dead_lettered: 0,
  last_seq: i,
  arguments: {},
}));
const snapshot: MetricsSnapshot = {
  version: "bench",
  node: "bench",
  uptime_seconds: 1,
  rss_bytes: 1,
  heap_bytes: 1,
  cpu: { user_seconds: 1, system_seconds: 1 },
  connections: 0,
  connections_opened: 0,
  connections_closed: 0,
  published: 0,
  delivered: 0,
  totals: { published: 0, routed: 0, unroutable: 0, delivered: 0, acknowledged: 0, redelivered: 0, dead_lettered: { expired: 0, rejected: 0, maxlen: 0, delivery_limit: 0 }, confirmed: 0 },
  security: {
    mode: "users",
    connections_refused: { max_connections: 1, max_connections_per_address: 2 },
    publish_rate_refused: 3,
    auth_failures: 4,
    auth_backoff_refused: 5,
    auth_backoff_tracked: 6,
    auth_backoff_evicted: 7,
  },
  queued_bytes: 0,
  max_queued_bytes: 1,
  event_loop: { max_stall_ms: 0, recent_max_stall_ms: 0, stalls_over_20ms: 0 },
  disk: { path: null, free_bytes: null, limit_bytes: 0, alarm: false },
  store: { backend: "memory", location: "", commit_latency: { buckets: COMMIT_LATENCY_BUCKETS.map((le) => ({ le, count: 0 })), sum_seconds: 0, count: 0 } },
  paging: { reads: 0, rows: 0, failures: 0, max_read_ms: 0 },
  checkpoints: { full: 0, acks: 0, removed_messages: 0, failures: 0, max_ms: 0 },
  cluster: null,
};
for (const limit of [DEFAULT_METRICS_QUEUE_LIMIT, QUEUES]) {
  const bytes = renderPrometheus(snapshot, views, { queueLimit: limit, nowMs: Date.now() }).length;
  const ms = time(() => renderPrometheus(snapshot, views, { queueLimit: limit, nowMs: Date.now() }), SCRAPES);
  console.log(`renderPrometheus, ${QUEUES} queues, limit ${limit}: ${stats(ms)}; ${(bytes / 1024).toFixed(0)} KiB`);
}

// ---- GET /metrics against a broker ----
async function againstBroker(limit: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "pubsub-scrape-"));
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts")], {
    cwd: dataDir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOST: "127.0.0.1", HTTP_PORT: "0", DATA_DIR: dataDir, METRICS_QUEUE_LIMIT: String(limit) },
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    let out = "";
    const reader = proc.stdout.getReader();
    let port = 0;
    while (port === 0) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`broker exited: ${out}`);
      out += new TextDecoder().decode(value);
      port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1] ?? 0);
    }
    const base = `http://127.0.0.1:${port}`;
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body) }).then((r) => r.arrayBuffer());
    for (let i = 0; i < QUEUES; i += 64) {
      await Promise.all(
        Array.from({ length: Math.min(64, QUEUES - i) }, async (_, j) => {
          const name = `bench.queue.${i + j}`;
          await post("/queues", { name });
          if ((i + j) % 10 === 0) await post("/publish", { exchange_name: "", key: name, payload: { n: i + j } });
        }),
      );
    }
    // The stall reading covers the last 10 s: wait for the declarations to leave it.
    await Bun.sleep(10_500);
    let bytes = 0;
    const ms: number[] = [];
    for (let i = 0; i < SCRAPES + 3; i++) {
      const start = performance.now();
      bytes = (await (await fetch(`${base}/metrics`)).arrayBuffer()).byteLength;
      if (i >= 3) ms.push(performance.now() - start);
    }
    const loop = ((await (await fetch(`${base}/metrics/json`)).json()) as MetricsSnapshot).event_loop;
    console.log(
      `GET /metrics, ${QUEUES} queues, METRICS_QUEUE_LIMIT=${limit}: ${stats(ms)}; ${(bytes / 1024).toFixed(0)} KiB; ` +
        `worst event-loop stall during the scrapes ${loop.recent_max_stall_ms} ms`,
    );
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}
await againstBroker(DEFAULT_METRICS_QUEUE_LIMIT);
await againstBroker(QUEUES);
