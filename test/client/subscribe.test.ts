/** Subscribing: every message, in order, through one handler call at a time; resume with since. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Gap, type Message, type PubsubClient } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { range, rejection, until } from "./support/collect.ts";

let broker: BrokerProcess;
let admin: PubsubClient;
const clients: PubsubClient[] = [];
const client = () => {
  const c = connect(broker.url);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  broker = await startBroker();
  admin = client();
}, 30_000);
afterAll(async () => {
  for (const c of clients) await c.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

describe("subscribe", () => {
  test("gets the waiting backlog, then live messages, in order, one handler call at a time", async () => {
    await admin.queues.declare({ name: "feed" });
    for (const n of range(1, 5)) await admin.publish("", "feed", n);
    const received: number[] = [];
    let running = 0;
    let overlapped = false;
    await client().subscribe<number>("feed", async (m) => {
      overlapped ||= ++running > 1;
      await Bun.sleep(1);
      received.push(m.body);
      running--;
    });
    for (const n of range(6, 20)) void admin.publish("", "feed", n);
    await until(() => received.length === 20, 5_000, "20 messages");
    expect(received).toEqual(range(1, 20));
    expect(overlapped).toBe(false);
  });

  test("[BATCH-1] batch: true gets the backlog and bursts in MESSAGES frames, still one message per handler call, in order", async () => {
    await admin.queues.declare({ name: "batched-feed" });
    for (const n of range(1, 50)) await admin.publish("", "batched-feed", n);
    const received: number[] = [];
    await client().subscribe<number>("batched-feed", (m) => void received.push(m.body), { batch: true });
    await Promise.all(range(51, 2_000).map((n) => admin.publish("", "batched-feed", n)));
    await until(() => received.length === 2_000, 10_000, "2,000 messages");
    expect(received).toEqual(range(1, 2_000));
  });

  test("a message carries its queue, seq, exchange, routing key, headers and timestamp", async () => {
    await admin.exchanges.declare({ name: "shapes", type: "topic" });
    await admin.queues.declare({ name: "shapes-q" });
    await admin.bindings.declare({ exchange_name: "shapes", queue_name: "shapes-q", key: "a.#" });
    const received: Message<{ k: number }>[] = [];
    await client().subscribe<{ k: number }>("shapes-q", (m) => void received.push(m));
    await admin.publish("shapes", "a.b", { k: 1 }, { headers: { h: "v" } });
    await until(() => received.length === 1);
    const [m] = received;
    expect(m).toMatchObject({ body: { k: 1 }, queue: "shapes-q", seq: 1, exchange: "shapes", routing_key: "a.b", headers: { h: "v" } });
    expect(m!.unique_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(m!.timestamp - Date.now())).toBeLessThan(60_000);
    expect(Object.keys(m!)).not.toContain("TTL");
  });

  test("since replays what the queue retained after that seq (history_size), then goes live", async () => {
    await admin.queues.declare({ name: "history", history_size: 100 });
    const steady = client();
    const seen: number[] = [];
    await steady.subscribe<number>("history", (m) => void seen.push(m.seq));
    for (const n of range(1, 10)) await admin.publish("", "history", n);
    await until(() => seen.length === 10);

    const later = client();
    const replayed: number[] = [];
    const subscription = await later.subscribe<number>("history", (m) => void replayed.push(m.body), { since: 6 });
    await until(() => replayed.length === 4);
    await admin.publish("", "history", 11);
    await until(() => replayed.length === 5);
    expect(replayed).toEqual([7, 8, 9, 10, 11]);
    expect(subscription.lastSeq).toBe(11);
  });

  test("a resume further back than the history reaches is told with onGap", async () => {
    await admin.queues.declare({ name: "short-history", history_size: 2 });
    const steady = client();
    let count = 0;
    await steady.subscribe("short-history", () => void count++);
    for (const n of range(1, 6)) await admin.publish("", "short-history", n);
    await until(() => count === 6);

    const gaps: Gap[] = [];
    const replayed: number[] = [];
    await client().subscribe<number>("short-history", (m) => void replayed.push(m.body), { since: 1, onGap: (gap) => void gaps.push(gap) });
    await until(() => replayed.length === 2);
    expect(gaps).toEqual([{ queue_name: "short-history", since: 1, first_available_seq: 5 }]);
    expect(replayed).toEqual([5, 6]);
  });

  test("a handler that throws is reported and the subscription carries on", async () => {
    await admin.queues.declare({ name: "throwing" });
    const errors: unknown[] = [];
    const received: number[] = [];
    await client().subscribe<number>(
      "throwing",
      (m) => {
        if (m.body === 2) throw new Error("boom");
        received.push(m.body);
      },
      { onError: (error, message) => void errors.push([(error as Error).message, message.body]) },
    );
    for (const n of range(1, 3)) await admin.publish("", "throwing", n);
    await until(() => received.length === 2);
    expect(received).toEqual([1, 3]);
    expect(errors).toEqual([["boom", 2]]);
  });

  test("a missing queue rejects with Q002; a second subscription to one queue on one client is refused", async () => {
    const c = client();
    expect(await rejection(c.subscribe("nowhere", () => {}))).toMatchObject({ code: "Q002" });
    await admin.queues.declare({ name: "once" });
    await c.subscribe("once", () => {});
    expect(await rejection(c.subscribe("once", () => {}))).toMatchObject({ code: "ALREADY_ATTACHED" });
  });

  test("declare: the queue is declared before SUBSCRIBE", async () => {
    const received: unknown[] = [];
    await client().subscribe("declared-by-subscriber", (m) => void received.push(m.body), { declare: { history_size: 10 } });
    expect((await admin.queues.get("declared-by-subscriber")).arguments).toMatchObject({ history_size: 10 });
    await admin.publish("", "declared-by-subscriber", "hi");
    await until(() => received.length === 1);
  });

  test("deleting the queue ends the subscription with Q002", async () => {
    await admin.queues.declare({ name: "doomed" });
    const subscription = await client().subscribe("doomed", () => {});
    await admin.queues.delete("doomed");
    expect(await subscription.closed).toMatchObject({ code: "Q002" });
  });

  test("close() unsubscribes: later messages wait in the queue", async () => {
    await admin.queues.declare({ name: "closed-sub" });
    const c = client();
    const received: number[] = [];
    const subscription = await c.subscribe<number>("closed-sub", (m) => void received.push(m.body));
    await admin.publish("", "closed-sub", 1);
    await until(() => received.length === 1);
    await subscription.close();
    expect(await subscription.closed).toBeUndefined();
    await admin.publish("", "closed-sub", 2);
    expect(await admin.queues.get("closed-sub")).toMatchObject({ subscribers: 0, messages: 1 });
    expect(received).toEqual([1]);
    // The queue may be subscribed to again on the same client.
    await c.subscribe<number>("closed-sub", (m) => void received.push(m.body));
    await until(() => received.length === 2);
  });
});
