/**
 * Load process for scenario 11: opens one connection alone and times it (a first use may cost
 * more: an API key's argon2id verify), answers `ready`, and on `go` opens `count` more,
 * `concurrency` at a time, each closed as soon as it is ready (101, or AUTHENTICATED when the spec
 * has tokens). Reports how long that took and how long each connection took to be ready.
 */
import type { ConnectConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, tell } from "./ipc-child.ts";
import { newHistogram, record } from "./latency-histogram.ts";
import { WireWebSocket } from "./protocols/ws-wire.ts";

const configuration = await nextMessage("configure");
if (!("role" in configuration) || configuration.role !== "connect") fail(new Error("not a connect configuration"));
const config = configuration as ConnectConfig;
exitAfter(config.deadlineMs);

const { host, port, path, tokens } = config.spec;
const tokenFor = (i: number) => (tokens === null ? undefined : tokens[i % tokens.length]);

/** Opens connection `i`, waits until it is ready, closes it; resolves with the ms it took to be ready. */
async function connectOnce(i: number): Promise<number> {
  const startedAt = performance.now();
  const ws = await WireWebSocket.open(host, port, path, tokenFor(i));
  const readyMs = performance.now() - startedAt;
  ws.close();
  return readyMs;
}

let firstMs: number;
try {
  firstMs = await connectOnce(0);
} catch (error) {
  fail(error);
}
tell({ kind: "ready" });
await nextMessage("go");

const histogram = newHistogram();
let next = 1;
let opened = 0;
let failed = 0;
let firstError: string | null = null;
const startedAt = performance.now();
const opener = async () => {
  while (next <= config.count) {
    const i = next++;
    try {
      record(histogram, await connectOnce(i));
      opened++;
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
};
await Promise.all(Array.from({ length: Math.min(config.concurrency, config.count) }, opener));
tell({
  kind: "connected",
  firstMs,
  opened,
  failed,
  firstError,
  elapsedMs: performance.now() - startedAt,
  latencyBuckets: Array.from(histogram),
});
setTimeout(() => process.exit(0), 50);
