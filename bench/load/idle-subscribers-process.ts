/**
 * Load process: holds `count` idle subscriber connections (WebSocket or bare NATS), opened
 * `concurrency` at a time. Every message carries an index stamped in its payload; the moment
 * every connection of this process has received the message with index k, it reports
 * `reached k` with the time (µs on the shared clock, see nowUs).
 */
import { readFileSync } from "node:fs";
import type { IdleSubscribersConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, onMessage, tell } from "./ipc-child.ts";
import { openSubscriber } from "./protocols/open.ts";
import type { Subscriber } from "./protocols/roles.ts";
import { nowUs, readStamp } from "./specs.ts";

const configuration = await nextMessage("configure");
if (!("role" in configuration) || configuration.role !== "idle-subscribers") fail(new Error("not an idle-subscribers configuration"));
const config = configuration as IdleSubscribersConfig;
exitAfter(config.deadlineMs);

// Bun raises its soft descriptor limit to the hard one at start; check that it is enough.
const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? "0");
if (limit && limit < config.count + 100) {
  fail(new Error(`open-file limit ${limit} is below ${config.count + 100}: raise \`ulimit -n\` (hard) for the harness`));
}

/** Connections that received the message with index k. */
const reached = new Map<number, number>();
const onPayload = (payload: Uint8Array) => {
  const index = readStamp(payload);
  if (index === null) return;
  const count = (reached.get(index) ?? 0) + 1;
  reached.set(index, count);
  if (count === config.count) tell({ kind: "reached", index, atUs: nowUs() });
};

const subscribers: Subscriber[] = [];
try {
  let next = 0;
  const opener = async () => {
    while (next < config.count) {
      next++;
      subscribers.push(await openSubscriber(config.spec, onPayload));
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, config.count) }, opener));
} catch (error) {
  fail(error);
}

function report(): void {
  const closed = subscribers.filter((subscriber) => subscriber.closed).length;
  const received = subscribers.map((subscriber) => subscriber.received);
  tell({ kind: "progress", total: received.reduce((a, b) => a + b, 0), min: Math.min(...received), closed, firstDelivery: subscribers[0]?.firstDelivery ?? null });
}

onMessage((message) => {
  if (message.kind !== "stop") return;
  report();
  setTimeout(() => void Promise.all(subscribers.map((s) => s.close())).finally(() => process.exit(0)), 50);
});
tell({ kind: "ready" });
