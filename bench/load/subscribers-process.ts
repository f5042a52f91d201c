/**
 * Load process: holds several subscriber connections and reports their counts every few ms. With
 * `latency`, it also reads the send time stamped in each payload and keeps a histogram of
 * publish→deliver latencies for messages stamped after the `record` message's time.
 */
import type { SubscribersConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, onMessage, tell } from "./ipc-child.ts";
import { newHistogram, record } from "./latency-histogram.ts";
import { openSubscriber } from "./protocols/open.ts";
import type { PayloadListener, Subscriber } from "./protocols/roles.ts";
import { nowUs, readStamp } from "./specs.ts";

const configuration = await nextMessage("configure");
if (!("specs" in configuration) || "role" in configuration) fail(new Error("not a subscribers configuration"));
const config = configuration as SubscribersConfig;
exitAfter(config.deadlineMs);

const histogram = newHistogram();
let recordFromUs = Number.POSITIVE_INFINITY;
let recorded = 0;
const onPayload: PayloadListener | undefined = config.latency
  ? (payload) => {
      const receivedAt = nowUs();
      const stamp = readStamp(payload);
      if (stamp === null || stamp < recordFromUs) return;
      record(histogram, (receivedAt - stamp) / 1000);
      recorded++;
    }
  : undefined;

let subscribers: Subscriber[];
try {
  subscribers = await Promise.all(config.specs.map((spec) => openSubscriber(spec, onPayload)));
} catch (error) {
  fail(error);
}

function report(): void {
  let total = 0;
  let min = Number.POSITIVE_INFINITY;
  let closed = 0;
  for (const subscriber of subscribers) {
    total += subscriber.received;
    min = Math.min(min, subscriber.received);
    if (subscriber.closed) closed += 1;
  }
  const firstDelivery = subscribers.find((subscriber) => subscriber.firstDelivery !== null)?.firstDelivery ?? null;
  tell({ kind: "progress", total, min, closed, firstDelivery });
}

const reporting = setInterval(report, config.reportEveryMs);
onMessage((message) => {
  if (message.kind === "record") recordFromUs = message.fromUs;
  if (message.kind !== "stop") return;
  clearInterval(reporting);
  report();
  if (config.latency) {
    const received = subscribers.reduce((sum, subscriber) => sum + subscriber.received, 0);
    tell({ kind: "latency", buckets: Array.from(histogram), recorded, received });
  }
  setTimeout(() => void Promise.all(subscribers.map((s) => s.close())).finally(() => process.exit(0)), 50);
});
tell({ kind: "ready" });
