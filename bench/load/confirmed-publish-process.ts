/**
 * Load process: keeps `inflight` confirmed publishes outstanding, for warmup + measure ms, then
 * reports how many were confirmed inside the measurement window and their latencies. In count
 * mode (`total`) it publishes exactly that many, as fast as confirms come, and reports them all;
 * with `retryRefused`, a refused message is published again until `total` are confirmed, the
 * time limit passes, or nothing was confirmed for `giveUpAfterMs`.
 */
import type { ConfirmedPublishConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, sleep, tell } from "./ipc-child.ts";
import { newHistogram, record } from "./latency-histogram.ts";
import { openConfirmedPublisher } from "./protocols/open.ts";
import type { ConfirmedPublisher } from "./protocols/roles.ts";
import { nowUs } from "./specs.ts";

/** After an error, a slot waits this long (unless configured): a dead broker must not turn the loop into a spin. */
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
let outstanding = 0;
let completed = 0;
let confirmedTotal = 0;
let lastConfirmAt = start;
let errors = 0;
let firstError: string | null = null;
const errorKinds: Record<string, number> = {};
let endedEarly: string | null = null;

const countMode = config.total !== undefined;
const limit = Math.min(config.maxRequests, config.total ?? Number.POSITIVE_INFINITY);
const retry = countMode && config.retryRefused === true;
const errorBackoffMs = config.errorBackoffMs ?? ERROR_BACKOFF_MS;
/** Without retries every attempt counts toward the total; with them, only confirmed and pending ones. */
const wanted = () => (retry ? completed + outstanding < limit && issued < config.maxRequests : issued < limit);

async function keepPublishing(slot: number): Promise<void> {
  while (wanted() && endedEarly === null) {
    const sentAt = performance.now();
    if (sentAt >= measureEnd) {
      if (countMode) endedEarly ??= "time limit";
      return;
    }
    issued += 1;
    outstanding += 1;
    try {
      await publisher.publish(slot);
      const answeredAt = performance.now();
      lastConfirmAt = answeredAt;
      confirmedTotal += 1;
      if (countMode || (answeredAt >= measureStart && answeredAt < measureEnd)) completed += 1;
      if (countMode || sentAt >= measureStart) record(histogram, answeredAt - sentAt);
    } catch (error) {
      errors += 1;
      const message = error instanceof Error ? error.message : String(error);
      firstError ??= message;
      const kind = errorKind(message);
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      if (config.giveUpAfterMs !== undefined && performance.now() - lastConfirmAt > config.giveUpAfterMs) {
        endedEarly ??= `gave up: nothing confirmed for ${config.giveUpAfterMs / 1000} s`;
      }
      await sleep(errorBackoffMs);
    } finally {
      outstanding -= 1;
    }
  }
}

/** The broker's error code in an ERROR frame or AMQP error, else the message's first words. */
function errorKind(message: string): string {
  return /"code"\s*:\s*"([A-Za-z0-9_]+)"/.exec(message)?.[1] ?? message.slice(0, 60);
}

const progress =
  config.reportEveryMs === undefined
    ? null
    : setInterval(() => tell({ kind: "fill-progress", confirmed: completed, refused: errors, atUs: nowUs() }), config.reportEveryMs);
await Promise.race([
  Promise.all(Array.from({ length: publisher.slots }, (_, slot) => keepPublishing(slot))),
  sleep(config.warmupMs + config.measureMs + DRAIN_TIMEOUT_MS),
]);
if (progress) clearInterval(progress);
if (countMode && completed < limit) endedEarly ??= retry || performance.now() >= measureEnd ? "time limit" : `${errors} error(s)`;
tell({
  kind: "result",
  completed,
  confirmedTotal,
  errors,
  firstError,
  measuredMs: countMode ? performance.now() - start : Math.min(performance.now(), measureEnd) - measureStart,
  latencyBuckets: Array.from(histogram),
  errorKinds,
  endedEarly,
  lastConfirmMs: lastConfirmAt - start,
});
await Promise.race([publisher.close(), sleep(1_000)]);
setTimeout(() => process.exit(0), 50);
