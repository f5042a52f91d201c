/**
 * Load process: holds competing consumers (each acknowledging every message it gets), starts them
 * on `go`, and reports how many messages they acknowledged every few ms, with the time of reading.
 * With a `limit`, exactly that many are acknowledged: later deliveries are left unacknowledged,
 * the process reports at once and closes its consumers (what they hold goes back to the queue).
 */
import type { ConsumersConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, onMessage, tell } from "./ipc-child.ts";
import { openConsumer } from "./protocols/open.ts";
import type { Consumer } from "./protocols/roles.ts";
import { nowUs } from "./specs.ts";

const configuration = await nextMessage("configure");
if (!("role" in configuration) || configuration.role !== "consumers") fail(new Error("not a consumers configuration"));
const config = configuration as ConsumersConfig;
exitAfter(config.deadlineMs);

let stopped = false;
let granted = 0;
/** Every acknowledgement passes here first: past the limit (or after stop) none is sent. */
const gate = () => {
  if (stopped) return false;
  if (config.limit !== null && granted >= config.limit) {
    queueMicrotask(stop);
    return false;
  }
  granted++;
  if (config.limit !== null && granted >= config.limit) queueMicrotask(stop);
  return true;
};

let consumers: Consumer[];
try {
  consumers = await Promise.all(config.specs.map((spec) => openConsumer(spec, gate)));
} catch (error) {
  fail(error);
}

function report(): void {
  let total = 0;
  let min = Number.POSITIVE_INFINITY;
  let closed = 0;
  let redelivered = 0;
  for (const consumer of consumers) {
    total += consumer.acked;
    min = Math.min(min, consumer.acked);
    redelivered += consumer.redelivered;
    if (consumer.closed) closed += 1;
  }
  const firstDelivery = consumers.find((consumer) => consumer.firstDelivery !== null)?.firstDelivery ?? null;
  const firstError = consumers.find((consumer) => consumer.firstError !== null)?.firstError ?? null;
  tell({ kind: "progress", total, min, closed, firstDelivery, atUs: nowUs(), redelivered, firstError });
}

function stop(): void {
  if (stopped) return;
  stopped = true;
  clearInterval(reporting);
  report();
  setTimeout(() => void Promise.all(consumers.map((c) => c.close())).finally(() => process.exit(0)), 50);
}

const reporting = setInterval(report, config.reportEveryMs);
onMessage((message) => {
  if (message.kind === "go") {
    Promise.all(consumers.map((consumer) => consumer.start())).catch((error) => fail(error));
  } else if (message.kind === "stop") stop();
});
tell({ kind: "ready" });
