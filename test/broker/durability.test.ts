/**
 * Commit before delivery, checkpoints, delivery counts, close and restart, in-process on a memory
 * store: what reaches the store is read from its MemoryDatabase; time moves only by the scheduler.
 */
import { expect, test } from "bun:test";
import { ACK_FLUSH_MS, DELIVERY_RECORD_MS } from "../../src/broker/limits.ts";
import { DEFAULT_QUEUE_ARGS } from "../../src/core/queue-args.ts";
import { publish, settle, startInProcess } from "./support/in-process.ts";

test("[COMMIT-1] a durable queue's message reaches consumers and subscribers only once the store committed it", async () => {
  const { broker, sink, database } = await startInProcess();
  await broker.declareQueue({ name: "orders", durable: true });
  broker.consume("c", "orders", "conn", 10);
  expect(broker.subscribe("orders", "conn").ok).toBe(true);
  broker.attached("orders");
  const answer = broker.publish({ exchange: "", routingKey: "orders", body: "1", headers: {} });
  expect(answer).toBeInstanceOf(Promise);
  expect(sink.toConsumers).toHaveLength(0);
  expect(sink.toSubscribersOf).toHaveLength(0);
  // [CONFIRM-1] Answered after the row is in the store.
  expect(await answer).toMatchObject({ ok: true, value: { routed: 1, durable: 1 } });
  expect(database.seqs("orders")).toEqual([1]);
  expect(sink.consumerBodies("orders")).toEqual([1]);
  expect(sink.subscriberBodies("orders")).toEqual([1]);
});

test("a transient publish is answered at once, with no promise, and never touches the store", async () => {
  const { broker, database } = await startInProcess();
  await broker.declareQueue({ name: "ticks" });
  const answer = broker.publish({ exchange: "", routingKey: "ticks", body: "1", headers: {} });
  expect(answer).toMatchObject({ ok: true, value: { routed: 1, durable: 0 } });
  expect(database.messages.size).toBe(0);
});

test("checkpoint: acked messages are removed from the store and the last seq is recorded, on the checkpoint timer", async () => {
  const { broker, sink, database, scheduler } = await startInProcess({ checkpointMs: 1_000 });
  await broker.declareQueue({ name: "q", durable: true });
  for (let n = 1; n <= 3; n++) await publish(broker, "", "q", n);
  broker.consume("c", "q", "conn", 10);
  for (const d of sink.toConsumers.slice(0, 2)) expect(broker.ack("c", "q", d.tag).ok).toBe(true);
  expect(database.waiting("q")).toEqual([1, 2, 3]);
  scheduler.advance(1_000);
  await settle();
  // [HIST-2] Acked, they stay as the queue's history (history_size 1,000 by default for durable queues).
  expect(database.waiting("q")).toEqual([3]);
  expect(database.seqs("q")).toEqual([1, 2, 3]);
  expect(database.queues.get("q")?.lastSeq).toBe(3);
});

test("[COUNT-1] delivery counts reach the store within DELIVERY_RECORD_MS", async () => {
  const { broker, sink, database, scheduler } = await startInProcess();
  await broker.declareQueue({ name: "q", durable: true });
  await publish(broker, "", "q", "job");
  broker.consume("c", "q", "conn", 1);
  expect(broker.nack("c", "q", sink.toConsumers[0]!.tag, true).ok).toBe(true);
  expect(sink.toConsumers.map((d) => d.deliveries)).toEqual([1, 2]);
  scheduler.advance(DELIVERY_RECORD_MS);
  await settle();
  expect(database.messages.get("q")?.get(1)?.deliveries).toBe(2);
});

test("[REDELIVERED-1] close marks what consumers hold as redelivered; the next start hands it out so marked, the rest as new", async () => {
  const first = await startInProcess();
  await first.broker.declareQueue({ name: "q", durable: true });
  for (let n = 1; n <= 4; n++) await publish(first.broker, "", "q", n);
  first.broker.consume("c", "q", "conn", 2);
  expect(first.sink.consumerBodies("q")).toEqual([1, 2]);
  await first.broker.close();
  expect(first.database.cleanShutdown).toBe("true");
  expect([...first.database.messages.get("q")!.values()].map((m) => [m.seq, m.redelivered])).toEqual([
    [1, true],
    [2, true],
    [3, false],
    [4, false],
  ]);
  // The broker's timers are gone with it.
  expect(first.scheduler.pending).toBe(0);

  const second = await startInProcess({ database: first.database });
  second.broker.consume("c", "q", "conn", 10);
  expect(second.sink.toConsumers.map((d) => [d.body, d.redelivered])).toEqual([
    [1, true],
    [2, true],
    [3, false],
    [4, false],
  ]);
});

