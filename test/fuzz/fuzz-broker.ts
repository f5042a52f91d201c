/**
 * The real broker the fuzzer attacks (`bun src/main.ts` on a free port), and the checks made
 * after each batch of hostile input: it still routes and delivers, its event loop did not stall,
 * its memory stays bounded.
 */
import { afterAll, beforeAll } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { removeDir, startBroker, type BrokerProcess, type StartOptions } from "../support/broker-process.ts";
import { fail, httpCall } from "./contract.ts";
import { FuzzSocket } from "./fuzz-socket.ts";
import { caseCounts, RSS_BOUND_BYTES, STALL_BOUND_MS } from "./settings.ts";

export type Stall = { after: string; recentMaxMs: number; maxMs: number; over20ms: number };
export const stallsSeen: Stall[] = [];

/**
 * One broker per fuzz file; the report (cases, stalls, memory) is printed after the file.
 * FUZZ_EXECUTABLE=dist/pubsub fuzzes the compiled executable (or any script that starts a broker)
 * instead of `bun src/main.ts`.
 */
export function fuzzBroker(options: StartOptions = {}): { readonly broker: BrokerProcess } {
  let broker: BrokerProcess | undefined;
  beforeAll(async () => {
    const executable = process.env.FUZZ_EXECUTABLE;
    broker = await startBroker({ ...(executable ? { executable: resolve(executable) } : {}), ...options });
  });
  afterAll(async () => {
    if (broker === undefined) return;
    const memory = processMemory(broker.proc.pid);
    console.log(
      `fuzz report: ${caseCounts.map((c) => `${c.property}=${c.cases}`).join(", ")}; ` +
        `worst recent stall ${Math.max(0, ...stallsSeen.map((s) => s.recentMaxMs))} ms, ` +
        `worst stall since start ${Math.max(0, ...stallsSeen.map((s) => s.maxMs))} ms; ` +
        `broker RSS ${mb(memory.rss)} MB, peak ${mb(memory.peak)} MB`,
    );
    await broker.stop();
    removeDir(broker.dataDir);
  });
  return {
    get broker() {
      if (broker === undefined) throw new Error("the fuzz broker is not started yet");
      return broker;
    },
  };
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Current and peak resident set of a process, from /proc (Linux). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

let healthChecks = 0;

/**
 * After a batch: a fresh exchange, queue and binding; a subscriber gets a message published to
 * them, and the broker's loop stalled no more than STALL_BOUND_MS in the last ten seconds.
 */
export async function expectHealthy(broker: BrokerProcess, after: string): Promise<void> {
  const n = `${process.pid}-${++healthChecks}`;
  const request = `health check after ${after}`;
  const must = async (method: string, path: string, body: unknown) => {
    const answer = await httpCall(broker.url, method, path, JSON.stringify(body));
    if (answer.status !== 200) fail(request, `${method} ${path} answered ${answer.status} ${answer.text}`);
    return answer;
  };
  await must("POST", "/exchanges", { name: `health-x-${n}`, type: "direct", durable: false });
  await must("POST", "/queues", { name: `health-q-${n}` });
  await must("POST", "/bindings", { exchange_name: `health-x-${n}`, queue_name: `health-q-${n}`, key: "k" });
  const socket = await FuzzSocket.open(broker.wsUrl);
  try {
    socket.send({ type: "SUBSCRIBE", payload: { queue_name: `health-q-${n}`, id: "s" } });
    if (!(await socket.next((f) => f.type === "SUBSCRIBED"))) fail(request, `no SUBSCRIBED: ${JSON.stringify(socket.frames)}`);
    const published = await must("POST", "/publish", { exchange_name: `health-x-${n}`, key: "k", payload: { n } });
    if (published.body?.routed !== 1) fail(request, `publish routed ${published.text}`);
    const message = await socket.next((f) => f.type === "MESSAGE");
    if ((message as any)?.body?.n !== n) fail(request, `the subscriber did not get the message: ${JSON.stringify(socket.frames)}`);
  } finally {
    socket.close();
  }
  const metrics = (await httpCall(broker.url, "GET", "/metrics/json")).body;
  const stall: Stall = {
    after,
    recentMaxMs: metrics.event_loop.recent_max_stall_ms,
    maxMs: metrics.event_loop.max_stall_ms,
    over20ms: metrics.event_loop.stalls_over_20ms,
  };
  stallsSeen.push(stall);
  console.log(`fuzz stall after ${after}: recent max ${stall.recentMaxMs} ms, max since start ${stall.maxMs} ms, ${stall.over20ms} stalls over 20 ms`);
  if (stall.recentMaxMs > STALL_BOUND_MS) fail(request, `event loop stalled ${stall.recentMaxMs} ms within the last 10 s (bound ${STALL_BOUND_MS} ms)`);
}

/** The broker's peak memory stays under RSS_BOUND_BYTES. */
export function expectMemoryBounded(broker: BrokerProcess): void {
  const { rss, peak } = processMemory(broker.proc.pid);
  if (peak > RSS_BOUND_BYTES) fail("memory after the fuzz run", `broker peak RSS ${mb(peak)} MB (now ${mb(rss)} MB), bound ${mb(RSS_BOUND_BYTES)} MB`);
}
