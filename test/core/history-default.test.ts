/** [SLOW-2] History on by default for durable queues, and what gives way at the memory limit. */
import { describe, expect, test } from "bun:test";
import type { PublishedMessage } from "../../src/core/message.ts";
import { QueueState } from "../../src/core/queue.ts";
import { DEFAULT_DURABLE_HISTORY_SIZE } from "../../src/core/limits.ts";
import { DEFAULT_QUEUE_ARGS, parseQueueArgs, queueArgsView, withDefaultHistory } from "../../src/core/queue-args.ts";

const msg = (n: number): PublishedMessage => ({ id: `m${n}`, exchange: "x", routingKey: "k", headers: {}, body: String(n), timestamp: 0 });

describe("history_size default", () => {
  test("[SLOW-2] unset: 1,000 for a durable queue, 0 for a transient one; a declared value, 0 included, is kept", () => {
    const unset = parseQueueArgs({});
    const off = parseQueueArgs({ history_size: 0 });
    if (!unset.ok || !off.ok) throw new Error("valid arguments refused");
    expect(unset.value.historySize).toBeUndefined();
    expect(withDefaultHistory(unset.value, true).historySize).toBe(DEFAULT_DURABLE_HISTORY_SIZE);
    expect(withDefaultHistory(unset.value, false).historySize).toBe(0);
    expect(withDefaultHistory(off.value, true).historySize).toBe(0);
    expect(queueArgsView(withDefaultHistory(unset.value, true))).toMatchObject({ history_size: 1_000 });
  });

  test("[SLOW-2] a durable queue retains its last 1,000 messages for since replays", () => {
    const q = new QueueState("q", { durable: false, args: DEFAULT_QUEUE_ARGS });
    const durable = new QueueState("d", { durable: true, args: DEFAULT_QUEUE_ARGS });
    expect(q.args.historySize).toBe(0);
    expect(durable.args.historySize).toBe(1_000);
  });
});

describe("history at the memory limit", () => {
  test("[SLOW-2] forgetHistory frees the oldest retained messages, and the gauge with them", () => {
    const gauge = { bytes: 0 };
    const q = new QueueState("q", { durable: false, gauge, args: { ...DEFAULT_QUEUE_ARGS, historySize: 10 } });
    q.attachSubscriber(); // each message is sent to the subscribers and leaves the queue: only history holds it
    for (let n = 1; n <= 5; n++) q.enqueue(msg(n), 0);
    const one = gauge.bytes / 5;
    expect(q.forgetHistory(2 * one)).toBe(2 * one);
    expect(gauge.bytes).toBe(3 * one);
    expect(q.replay(0)).toMatchObject({ gap: true, firstAvailable: 3 });
    expect(q.forgetHistory(100 * one)).toBe(3 * one);
    expect(gauge.bytes).toBe(0);
  });
});
