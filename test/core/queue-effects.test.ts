/** The effects each queue command returns, in order: pure, time passed in, no sleeping. */
import { describe, expect, test } from "bun:test";
import type { PublishedMessage } from "../../src/core/message.ts";
import { NO_EFFECTS, QueueState, type Effect, type Effects, type QueueOptions } from "../../src/core/queue.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../../src/core/queue-args.ts";

const msg = (n: number, at = 0): PublishedMessage => ({ id: `m${n}`, exchange: "x", routingKey: "k", headers: {}, body: String(n), timestamp: at });
const queue = (options: Partial<QueueOptions> = {}, args: Partial<QueueArgs> = {}) =>
  new QueueState("q", { durable: false, ...options, args: { ...DEFAULT_QUEUE_ARGS, ...args } });
const tags = () => {
  let t = 0;
  return () => ++t;
};

/** One line per effect: what it is and the seqs it names. */
const show = (effects: Effects): string[] => effects.map(line);
const line = (e: Effect): string => {
  switch (e.kind) {
    case "deliverToSubscribers":
    case "persist":
      return `${e.kind} ${e.entry.seq}`;
    case "deliverToConsumer":
      return `${e.kind} ${e.consumer} ${e.entry.seq} tag ${e.tag}${e.redelivered ? " redelivered" : ""}`;
    case "deadLetter":
      return `${e.kind} ${e.entry.seq} ${e.reason}`;
    case "revoke":
      return `${e.kind} ${e.consumer} tag ${e.tag}`;
    case "forget":
    case "retain":
    case "markRedelivered":
      return `${e.kind} ${e.seqs.join(",")}`;
    case "recordDeliveries":
      return `${e.kind} ${e.counts.map(([seq, n]) => `${seq}:${n}`).join(",")}`;
    case "autoDelete":
      return e.kind;
  }
};
const ok = <T>(result: { ok: true; value: T } | { ok: false }): T => {
  if (!result.ok) throw new Error("refused");
  return result.value;
};

type Case = [name: string, run: () => Effects, expected: string[]];

