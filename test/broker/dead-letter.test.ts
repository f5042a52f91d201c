/** Dead-letter chains in-process: a message that dies in one queue is published again through its dead-letter exchange. */
import { expect, test } from "bun:test";
import { TICK_MS } from "../../src/broker/limits.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../../src/core/queue-args.ts";
import { publish, startInProcess } from "./support/in-process.ts";

const args = (extra: Partial<QueueArgs>): QueueArgs => ({ ...DEFAULT_QUEUE_ARGS, ...extra });

test("A → dlx → B → dlx2 → C: each death is recorded, most recent first, and the message keeps its id", async () => {
  const { broker, sink, scheduler } = await startInProcess();
  await broker.declareExchange({ name: "dlx", type: "fanout" });
  await broker.declareExchange({ name: "dlx2", type: "fanout" });
  await broker.declareQueue({ name: "A", args: args({ messageTtl: 100, deadLetterExchange: "dlx" }) });
  await broker.declareQueue({ name: "B", args: args({ deadLetterExchange: "dlx2" }) });
  await broker.declareQueue({ name: "C" });
  await broker.bind({ exchange: "dlx", queue: "B" });
  await broker.bind({ exchange: "dlx2", queue: "C" });
  const published = await broker.publish({ exchange: "", routingKey: "A", body: '"x"', headers: {} });
  scheduler.advance(100 + TICK_MS);
  broker.consume("b", "B", "conn", 1);
  const inB = sink.toConsumers.at(-1)!;
  expect(inB).toMatchObject({ queue: "B", body: "x", headers: { "x-death-reason": "expired", "x-death-queue": "A" } });
  expect(broker.nack("b", "B", inB.tag, false).ok).toBe(true);
  broker.consume("c", "C", "conn", 1);
  const inC = sink.toConsumers.at(-1)!;
  expect(inC).toMatchObject({ queue: "C", body: "x", headers: { "x-death-reason": "rejected", "x-death-queue": "B", "x-first-death-queue": "A" } });
  const deaths = inC.headers["x-death"] as { queue: string; reason: string }[];
  expect(deaths.map((d) => [d.queue, d.reason])).toEqual([
    ["B", "rejected"],
    ["A", "expired"],
  ]);
  expect(published.ok && sink.toConsumers.every((d) => d.body === "x")).toBe(true);
});

test("[DLX-2] dead_letter_exchange \"\" reaches the queue named by the dead-letter routing key", async () => {
  const { broker } = await startInProcess();
  await broker.declareQueue({ name: "A", args: args({ maxLength: 1, deadLetterExchange: "", deadLetterRoutingKey: "overflowed" }) });
  await broker.declareQueue({ name: "overflowed" });
  await publish(broker, "", "A", 1);
  await publish(broker, "", "A", 2);
  expect(broker.queue("A")).toMatchObject({ ok: true, value: { messages: 1, dead_lettered: 1 } });
  expect(broker.queue("overflowed")).toMatchObject({ ok: true, value: { messages: 1 } });
});

test("[DLX-3] A → B → A by expiry: dropped on the way back into A, logged once", async () => {
  const { broker, scheduler, logged } = await startInProcess();
  await broker.declareQueue({ name: "A", args: args({ messageTtl: 100, deadLetterExchange: "", deadLetterRoutingKey: "B" }) });
  await broker.declareQueue({ name: "B", args: args({ messageTtl: 100, deadLetterExchange: "", deadLetterRoutingKey: "A" }) });
  await publish(broker, "", "A", "loop");
  await publish(broker, "", "A", "loop again");
  scheduler.advance(100);
  expect(broker.queue("B")).toMatchObject({ ok: true, value: { messages: 2 } });
  scheduler.advance(100);
  for (const name of ["A", "B"]) expect(broker.queue(name)).toMatchObject({ ok: true, value: { messages: 0 } });
  expect(logged.filter((line) => line.startsWith("dead-letter cycle"))).toHaveLength(1);
});

test("a dead-letter exchange that does not exist drops the message and says so", async () => {
  const { broker, scheduler, logged } = await startInProcess();
  await broker.declareQueue({ name: "A", args: args({ messageTtl: 10, deadLetterExchange: "missing" }) });
  await publish(broker, "", "A", "lost");
  scheduler.advance(TICK_MS);
  expect(broker.queue("A")).toMatchObject({ ok: true, value: { messages: 0, dead_lettered: 1 } });
  expect(logged.some((line) => line.includes('dead-letter exchange "missing"'))).toBe(true);
});
