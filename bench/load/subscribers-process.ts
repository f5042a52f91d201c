/** Load process: holds several subscriber connections and reports their counts every few ms. */
import type { SubscribersConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, onMessage, tell } from "./ipc-child.ts";
import { openSubscriber } from "./protocols/open.ts";
import type { Subscriber } from "./protocols/roles.ts";

const configuration = await nextMessage("configure");
if (!("specs" in configuration)) fail(new Error("not a subscribers configuration"));
const config: SubscribersConfig = configuration;
exitAfter(config.deadlineMs);

let subscribers: Subscriber[];
try {
  subscribers = await Promise.all(config.specs.map(openSubscriber));
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
  if (message.kind !== "stop") return;
  clearInterval(reporting);
  report();
  setTimeout(() => void Promise.all(subscribers.map((s) => s.close())).finally(() => process.exit(0)), 50);
});
tell({ kind: "ready" });