const cases: Case[] = [
  // ---- enqueue
  ["enqueue, nobody attached: waits, nothing to do", () => queue().enqueue(msg(1), 0), []],
  [
    "enqueue, caught-up subscriber, no consumer: to the subscribers (and gone)",
    () => {
      const q = queue();
      q.attachSubscriber();
      return q.enqueue(msg(1), 0);
    },
    ["deliverToSubscribers 1"],
  ],
  [
    "enqueue behind a backlog: waits its turn",
    () => {
      const q = queue();
      q.enqueue(msg(1), 0);
      q.attachSubscriber();
      return q.enqueue(msg(2), 0);
    },
    [],
  ],
  ["enqueue, durable: persist first [COMMIT-1]", () => queue({ durable: true }).enqueue(msg(1), 0), ["persist 1"]],
  [
    "enqueue, durable, subscriber attached: persist, nothing delivered before the commit",
    () => {
      const q = queue({ durable: true });
      q.attachSubscriber();
      return q.enqueue(msg(1), 0);
    },
    ["persist 1"],
  ],
  [
    "enqueue past max_length (drop-head): the oldest dead-lettered as maxlen",
    () => {
      const q = queue({}, { maxLength: 1 });
      q.enqueue(msg(1), 0);
      return q.enqueue(msg(2), 0);
    },
    ["deadLetter 1 maxlen"],
  ],
  [
    "enqueue with subscribers and a consumer past max_length: observed, then the oldest dropped",
    () => {
      const q = queue({}, { maxLength: 1 });
      q.attachConsumer("a", 1);
      q.attachSubscriber();
      q.enqueue(msg(1), 0);
      return q.enqueue(msg(2), 0);
    },
    ["deliverToSubscribers 2", "deadLetter 1 maxlen"],
  ],
  ["enqueue TTL 0, nobody can take it: expired on arrival [TTL0-1]", () => queue({}, { messageTtl: 0 }).enqueue(msg(1), 0), ["deadLetter 1 expired"]],
  [
    "enqueue TTL 0, durable, nobody can take it: persist, and expired on arrival",
    () => queue({ durable: true }, { messageTtl: 0 }).enqueue(msg(1), 0),
    ["persist 1", "deadLetter 1 expired"],
  ],
  ["enqueue delayed: nothing until it is due", () => queue().enqueue(msg(1), 0, { delay: 10 }), []],

  // ---- commit / abandon
  [
    "commit with subscribers and a consumer: the subscribers observe it now",
    () => {
      const q = queue({ durable: true });
      q.attachSubscriber();
      q.attachConsumer("a", 1);
      const [persist] = q.enqueue(msg(1), 0);
      return q.commit((persist as Extract<Effect, { kind: "persist" }>).entry);
    },
    ["deliverToSubscribers 1"],
  ],
  [
    "commit with subscribers only: nothing, the backlog sends it",
    () => {
      const q = queue({ durable: true });
      q.attachSubscriber();
      const [persist] = q.enqueue(msg(1), 0);
      return q.commit((persist as Extract<Effect, { kind: "persist" }>).entry);
    },
    [],
  ],

  // ---- subscribers
  [
    "nextForSubscribers: one message per command [SLOW-1]",
    () => {
      const q = queue();
      q.enqueue(msg(1), 0);
      q.enqueue(msg(2), 0);
      q.attachSubscriber();
      return q.nextForSubscribers(0);
    },
    ["deliverToSubscribers 1"],
  ],
  [
    "nextForSubscribers: expired ones on the way are dead-lettered first",
    () => {
      const q = queue({}, { messageTtl: 10 });
      q.enqueue(msg(1, 0), 0);
      q.enqueue(msg(2, 5), 5);
      q.attachSubscriber();
      return q.nextForSubscribers(12);
    },
    ["deadLetter 1 expired", "deliverToSubscribers 2"],
  ],
  [
    "nextForSubscribers with a consumer attached: consumers own the backlog",
    () => {
      const q = queue();
      q.enqueue(msg(1), 0);
      q.attachConsumer("a", 0);
      q.attachSubscriber();
      return q.nextForSubscribers(0);
    },
    [],
  ],
  [
    "detachSubscriber, the last user of an auto-delete queue: autoDelete",
    () => {
      const q = queue({}, { autoDelete: true });
      q.attachSubscriber();
      return q.detachSubscriber();
    },
    ["autoDelete"],
  ],
  ["detachSubscriber when none is attached: nothing", () => queue({}, { autoDelete: true }).detachSubscriber(), []],

  // ---- consumers
  [
    "dispatch: round robin within prefetch, tags passed in",
    () => {
      const q = queue();
      q.attachConsumer("a", 1);
      q.attachConsumer("b", 1);
      for (let n = 1; n <= 3; n++) q.enqueue(msg(n), 0);
      return q.dispatch(0, tags());
    },
    ["deliverToConsumer a 1 tag 1", "deliverToConsumer b 2 tag 2"],
  ],
  [
    "dispatch: deliveries first, then the dead letters met on the way",
    () => {
      const q = queue({}, { messageTtl: 10 });
      q.attachConsumer("a", 0);
      q.enqueue(msg(1, 0), 0);
      q.enqueue(msg(2, 20), 20);
      return q.dispatch(20, tags());
    },
    ["deliverToConsumer a 2 tag 1", "deadLetter 1 expired"],
  ],
  [
    "detachConsumer: what it held goes back (no effect); an auto-delete queue's last user: autoDelete",
    () => {
      const q = queue({}, { autoDelete: true });
      q.attachConsumer("a", 1);
      q.enqueue(msg(1), 0);
      q.dispatch(0, tags());
      return q.detachConsumer("a");
    },
    ["autoDelete"],
  ],
  [
    "detachConsumer holding one at its delivery limit: dead-lettered",
    () => {
      const q = queue({}, { deliveryLimit: 1 });
      q.attachConsumer("a", 1);
      q.enqueue(msg(1), 0);
      q.dispatch(0, tags());
      return q.detachConsumer("a");
    },
    ["deadLetter 1 delivery_limit"],
  ],
  [
    "ack: no effect",
    () => {
      const q = queue();
      q.attachConsumer("a", 1);
      q.enqueue(msg(1), 0);
      q.dispatch(0, tags());
      return ok(q.ack("a", 1));
    },
    [],
  ],
  [
    "nack without requeue: rejected",
    () => {
      const q = queue();
      q.attachConsumer("a", 1);
      q.enqueue(msg(1), 0);
      q.dispatch(0, tags());
      return ok(q.nack("a", 1, false));
    },
    ["deadLetter 1 rejected"],
  ],
  [
    "nack with requeue, then dispatch: redelivered",
    () => {
      const q = queue();
      q.attachConsumer("a", 1);
      q.enqueue(msg(1), 0);
      const next = tags();
      q.dispatch(0, next);
      ok(q.nack("a", 1, true));
      return q.dispatch(0, next);
    },
    ["deliverToConsumer a 1 tag 2 redelivered"],
  ],

  // ---- time
  ["tick, nothing due: nothing", () => queue({}, { messageTtl: 100 }).tick(50), []],
  [
    "tick: revokes first, then released messages, then dead letters",
    () => {
      const q = queue({ ackTimeoutMs: 100 }, { messageTtl: 50 });
      q.attachConsumer("a", 1);
      q.attachSubscriber();
      q.enqueue(msg(1, 0), 0); // observed at once, handed to a
      q.dispatch(0, tags());
      q.enqueue(msg(2, 60), 0, { delay: 100 }); // due at 100 (expires at 110), observed when released
      q.enqueue(msg(3, 0), 0); // expires at 50
      return q.tick(100);
    },
    // 1 came back after the expiry sweep: the next dispatch or tick expires it.
    ["revoke a tag 1", "deliverToSubscribers 2", "deadLetter 3 expired"],
  ],

  // ---- durability
  [
    "checkpoint: the seqs that left, once: delivered ones retained as history [HIST-2]",
    () => {
      const q = queue({ durable: true });
      q.attachConsumer("a", 2);
      for (const n of [1, 2]) {
        const [persist] = q.enqueue(msg(n), 0);
        q.commit((persist as Extract<Effect, { kind: "persist" }>).entry);
      }
      q.dispatch(0, tags());
      ok(q.ack("a", 2));
      ok(q.ack("a", 1));
      return [...q.checkpoint(), ...q.checkpoint()];
    },
    ["retain 2,1"],
  ],
  [
    "checkpoint: dropped ones (never delivered) are forgotten, the delivered one retained [HIST-1] [HIST-2]",
    () => {
      const q = queue({ durable: true }, { maxLength: 1 });
      q.attachConsumer("a", 1);
      for (const n of [1, 2, 3]) {
        const [persist] = q.enqueue(msg(n), 0);
        q.commit((persist as Extract<Effect, { kind: "persist" }>).entry);
      }
      q.dispatch(0, tags());
      ok(q.ack("a", 1));
      return q.checkpoint();
    },
    ["forget 1,2", "retain 3"],
  ],
  [
    "[HIST-3] checkpoint: what left past the history window (history_size 2 of lastSeq 5) is forgotten, the rest retained",
    () => {
      const q = queue({ durable: true }, { historySize: 2 });
      q.attachConsumer("a", 5);
      for (const n of [1, 2, 3, 4, 5]) {
        const [persist] = q.enqueue(msg(n), 0);
        q.commit((persist as Extract<Effect, { kind: "persist" }>).entry);
      }
      q.dispatch(0, tags());
      for (const tag of [5, 1, 4, 3, 2]) ok(q.ack("a", tag));
      return q.checkpoint();
    },
    ["forget 1,3,2", "retain 5,4"],
  ],
  [
    "checkpoint after a failed one: retryRemovals puts them back",
    () => {
      const q = queue({ durable: true });
      q.retryRemovals([[3, 5]]);
      return q.checkpoint();
    },
    ["forget 3,4,5"],
  ],
  [
    "recordDeliveries: [seq, deliveries] of durable messages handed out, once [COUNT-1]",
    () => {
      const q = queue({ durable: true });
      q.attachConsumer("a", 1);
      const [persist] = q.enqueue(msg(1), 0);
      q.commit((persist as Extract<Effect, { kind: "persist" }>).entry);
      q.dispatch(0, tags());
      return [...q.recordDeliveries(), ...q.recordDeliveries()];
    },
    ["recordDeliveries 1:1"],
  ],
  [
    "close: held by consumers and left since the last checkpoint are marked redelivered [REDELIVERED-1]",
    () => {
      const q = queue({ durable: true });
      q.attachConsumer("a", 2);
      for (const n of [1, 2]) {
        const [persist] = q.enqueue(msg(n), 0);
        q.commit((persist as Extract<Effect, { kind: "persist" }>).entry);
      }
      q.dispatch(0, tags());
      ok(q.ack("a", 1));
      return q.close();
    },
    ["markRedelivered 2,1"],
  ],
];

describe("queue commands: their effects, in order", () => {
  test.each(cases)("%s", (_name, run, expected) => {
    expect(show(run())).toEqual(expected);
  });

  test("a command with nothing to ask returns the shared NO_EFFECTS (no allocation on the hot path)", () => {
    const q = queue();
    expect(q.enqueue(msg(1), 0)).toBe(NO_EFFECTS);
    expect(q.dispatch(0, tags())).toBe(NO_EFFECTS);
    expect(q.tick(0)).toBe(NO_EFFECTS);
    expect(q.checkpoint()).toBe(NO_EFFECTS);
  });
});