test("[REDELIVERED-1] nothing is delivered once close() began, and publishes are refused", async () => {
  const { broker, sink } = await startInProcess();
  await broker.declareQueue({ name: "q", durable: true });
  for (let n = 1; n <= 3; n++) await publish(broker, "", "q", n);
  broker.consume("c", "q", "conn", 1);
  const closing = broker.close();
  expect(broker.ack("c", "q", sink.toConsumers[0]!.tag).ok).toBe(true);
  expect(broker.publish({ exchange: "", routingKey: "q", body: "4", headers: {} })).toMatchObject({ ok: false, error: { code: "SHUTTING_DOWN" } });
  await closing;
  expect(sink.consumerBodies("q")).toEqual([1]);
});

test("after a crash (no close) every restored message comes marked redelivered", async () => {
  const first = await startInProcess();
  await first.broker.declareQueue({ name: "q", durable: true });
  for (let n = 1; n <= 2; n++) await publish(first.broker, "", "q", n);
  // No close(): the database still says a run is under way.
  const second = await startInProcess({ database: first.database });
  second.broker.consume("c", "q", "conn", 10);
  expect(second.sink.toConsumers.map((d) => [d.body, d.redelivered])).toEqual([
    [1, true],
    [2, true],
  ]);
});

test("[SEQ-1] seqs continue after a purge and a restart", async () => {
  const first = await startInProcess();
  await first.broker.declareQueue({ name: "q", durable: true });
  for (let n = 1; n <= 3; n++) await publish(first.broker, "", "q", n);
  expect(await first.broker.purgeQueue("q")).toMatchObject({ ok: true, value: { messages: 3 } });
  const second = await startInProcess({ database: first.database });
  await publish(second.broker, "", "q", 4);
  expect(second.database.seqs("q")).toEqual([4]);
});

test("[DEDUP-1] a repeated message_id is confirmed with the first message's id and enqueued once, also after a restart", async () => {
  const first = await startInProcess();
  await first.broker.declareQueue({ name: "q", durable: true });
  const once = await first.broker.publish({ exchange: "", routingKey: "q", body: "1", headers: {}, messageId: "order-7" });
  const twice = await first.broker.publish({ exchange: "", routingKey: "q", body: "1", headers: {}, messageId: "order-7" });
  expect(once.ok && twice.ok && twice.value.duplicate && twice.value.id === once.value.id).toBe(true);
  const second = await startInProcess({ database: first.database, clock: first.clock });
  const again = await second.broker.publish({ exchange: "", routingKey: "q", body: "1", headers: {}, messageId: "order-7" });
  expect(again).toMatchObject({ ok: true, value: { duplicate: true, id: once.ok ? once.value.id : "" } });
  expect(second.database.seqs("q")).toEqual([1]);
});

test("[DLX-5] a crash after a dead-lettering: the message dead-lettered again from its restored source arrives marked redelivered, never as new", async () => {
  const dlxArgs = { ...DEFAULT_QUEUE_ARGS, deliveryLimit: 2, deadLetterExchange: "", deadLetterRoutingKey: "sdl" };
  const first = await startInProcess();
  await first.broker.declareQueue({ name: "sdl", durable: true });
  await first.broker.declareQueue({ name: "sdc", durable: true, args: dlxArgs });
  await publish(first.broker, "", "sdc", "job");
  first.broker.consume("c", "sdc", "conn", 1);
  expect(first.broker.nack("c", "sdc", first.sink.toConsumers[0]!.tag, true).ok).toBe(true);
  first.broker.cancel("c", "sdc"); // held at its delivery limit: dead-lettered into sdl
  first.scheduler.advance(DELIVERY_RECORD_MS); // its delivery count (2) reaches the store [COUNT-1]
  await settle();
  expect(first.database.seqs("sdl")).toEqual([1]);
  expect(first.database.seqs("sdc")).toEqual([1]); // the checkpoint that forgets it never ran
  // kill -9: no close, no checkpoint.
  const second = await startInProcess({ database: first.database });
  second.broker.consume("c", "sdc", "conn", 10);
  await settle();
  second.broker.consume("d", "sdl", "conn", 10);
  const copies = second.sink.toConsumers.filter((d) => d.queue === "sdl");
  expect(copies.map((d) => [d.body, d.redelivered])).toEqual([
    ["job", true],
    ["job", true],
  ]);
});

test("[ACK-1] acks reach the store within ACK_FLUSH_MS, long before the checkpoint", async () => {
  const { broker, sink, database, scheduler } = await startInProcess({ checkpointMs: 60_000 });
  await broker.declareQueue({ name: "q", durable: true });
  for (let n = 1; n <= 3; n++) await publish(broker, "", "q", n);
  broker.consume("c", "q", "conn", 10);
  for (const d of sink.toConsumers.slice(0, 2)) expect(broker.ack("c", "q", d.tag).ok).toBe(true);
  scheduler.advance(ACK_FLUSH_MS - 1);
  await settle();
  expect(database.waiting("q")).toEqual([1, 2, 3]);
  scheduler.advance(1);
  await settle();
  expect(database.waiting("q")).toEqual([3]);
});
