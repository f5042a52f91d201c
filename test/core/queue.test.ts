import { describe, expect, test } from "bun:test";
import { MESSAGE_OVERHEAD_BYTES, messageBytes, type PublishedMessage } from "../../src/core/message.ts";
import { QueueState, type Effect, type Effects } from "../../src/core/queue.ts";
import { DEFAULT_QUEUE_ARGS, parseQueueArgs, type QueueArgs } from "../../src/core/queue-args.ts";

const msg = (n: number, at = 0): PublishedMessage => ({ id: `m${n}`, exchange: "x", routingKey: "k", headers: {}, body: String(n), timestamp: at });
const args = (over: Partial<QueueArgs>): QueueArgs => ({ ...DEFAULT_QUEUE_ARGS, ...over });
const tags = () => {
  let t = 0;
  return () => ++t;
};
const bodies = (xs: readonly { entry: { message: PublishedMessage } }[]) => xs.map((x) => Number(x.entry.message.body));
const of = <K extends Effect["kind"]>(kind: K, effects: Effects) => effects.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
/** The deliveries to consumers among a command's effects. */
const handed = (effects: Effects) => of("deliverToConsumer", effects);
const deadOf = (effects: Effects) => of("deadLetter", effects);
const reasons = (effects: Effects) => deadOf(effects).map((d) => [d.entry.seq, d.reason]);
/** Whether the command sent the message to the subscribers at once. */
const live = (effects: Effects) => of("deliverToSubscribers", effects).length > 0;
/** The entry a durable queue asks to store. */
const persisted = (effects: Effects) => of("persist", effects)[0]!.entry;
/** Up to `max` backlog messages for the subscribers, one command each, as the broker drains [SLOW-1]. */
const drain = (q: QueueState, now: number, max = Infinity) => {
  const seqs: number[] = [];
  for (let i = 0; i < max; i++) {
    const effects = q.nextForSubscribers(now);
    if (effects.length === 0) break;
    seqs.push(...of("deliverToSubscribers", effects).map((e) => e.entry.seq));
  }
  return seqs;
};
/** The seqs a checkpoint would have the store forget. */
/** Seqs that left a durable queue since the last checkpoint: forgotten, or [HIST-2] retained as history. */
const removed = (q: QueueState) => {
  const effects = q.checkpoint();
  return [...of("forget", effects), ...of("retain", effects)].flatMap((f) => f.seqs);
};

