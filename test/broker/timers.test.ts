/**
 * TTLs, delays, ack timeouts and the delivery limit, in-process on a fake clock: the manual
 * scheduler runs the broker's tick when the test moves time, so nothing here sleeps.
 */
import { expect, test } from "bun:test";
import { TICK_MS } from "../../src/broker/limits.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../../src/core/queue-args.ts";
import { publish, startInProcess } from "./support/in-process.ts";

const args = (extra: Partial<QueueArgs>): QueueArgs => ({ ...DEFAULT_QUEUE_ARGS, ...extra });

test("message_ttl: a waiting message expires at its TTL (to the tick's precision) and is dead-lettered as expired", async () => {
  const { broker, sink, scheduler } = await startInProcess();
  await broker.declareQueue({ name: "work", args: args({ messageTtl: 1_000, deadLetterExchange: "", deadLetterRoutingKey: "expired" }) });
  await broker.declareQueue({ name: "expired" });
  await publish(broker, "", "work", "late");
  scheduler.advance(1_000 - TICK_MS);
  expect(broker.queue("work")).toMatchObject({ ok: true, value: { messages: 1 } });
  scheduler.advance(TICK_MS);
  expect(broker.queue("work")).toMatchObject({ ok: true, value: { messages: 0, dead_lettered: 1 } });
  expect(broker.queue("expired")).toMatchObject({ ok: true, value: { messages: 1 } });
  broker.consume("c", "expired", "conn", 10);
  expect(sink.toConsumers.map((d) => [d.body, d.headers["x-death-reason"], d.headers["x-death-queue"]])).toEqual([["late", "expired", "work"]]);
});

test("[TTL0-1] TTL 0: a consumer with credit gets the message at once; with none waiting, it expires on arrival", async () => {
  const { broker, sink } = await startInProcess();
  await broker.declareQueue({ name: "now", args: args({ messageTtl: 0 }) });
  broker.consume("c", "now", "conn", 1);
  await publish(broker, "", "now", 1);
  // The consumer's one credit is taken: the next one cannot be delivered at once.
  await publish(broker, "", "now", 2);
  expect(sink.consumerBodies("now")).toEqual([1]);
  expect(broker.queue("now")).toMatchObject({ ok: true, value: { messages: 0, unacked: 1, dead_lettered: 1 } });
});

test("delay: a delayed message is held until its time, then delivered on the next tick", async () => {
  const { broker, sink, scheduler } = await startInProcess();
  await broker.declareQueue({ name: "later" });
  broker.consume("c", "later", "conn", 10);
  await publish(broker, "", "later", "wait", { delay: 500 });
  await publish(broker, "", "later", "now");
  expect(sink.consumerBodies("later")).toEqual(["now"]);
  scheduler.advance(400);
  expect(sink.consumerBodies("later")).toEqual(["now"]);
  scheduler.advance(100);
  expect(sink.consumerBodies("later")).toEqual(["now", "wait"]);
});

test("ack timeout: an unacked delivery is revoked and comes again, redelivered, under a new tag", async () => {
  const { broker, sink, scheduler } = await startInProcess({ ackTimeoutMs: 1_000 });
  await broker.declareQueue({ name: "slow" });
  await publish(broker, "", "slow", "job");
  broker.consume("c", "slow", "conn", 1);
  const first = sink.toConsumers[0]!;
  expect(first).toMatchObject({ body: "job", redelivered: false, deliveries: 1 });
  scheduler.advance(1_000 - TICK_MS);
  expect(sink.toConsumers).toHaveLength(1);
  scheduler.advance(TICK_MS);
  expect(sink.revoked).toEqual([{ consumer: "c", tag: first.tag }]);
  expect(sink.toConsumers).toHaveLength(2);
  const again = sink.toConsumers[1]!;
  expect(again).toMatchObject({ body: "job", redelivered: true, deliveries: 2 });
  expect(again.tag).not.toBe(first.tag);
  // The old tag means nothing any more; the new one acks.
  expect(broker.ack("c", "slow", first.tag)).toMatchObject({ ok: false, error: { code: "D001" } });
  expect(broker.ack("c", "slow", again.tag).ok).toBe(true);
  expect(broker.queue("slow")).toMatchObject({ ok: true, value: { messages: 0, unacked: 0 } });
});

test("delivery_limit: past its limit a requeued message is dead-lettered as delivery_limit, not handed out again", async () => {
  const { broker, sink } = await startInProcess();
  await broker.declareQueue({ name: "poison", args: args({ deliveryLimit: 2, deadLetterExchange: "", deadLetterRoutingKey: "parked" }) });
  await broker.declareQueue({ name: "parked" });
  await publish(broker, "", "poison", "bad");
  broker.consume("c", "poison", "conn", 1);
  for (let n = 0; n < 2; n++) {
    const last = sink.toConsumers.at(-1)!;
    expect(broker.nack("c", "poison", last.tag, true).ok).toBe(true);
  }
  expect(sink.consumerBodies("poison")).toEqual(["bad", "bad"]);
  expect(broker.queue("poison")).toMatchObject({ ok: true, value: { messages: 0, unacked: 0, dead_lettered: 1 } });
  broker.consume("p", "parked", "conn", 1);
  expect(sink.toConsumers.at(-1)).toMatchObject({ queue: "parked", body: "bad", headers: { "x-death-reason": "delivery_limit" } });
});
