/** Consuming: shared work, prefetch, ack and nack, poison messages dead-lettered. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Delivery, type PubsubClient } from "../../src/client/index.ts";
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

describe("consume", () => {
  test("acked messages leave the queue; ack resolves once the broker confirmed it", async () => {
    await admin.queues.declare({ name: "jobs", durable: true });
    for (const n of range(1, 10)) await admin.publish("", "jobs", n);
    const done: number[] = [];
    await client().consume<number>("jobs", async (d) => {
      await d.ack();
      done.push(d.body);
    });
    await until(() => done.length === 10);
    expect(done.sort((a, b) => a - b)).toEqual(range(1, 10));
    await until(async () => (await admin.queues.get("jobs")).acked === 10);
    expect(await admin.queues.get("jobs")).toMatchObject({ messages: 0, unacked: 0 });
  });

  test("prefetch bounds the deliveries a consumer holds unacked", async () => {
    await admin.queues.declare({ name: "bounded" });
    for (const n of range(1, 20)) await admin.publish("", "bounded", n);
    const held: Delivery<number>[] = [];
    await client().consume<number>("bounded", (d) => void held.push(d), { prefetch: 3 });
    await until(() => held.length === 3);
    await Bun.sleep(50);
    expect(held.length).toBe(3);
    await held[0]!.ack();
    await until(() => held.length === 4);
    expect(held.map((d) => d.body)).toEqual([1, 2, 3, 4]);
  });

  test("consumers of a queue share its messages: each goes to exactly one", async () => {
    await admin.queues.declare({ name: "shared" });
    const byWorker: number[][] = [[], [], []];
    for (const mine of byWorker) {
      await client().consume<number>("shared", async (d) => {
        mine.push(d.body);
        await d.ack();
      }, { prefetch: 2 });
    }
    for (const n of range(1, 60)) void admin.publish("", "shared", n);
    await until(() => byWorker.flat().length === 60);
    expect(byWorker.flat().sort((a, b) => a - b)).toEqual(range(1, 60));
    expect(byWorker.every((mine) => mine.length > 0)).toBe(true);
  });

  test("nack requeues to the head, marked redelivered; nack without requeue dead-letters", async () => {
    await admin.exchanges.declare({ name: "dlx", type: "fanout" });
    await admin.queues.declare({ name: "dead" });
    await admin.bindings.declare({ exchange_name: "dlx", queue_name: "dead" });
    await admin.queues.declare({ name: "picky", dead_letter_exchange: "dlx" });
    await admin.publish("", "picky", "retry me");
    await admin.publish("", "picky", "poison");
    const seen: string[] = [];
    await client().consume<string>("picky", async (d) => {
      seen.push(`${d.body}${d.redelivered ? " (again)" : ""}`);
      if (d.body === "poison") return d.nack({ requeue: false });
      if (!d.redelivered) return d.nack();
      await d.ack();
    }, { prefetch: 1 });
    const dead: unknown[] = [];
    await client().subscribe("dead", (m) => void dead.push([m.body, m.headers["x-death-reason"]]));
    await until(() => dead.length === 1);
    expect(seen).toEqual(["retry me", "retry me (again)", "poison"]);
    expect(dead).toEqual([["poison", "rejected"]]);
  });

  test("a handler that throws gets its delivery nacked with requeue; delivery_limit dead-letters the poison", async () => {
    await admin.exchanges.declare({ name: "poison-dlx", type: "fanout" });
    await admin.queues.declare({ name: "poison-dead" });
    await admin.bindings.declare({ exchange_name: "poison-dlx", queue_name: "poison-dead" });
    await admin.queues.declare({ name: "throws", dead_letter_exchange: "poison-dlx", delivery_limit: 3 });
    const errors: unknown[] = [];
    const attempts: number[] = [];
    await client().consume<string>(
      "throws",
      (d) => {
        attempts.push(d.delivery_count);
        throw new Error(`cannot handle ${d.body}`);
      },
      { onError: (error) => void errors.push((error as Error).message) },
    );
    await admin.publish("", "throws", "bad");
    await until(async () => (await admin.queues.get("poison-dead")).messages === 1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(errors).toEqual(["cannot handle bad", "cannot handle bad", "cannot handle bad"]);
  });

  test("acking twice is D001, locally, without a frame", async () => {
    await admin.queues.declare({ name: "twice" });
    await admin.publish("", "twice", 1);
    const held: Delivery[] = [];
    await client().consume("twice", (d) => void held.push(d));
    await until(() => held.length === 1);
    await held[0]!.ack();
    expect(await rejection(held[0]!.ack())).toMatchObject({ code: "D001" });
  });

  test("close() lets handlers under way finish their acks, then cancels: the rest goes back", async () => {
    await admin.queues.declare({ name: "closing-consumer" });
    for (const n of range(1, 5)) await admin.publish("", "closing-consumer", n);
    const done: number[] = [];
    const consumer = await client().consume<number>("closing-consumer", async (d) => {
      await Bun.sleep(30);
      await d.ack();
      done.push(d.body);
    }, { prefetch: 2 });
    await until(() => done.length >= 1);
    await consumer.close();
    const afterClose = done.length;
    expect(await consumer.closed).toBeUndefined();
    const info = await admin.queues.get("closing-consumer");
    expect(info.consumers).toBe(0);
    expect(info.unacked).toBe(0);
    expect(info.messages).toBe(5 - afterClose);
  });

  test("a missing queue rejects with Q002", async () => {
    expect(await rejection(client().consume("no-such-queue", () => {}))).toMatchObject({ code: "Q002" });
  });
});
