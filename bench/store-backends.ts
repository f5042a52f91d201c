/**
 * SQLite vs Postgres behind the same broker, same run, same machine:
 *   1. answered durable publishes/s: 64 HTTP publishes in flight (keep-alive, 256-byte payloads),
 *      each answered only after its commit;
 *   2. consume-and-ack msg/s: one WebSocket consumer (CONSUME, prefetch 256) drains that backlog,
 *      acking every message, while checkpoints delete what was acked (every second).
 *
 *   bun run bench/store-backends.ts [--seconds=5] [--runs=3] [--postgres=postgres://…/test]
 *
 * Postgres runs in a fresh database per run, dropped afterwards. Reported: the median run.
 */
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KeepAliveConnection, jsonPostRequest } from "./load/protocols/http-keepalive.ts";
import { launchBroker, type BrokerProcess } from "./targets/broker-process.ts";

const IN_FLIGHT = 64;
const PAYLOAD_BYTES = 256;
const PREFETCH = 256;
/** Publishing starts this long before the measured window, so connections and caches are warm. */
const WARMUP_MS = 1_000;
/** A drain that stalls this long is reported as such instead of hanging the run. */
const DRAIN_STALL_MS = 10_000;

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const seconds = Number(arg("seconds", "5"));
const runs = Number(arg("runs", "3"));
const adminUrl = arg("postgres", "postgres://postgres@127.0.0.1:5432/test");
const MAIN = resolve(import.meta.dir, "../src/main.ts");

type Backend = { name: string; env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> };
type Result = { publishesPerSecond: number; p99Ms: number; consumedPerSecond: number };

const sqlite = (fsync: boolean) => async () => {
  const dir = mkdtempSync(join(tmpdir(), "pubsub-bench-"));
  return { env: { DATA_DIR: dir, DATABASE_URL: "", FSYNC: String(fsync) }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
};

const backends: Backend[] = [
  // The default: WAL with synchronous=NORMAL survives a killed process, not a power loss.
  { name: "sqlite", env: sqlite(false) },
  // synchronous=FULL: an fsync per commit, as Postgres does with its default synchronous_commit=on.
  { name: "sqlite FSYNC=true", env: sqlite(true) },
  {
    name: "postgres",
    env: async () => {
      const name = `pubsub_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      const admin = new SQL({ url: adminUrl, max: 1 });
      await admin.unsafe(`create database ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const dir = mkdtempSync(join(tmpdir(), "pubsub-bench-"));
      return {
        env: { DATA_DIR: dir, DATABASE_URL: url.toString() },
        cleanup: async () => {
          await admin.unsafe(`drop database if exists ${name} with (force)`);
          await admin.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

async function publishPhase(broker: BrokerProcess): Promise<{ perSecond: number; p99Ms: number; published: number }> {
  const payload = "x".repeat(PAYLOAD_BYTES - 2);
  const request = jsonPostRequest(broker.host, broker.port, "/publish", JSON.stringify({ exchange_name: "", key: "bench", payload }));
  const connections = await Promise.all(Array.from({ length: IN_FLIGHT }, () => KeepAliveConnection.open(broker.host, broker.port)));
  const start = performance.now() + WARMUP_MS;
  const end = start + seconds * 1_000;
  const latencies: number[] = [];
  let answered = 0;
  let published = 0;
  await Promise.all(
    connections.map(async (connection) => {
      for (let sent = performance.now(); sent < end; sent = performance.now()) {
        const answer = await connection.request(request);
        if (answer.status !== 200) throw new Error(`publish answered ${answer.status}`);
        published++;
        const now = performance.now();
        if (sent >= start && now <= end) {
          answered++;
          latencies.push(now - sent);
        }
      }
      connection.close();
    }),
  );
  latencies.sort((a, b) => a - b);
  return { perSecond: answered / seconds, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0, published };
}

async function consumePhase(broker: BrokerProcess, backlog: number): Promise<number> {
  const ws = new WebSocket(`ws://${broker.host}:${broker.port}/ws`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let consumed = 0;
  let last = performance.now();
  const started = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    const stall = setInterval(() => {
      if (performance.now() - last > DRAIN_STALL_MS) reject(new Error(`drain stalled at ${consumed}/${backlog}`));
    }, 1_000);
    ws.onmessage = (event) => {
      const frame = JSON.parse(String(event.data));
      if (frame.type !== "MESSAGE") return;
      ws.send(`{"type":"ACK","payload":{"delivery_tag":${frame.delivery_tag}}}`);
      consumed++;
      last = performance.now();
      if (consumed === backlog) {
        clearInterval(stall);
        resolve();
      }
    };
  });
  ws.send(JSON.stringify({ type: "CONSUME", payload: { queue_name: "bench", prefetch: PREFETCH } }));
  await done;
  const perSecond = backlog / ((performance.now() - started) / 1_000);
  ws.close();
  return perSecond;
}

async function once(backend: Backend): Promise<Result> {
  const { env, cleanup } = await backend.env();
  const broker = await launchBroker(
    [process.execPath, MAIN],
    { ...env, HOST: "127.0.0.1", HTTP_PORT: "0", CHECKPOINT_IN_SECONDS: "1" },
    `pubsub (${backend.name})`,
  );
  try {
    const declared = await fetch(`${broker.baseUrl}/queues`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "bench", durable: true }),
    });
    if (!declared.ok) throw new Error(`declaring the queue: ${declared.status}`);
    const publishing = await publishPhase(broker);
    const consumedPerSecond = await consumePhase(broker, publishing.published);
    return { publishesPerSecond: publishing.perSecond, p99Ms: publishing.p99Ms, consumedPerSecond };
  } finally {
    await broker.stop();
    await cleanup();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results = new Map<string, Result[]>(backends.map((b) => [b.name, []]));
// Interleaved, so a noisy moment on the machine does not fall on one backend only.
for (let run = 0; run < runs; run++) {
  for (const backend of backends) {
    const result = await once(backend);
    results.get(backend.name)!.push(result);
    console.error(
      `${backend.name} run ${run + 1}: ${Math.round(result.publishesPerSecond)} publishes/s (p99 ${result.p99Ms.toFixed(1)} ms), ` +
        `${Math.round(result.consumedPerSecond)} consumed+acked/s`,
    );
  }
}

console.log(`\nMedian of ${runs} runs, ${seconds} s measured each, ${IN_FLIGHT} publishes in flight, ${PAYLOAD_BYTES}-byte payloads:\n`);
console.log("| backend | answered durable publishes/s | publish p99 | consume-and-ack msg/s |");
console.log("| --- | ---: | ---: | ---: |");
for (const [name, rows] of results) {
  const row = rows.find((r) => r.publishesPerSecond === median(rows.map((x) => x.publishesPerSecond)))!;
  console.log(
    `| ${name} | ${Math.round(row.publishesPerSecond).toLocaleString("en")} | ${row.p99Ms.toFixed(1)} ms | ` +
      `${Math.round(median(rows.map((r) => r.consumedPerSecond))).toLocaleString("en")} |`,
  );
}
process.exit(0);