describe("queue: consumers", () => {
  test("each message goes to exactly one consumer, round robin, within prefetch", () => {
    const q = new QueueState("q", { durable: false });
    q.attachConsumer("a", 2);
    q.attachConsumer("b", 2);
    for (let i = 1; i <= 6; i++) q.enqueue(msg(i), 0);
    const dispatches = handed(q.dispatch(0, tags()));
    expect(dispatches.map((d) => d.consumer)).toEqual(["a", "b", "a", "b"]);
    expect(bodies(dispatches)).toEqual([1, 2, 3, 4]);
    expect(q.depth).toBe(2);
    expect(q.unacked).toBe(4);
  });

  test("ack frees credit; an unknown or repeated tag is refused", () => {
    const q = new QueueState("q", { durable: true });
    q.attachConsumer("a", 1);
    q.commit(persisted(q.enqueue(msg(1), 0)));
    q.commit(persisted(q.enqueue(msg(2), 0)));
    const next = tags();
    const [first] = handed(q.dispatch(0, next));
    expect(handed(q.dispatch(0, next))).toHaveLength(0);
    expect(q.ack("a", first!.tag).ok).toBe(true);
    const again = q.ack("a", first!.tag);
    expect(again.ok || again.error.code).toBe("D001");
    expect(q.ack("other", 99).ok).toBe(false);
    expect(bodies(handed(q.dispatch(0, next)))).toEqual([2]);
    expect(removed(q)).toEqual([1]);
  });

  test("a consumer that leaves puts its messages back at the head, in order, redelivered", () => {
    const q = new QueueState("q", { durable: false });
    q.attachConsumer("a", 3);
    for (let i = 1; i <= 5; i++) q.enqueue(msg(i), 0);
    const next = tags();
    q.dispatch(0, next);
    q.detachConsumer("a");
    q.attachConsumer("b", 10);
    const dispatches = handed(q.dispatch(0, next));
    expect(bodies(dispatches)).toEqual([1, 2, 3, 4, 5]);
    expect(dispatches.map((d) => d.redelivered)).toEqual([true, true, true, false, false]);
  });

  test("nack requeue puts it back first; nack without requeue dead-letters it as rejected", () => {
    const q = new QueueState("q", { durable: false });
    q.attachConsumer("a", 1);
    q.enqueue(msg(1), 0);
    q.enqueue(msg(2), 0);
    const next = tags();
    const [d1] = handed(q.dispatch(0, next));
    expect(q.nack("a", d1!.tag, true).ok).toBe(true);
    const [d2] = handed(q.dispatch(0, next));
    expect(bodies([d2!])).toEqual([1]);
    expect(d2!.redelivered).toBe(true);
    const rejected = q.nack("a", d2!.tag, false);
    expect(rejected.ok && deadOf(rejected.value).map((d) => d.reason)).toEqual(["rejected"]);
  });

  test("past the delivery limit a message is dead-lettered instead of requeued", () => {
    const q = new QueueState("q", { durable: false, args: args({ deliveryLimit: 2 }) });
    q.attachConsumer("a", 1);
    q.enqueue(msg(1), 0);
    const next = tags();
    const first = handed(q.dispatch(0, next))[0]!;
    expect(q.nack("a", first.tag, true).ok && q.depth).toBe(1);
    const second = handed(q.dispatch(0, next))[0]!;
    const dead = q.nack("a", second.tag, true);
    expect(dead.ok && deadOf(dead.value).map((d) => d.reason)).toEqual(["delivery_limit"]);
    expect(q.depth).toBe(0);
  });

  test("an unacked delivery past the ack timeout comes back", () => {
    const q = new QueueState("q", { durable: false, ackTimeoutMs: 1000 });
    q.attachConsumer("a", 1);
    q.enqueue(msg(1), 0);
    const next = tags();
    const first = handed(q.dispatch(0, next))[0]!;
    q.tick(999);
    expect(q.unacked).toBe(1);
    expect(of("revoke", q.tick(1000))).toEqual([{ kind: "revoke", consumer: "a", tag: first.tag }]);
    expect(q.unacked).toBe(0);
    const again = handed(q.dispatch(1000, next))[0]!;
    expect(again.redelivered).toBe(true);
    expect(q.ack("a", first.tag).ok).toBe(false);
  });
});

