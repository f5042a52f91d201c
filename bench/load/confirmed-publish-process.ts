/**
 * Load process: keeps `inflight` confirmed publishes outstanding, for warmup + measure ms, then
 * reports how many were confirmed inside the measurement window and their latencies. In count
 * mode (`total`) it publishes exactly that many, as fast as confirms come, and reports them all.
 */
import type { ConfirmedPublishConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, sleep, tell } from "./ipc-child.ts";
import { newHistogram, record } from "./latency-histogram.ts";
import { openConfirmedPublisher } from "./protocols/open.ts";
import type { ConfirmedPublisher } from "./protocols/roles.ts";

/** After an error, a slot waits this long: a dead broker must not turn the loop into a spin. */
const ERROR_BACKOFF_MS = 10;
/** In-flight requests still unanswered this long after the window are abandoned. */
const DRAIN_TIMEOUT_MS = 5_000;

const configuration = await nextMessage("configure");
if (!("inflight" in configuration)) fail(new Error("not a confirmed-publish configuration"));
const config: ConfirmedPublishConfig = configuration;
exitAfter(config.warmupMs + config.measureMs + DRAIN_TIMEOUT_MS + 30_000);

let publisher: ConfirmedPublisher;
try {
  publisher = await openConfirmedPublisher(config.spec, config.inflight);
} catch (error) {
  fail(error);
}
tell({ kind: "ready" });
await nextMessage("go");

const start = performance.now();
const measureStart = start + config.warmupMs;
const measureEnd = measureStart + config.measureMs;
const histogram = newHistogram();
let issued = 0;
let completed = 0;
let errors = 0;
let firstError: string | null = null;

const countMode = config.total !== undefined;
const limit = Math.min(config.maxRequests, config.total ?? Number.POSITIVE_INFINITY);

async function keepPublishing(slot: number): Promise<void> {
  while (issued < limit) {
    const sentAt = performance.now();
    if (sentAt >= measureEnd) return;
    issued += 1;
    try {
      await publisher.publish(slot);
      const answeredAt = performance.now();
      if (countMode || (answeredAt >= measureStart && answeredAt < measureEnd)) completed += 1;
      if (countMode || sentAt >= measureStart) record(histogram, answeredAt - sentAt);
    } catch (error) {
      errors += 1;
      firstError ??= error instanceof Error ? error.message : String(error);
      await sleep(ERROR_BACKOFF_MS);
    }
  }
}

await Promise.race([
  Promise.all(Array.from({ length: publisher.slots }, (_, slot) => keepPublishing(slot))),
  sleep(config.warmupMs + config.measureMs + DRAIN_TIMEOUT_MS),
]);
tell({
  kind: "result",
  completed,
  errors,
  firstError,
  measuredMs: countMode ? performance.now() - start : Math.min(performance.now(), measureEnd) - measureStart,
  latencyBuckets: Array.from(histogram),
});
await Promise.race([publisher.close(), sleep(1_000)]);
setTimeout(() => process.exit(0), 50);