describe("queue: subscribers", () => {
  test("with subscribers and no consumer a message is observed and leaves at once", () => {
    const q = new QueueState("q", { durable: false });
    q.attachSubscriber();
    expect(live(q.enqueue(msg(1), 0))).toBe(true);
    expect(q.depth).toBe(0);
  });

  test("a backlog goes to subscribers first, in order; new messages wait behind it", () => {
    const q = new QueueState("q", { durable: false });
    q.enqueue(msg(1), 0);
    q.enqueue(msg(2), 0);
    q.attachSubscriber();
    expect(live(q.enqueue(msg(3), 0))).toBe(false);
    expect(drain(q, 0, 2)).toEqual([1, 2]);
    expect(drain(q, 0, 10)).toEqual([3]);
    expect(live(q.enqueue(msg(4), 0))).toBe(true);
  });

  test("with consumers, subscribers observe while consumers own the message", () => {
    const q = new QueueState("q", { durable: false });
    q.attachSubscriber();
    q.attachConsumer("a", 10);
    expect(live(q.enqueue(msg(1), 0))).toBe(true);
    expect(q.depth).toBe(1);
    expect(bodies(handed(q.dispatch(0, tags())))).toEqual([1]);
  });

  test("replay gives retained messages after since, and says when history no longer reaches back", () => {
    const q = new QueueState("q", { durable: false, args: args({ historySize: 3 }) });
    q.attachSubscriber();
    for (let i = 1; i <= 5; i++) q.enqueue(msg(i), 0);
    expect(q.replay(3)).toEqual(expect.objectContaining({ gap: false, firstAvailable: 3 }));
    expect(q.replay(3).entries.map((e) => e.seq)).toEqual([4, 5]);
    expect(q.replay(0).gap).toBe(true);
    expect(q.replay(0).entries.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(q.replay(5).entries).toEqual([]);
  });
});

describe("queue: limits and time", () => {
  test("drop-head: the oldest make room and are dead-lettered as maxlen", () => {
    const q = new QueueState("q", { durable: false, args: args({ maxLength: 2 }) });
    q.enqueue(msg(1), 0);
    q.enqueue(msg(2), 0);
    const third = q.enqueue(msg(3), 0);
    expect(reasons(third)).toEqual([[1, "maxlen"]]);
    expect(q.depth).toBe(2);
  });

  test("reject-publish: a full queue refuses before anything is enqueued", () => {
    const q = new QueueState("q", { durable: false, args: args({ maxLength: 1, overflow: "reject-publish" }) });
    expect(q.admits(10)).toBe(true);
    q.enqueue(msg(1), 0);
    expect(q.admits(10)).toBe(false);
  });

  test("message_ttl and per-message ttl expire waiting messages as expired", () => {
    const q = new QueueState("q", { durable: false, args: args({ messageTtl: 100 }) });
    q.enqueue(msg(1, 0), 0);
    q.enqueue(msg(2, 50), 50, { ttl: 10 });
    expect(deadOf(q.tick(59))).toEqual([]);
    expect(reasons(q.tick(60))).toEqual([[2, "expired"]]);
    expect(deadOf(q.tick(100)).map((d) => d.entry.seq)).toEqual([1]);
    expect(q.depth).toBe(0);
  });

  test("a delayed message is not delivered before its time", () => {
    const q = new QueueState("q", { durable: false });
    q.attachConsumer("a", 10);
    q.enqueue(msg(1), 0, { delay: 500 });
    q.enqueue(msg(2), 0);
    const next = tags();
    expect(bodies(handed(q.dispatch(0, next)))).toEqual([2]);
    q.tick(499);
    expect(handed(q.dispatch(499, next))).toEqual([]);
    q.tick(500);
    expect(bodies(handed(q.dispatch(500, next)))).toEqual([1]);
  });
});

describe("queue arguments", () => {
  test.each([
    [{ max_length: -1 }, "VALIDATION"],
    [{ max_length: 1.5 }, "VALIDATION"],
    [{ overflow: "drop-tail" }, "VALIDATION"],
    [{ delivery_limit: 0 }, "VALIDATION"],
    [{ dead_letter_exchange: "\u0001" }, "INVALID_NAME"],
    [{ exclusive: "yes" }, "VALIDATION"],
    [{ history_size: 10_000_000 }, "VALIDATION"],
  ])("%j is refused with %s", (input, code) => {
    const parsed = parseQueueArgs(input);
    expect(parsed.ok ? "accepted" : parsed.error.code).toBe(code);
  });

  test("defaults: drop-head, delivery limit 20, no history", () => {
    const parsed = parseQueueArgs({});
    expect(parsed.ok && parsed.value).toEqual(DEFAULT_QUEUE_ARGS);
  });
});

describe("queue: memory accounting", () => {
  test("[MEM-2] retained history counts against the gauge, and stops counting once forgotten", () => {
    const gauge = { bytes: 0 };
    const q = new QueueState("q", { durable: false, gauge, args: args({ historySize: 2 }) });
    q.attachSubscriber(); // each message is observed and leaves the queue at once
    q.enqueue(msg(1), 0);
    const one = gauge.bytes;
    expect(one).toBeGreaterThan(0);
    q.enqueue(msg(2), 0);
    q.enqueue(msg(3), 0);
    expect(gauge.bytes).toBe(2 * one);
    q.release();
    expect(gauge.bytes).toBe(0);
  });
});

describe("queue: [COMMIT-1] durable messages are delivered only once committed", () => {
  test("consumers get nothing before the commit, then everything in order", () => {
    const q = new QueueState("q", { durable: true });
    q.attachConsumer("a", 10);
    const first = persisted(q.enqueue(msg(1), 0));
    const second = persisted(q.enqueue(msg(2), 0));
    const next = tags();
    expect(handed(q.dispatch(0, next))).toEqual([]);
    q.commit(first);
    expect(bodies(handed(q.dispatch(0, next)))).toEqual([1]);
    q.commit(second);
    expect(bodies(handed(q.dispatch(0, next)))).toEqual([2]);
  });

  test("subscribers get an uncommitted message through the backlog once it is committed", () => {
    const q = new QueueState("q", { durable: true });
    q.attachSubscriber();
    const enqueued = q.enqueue(msg(1), 0);
    expect(live(enqueued)).toBe(false);
    expect(drain(q, 0, 10)).toEqual([]);
    expect(live(q.commit(persisted(enqueued)))).toBe(false); // no consumer: the backlog path sends it
    expect(drain(q, 0, 10)).toEqual([1]);
    expect(removed(q)).toEqual([1]);
  });

  test("with consumers, subscribers observe at the commit", () => {
    const q = new QueueState("q", { durable: true });
    q.attachSubscriber();
    q.attachConsumer("a", 10);
    const enqueued = q.enqueue(msg(1), 0);
    const entry = persisted(enqueued);
    expect(live(enqueued)).toBe(false);
    expect(live(q.commit(entry))).toBe(true);
    expect(live(q.commit(entry))).toBe(false);
  });

  test("a message the store refused leaves without being delivered, and does not block the next", () => {
    const gauge = { bytes: 0 };
    const q = new QueueState("q", { durable: true, gauge });
    q.attachConsumer("a", 10);
    const refused = persisted(q.enqueue(msg(1), 0));
    const kept = persisted(q.enqueue(msg(2), 0));
    q.abandon(refused);
    q.commit(kept);
    expect(bodies(handed(q.dispatch(0, tags())))).toEqual([2]);
    expect(q.depth).toBe(0);
  });

  test("[RESUME-3] waiting messages count as available: no false GAP", () => {
    const q = new QueueState("q", { durable: false });
    q.enqueue(msg(1), 0);
    q.enqueue(msg(2), 0);
    expect(q.replay(0)).toEqual({ entries: [], firstAvailable: 1, gap: false });
  });
});

describe("queue: [TTL0-1] message_ttl 0 delivers at once or expires (RabbitMQ)", () => {
  const zero = () => new QueueState("q", { durable: false, args: args({ messageTtl: 0 }) });

  test("a consumer with credit gets it, even in a later millisecond", () => {
    const q = zero();
    q.attachConsumer("a", 1);
    expect(deadOf(q.enqueue(msg(1, 0), 0))).toEqual([]);
    expect(bodies(handed(q.dispatch(5, tags())))).toEqual([1]);
  });

  test("no consumer: it expires on arrival", () => {
    const q = zero();
    expect(reasons(q.enqueue(msg(1), 0))).toEqual([[1, "expired"]]);
    expect(q.depth).toBe(0);
  });

  test("no credit left, or as many waiting ahead as there is credit: it expires on arrival", () => {
    const q = zero();
    q.attachConsumer("a", 2);
    const next = tags();
    q.enqueue(msg(1), 0);
    q.enqueue(msg(2), 0);
    expect(handed(q.dispatch(0, next))).toHaveLength(2);
    expect(reasons(q.enqueue(msg(3), 0))).toEqual([[3, "expired"]]);

    const ahead = new QueueState("q", { durable: false, args: args({ messageTtl: 0 }) });
    ahead.attachConsumer("a", 2);
    expect(deadOf(ahead.enqueue(msg(1), 0))).toEqual([]);
    expect(deadOf(ahead.enqueue(msg(2), 0))).toEqual([]);
    expect(reasons(ahead.enqueue(msg(3), 0))).toEqual([[3, "expired"]]);
    expect(bodies(handed(ahead.dispatch(0, tags())))).toEqual([1, 2]);
  });

  test("a per-message ttl of 0 behaves the same; with a delay it has passed by the release", () => {
    const q = new QueueState("q", { durable: false });
    q.attachConsumer("a", 10);
    q.enqueue(msg(1), 0, { ttl: 0 });
    q.enqueue(msg(2), 0, { ttl: 0, delay: 10 });
    expect(bodies(handed(q.dispatch(0, tags())))).toEqual([1]);
    expect(reasons(q.tick(10))).toEqual([[2, "expired"]]);
  });

  test("durable: decided on arrival, handed out by the dispatch after the commit", () => {
    const q = new QueueState("q", { durable: true, args: args({ messageTtl: 0 }) });
    q.attachConsumer("a", 1);
    const enqueued = q.enqueue(msg(1, 0), 0);
    const entry = persisted(enqueued);
    expect(deadOf(enqueued)).toEqual([]);
    const next = tags();
    expect(handed(q.dispatch(1, next))).toEqual([]); // not committed yet
    q.commit(entry);
    expect(bodies(handed(q.dispatch(2, next)))).toEqual([1]);
  });

  test("durable: the consumer left before the commit: the next dispatch or tick expires it", () => {
    const q = new QueueState("q", { durable: true, args: args({ messageTtl: 0 }) });
    q.attachConsumer("a", 1);
    const entry = persisted(q.enqueue(msg(1, 0), 0));
    q.detachConsumer("a");
    q.commit(entry);
    expect(reasons(q.tick(1))).toEqual([[1, "expired"]]);
    expect(q.depth).toBe(0);
  });

  test("handed out, then given back: its TTL has passed, the next dispatch expires it", () => {
    const q = zero();
    q.attachConsumer("a", 1);
    q.enqueue(msg(1, 0), 0);
    const next = tags();
    const [first] = handed(q.dispatch(0, next));
    q.nack("a", first!.tag, true);
    const again = q.dispatch(1, next);
    expect(handed(again)).toEqual([]);
    expect(reasons(again)).toEqual([[1, "expired"]]);
  });

  test("caught-up subscribers and no consumer: sent at once; restored after a restart: expired", () => {
    const q = zero();
    q.attachSubscriber();
    const sent = q.enqueue(msg(1), 0);
    expect([live(sent), deadOf(sent)]).toEqual([true, []]);
    const restored = new QueueState("q", { durable: true, args: args({ messageTtl: 0 }) });
    restored.attachConsumer("a", 1);
    restored.restore(1, msg(1, 0), { expiresAt: 0, redelivered: true });
    expect(reasons(restored.dispatch(5, tags()))).toEqual([[1, "expired"]]);
  });
});

describe("queue: [HIST-1] history replays the stream, not what the queue threw away", () => {
  test("messages max_length dropped before anyone had them are not replayed; no GAP for them either", () => {
    const q = new QueueState("q", { durable: false, args: args({ historySize: 10, maxLength: 2 }) });
    for (let i = 1; i <= 5; i++) q.enqueue(msg(i), 0);
    // 1–3 were dropped (dead-lettered as maxlen), 4–5 wait and reach a subscriber through the backlog.
    expect(q.replay(0)).toEqual({ entries: [], firstAvailable: 1, gap: false });
    q.attachSubscriber();
    expect(drain(q, 0, 10)).toEqual([4, 5]);
    expect(q.replay(0).entries.map((e) => e.seq)).toEqual([4, 5]);
  });

  test("expired and purged ones are not replayed; what subscribers saw or a consumer had is", () => {
    const q = new QueueState("q", { durable: false, args: args({ historySize: 10, messageTtl: 100 }) });
    q.attachConsumer("a", 1);
    q.attachSubscriber();
    q.enqueue(msg(1, 0), 0); // seen by the subscribers at once, handed to the consumer
    const next = tags();
    const [first] = handed(q.dispatch(0, next));
    q.detachSubscriber();
    q.enqueue(msg(2, 0), 0); // nobody sees these two: they expire
    q.enqueue(msg(3, 0), 0);
    expect(q.nack("a", first!.tag, false).ok).toBe(true); // rejected, after it was delivered
    q.detachConsumer("a");
    expect(reasons(q.tick(100))).toEqual([[2, "expired"], [3, "expired"]]);
    q.enqueue(msg(4, 200), 200); // nobody sees it: purged
    expect(q.purge()).toBe(1);
    expect(q.replay(0).entries.map((e) => e.seq)).toEqual([1]);
  });
});

describe("queue: [BYTES-1] what counts toward max_bytes, exactly", () => {
  test("body, key, exchange, id and headers as JSON, in characters, plus MESSAGE_OVERHEAD_BYTES", () => {
    const q = new QueueState("q", { durable: false, args: args({ maxBytes: 1_000, overflow: "reject-publish" }) });
    const plain: PublishedMessage = { id: "m1", exchange: "x", routingKey: "k", headers: {}, body: '"' + "b".repeat(98) + '"', timestamp: 0 };
    expect(messageBytes(plain)).toBe(100 + 1 + 1 + 2 + MESSAGE_OVERHEAD_BYTES);
    const headed: PublishedMessage = { ...plain, headers: { a: "b" } };
    expect(messageBytes(headed)).toBe(messageBytes(plain) + JSON.stringify({ a: "b" }).length);
    q.enqueue(plain, 0);
    q.enqueue(headed, 0);
    expect(q.bytes).toBe(2 * messageBytes(plain) + 9);
    // 1000 - 345 = 655 left: four more plain ones (4 × 168 = 672) do not fit, three do.
    expect([1, 2, 3, 4].map(() => q.admits(messageBytes(plain)) && (q.enqueue({ ...plain }, 0), true))).toEqual([true, true, true, false]);
  });
});

describe("queue: [LIMIT-1] delayed messages count toward the limits", () => {
  test("reject-publish refuses once delayed messages fill max_length", () => {
    const q = new QueueState("q", { durable: false, args: args({ maxLength: 2, overflow: "reject-publish" }) });
    for (let i = 1; i <= 2; i++) {
      expect(q.admits(messageBytes(msg(i)))).toBe(true);
      q.enqueue(msg(i), 0, { delay: 1_000 });
    }
    expect(q.admits(messageBytes(msg(3)))).toBe(false);
    expect(q.depth).toBe(2);
  });

  test("max_bytes and the bytes shown count delayed messages, and stop counting them once released or purged", () => {
    const size = messageBytes(msg(1));
    const q = new QueueState("q", { durable: false, args: args({ maxBytes: size * 2, overflow: "reject-publish" }) });
    q.enqueue(msg(1), 0, { delay: 1_000 });
    q.enqueue(msg(2), 0, { delay: 1_000 });
    expect(q.bytes).toBe(size * 2);
    expect(q.admits(size)).toBe(false);
    q.tick(1_000); // released: ready now, still counted once
    expect(q.bytes).toBe(size * 2);
    expect(q.purge()).toBe(2);
    expect(q.bytes).toBe(0);
    expect(q.admits(size)).toBe(true);
  });
});
