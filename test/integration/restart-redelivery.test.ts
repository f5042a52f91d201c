/**
 * What a consumer sees after a restart on the same DATA_DIR. After kill -9 every restored message
 * may have been delivered, so each comes with `redelivered: true` (at-least-once, acks not yet
 * checkpointed included). After a clean SIGTERM, acked messages are gone, and only the ones that
 * had been delivered come with `redelivered: true`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { ack, declareQueue, nack, openConsumer, publish, queueInfo, roundTrip } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import type { TestSocket } from "../support/ws-client.ts";

const live: BrokerProcess[] = [];
const sockets: TestSocket[] = [];
/** No checkpoint during a test: only shutdown (or nothing, for kill -9) records the acks. */
const env = { CHECKPOINT_IN_SECONDS: "3600" };

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const broker of live.splice(0)) {
    if (broker.proc.exitCode === null) await broker.kill9();
    removeDir(broker.dataDir);
  }
});

async function start(dataDir?: string): Promise<BrokerProcess> {
  const broker = await startBroker({ env, dataDir });
  live.push(broker);
  return broker;
}

async function consumer(broker: BrokerProcess, queue: string, prefetch: number): Promise<TestSocket> {
  const socket = await openConsumer(broker.wsUrl, queue, prefetch);
  sockets.push(socket);
  return socket;
}

/** Consumes `count` deliveries after a restart and returns [body, redelivered] pairs, in order. */
async function drain(broker: BrokerProcess, queue: string, count: number): Promise<[unknown, boolean][]> {
  const reader = await consumer(broker, queue, 1_000);
  await reader.untilMessages(count);
  await roundTrip(reader);
  return reader.messages().map((m) => [m.body, m.redelivered]);
}

describe("kill -9", () => {
  test("every restored message comes back redelivered, in order, the unacked deliveries included", async () => {
    const broker = await start();
    await declareQueue(broker.url, "crash-jobs", { durable: true });
    const worker = await consumer(broker, "crash-jobs", 2);
    for (const body of ["a", "b", "c", "d"]) await publish(broker.url, "crash-jobs", body);
    await worker.untilMessages(2);
    expect(worker.messages().map((m) => m.redelivered)).toEqual([false, false]);
    await broker.kill9();

    const again = await start(broker.dataDir);
    expect(await queueInfo(again.url, "crash-jobs")).toMatchObject({ messages: 4, unacked: 0 });
    expect(await drain(again, "crash-jobs", 4)).toEqual([
      ["a", true],
      ["b", true],
      ["c", true],
      ["d", true],
    ]);
  }, 20_000);

  test("an ack not yet checkpointed may be undone by a crash: that message comes again, marked redelivered", async () => {
    const broker = await start();
    await declareQueue(broker.url, "crash-acked", { durable: true });
    const worker = await consumer(broker, "crash-acked", 1);
    await publish(broker.url, "crash-acked", "done");
    await worker.untilMessages(1);
    ack(worker, worker.messages()[0], "a");
    await worker.until((frames) => frames.some((f) => f.type === "ACKED"));
    await publish(broker.url, "crash-acked", "next");
    await broker.kill9();

    const again = await start(broker.dataDir);
    const after = await drain(again, "crash-acked", 2);
    expect(after).toEqual([
      ["done", true],
      ["next", true],
    ]);
  }, 20_000);
});

describe("[COUNT-1] delivery_count goes on counting across a restart", () => {
  /** Longer than the broker's DELIVERY_RECORD_MS (20 ms): the counts of what went out are stored. */
  const RECORDED_MS = 200;

  test("kill -9 after two deliveries: the next one is the third, marked redelivered", async () => {
    const broker = await start();
    await declareQueue(broker.url, "count-crash", { durable: true });
    const worker = await consumer(broker, "count-crash", 1);
    await publish(broker.url, "count-crash", "job");
    await worker.untilMessages(1);
    nack(worker, worker.messages()[0], true);
    await worker.untilMessages(2);
    expect(worker.messages().map((m) => [m.redelivered, m.delivery_count])).toEqual([
      [false, 1],
      [true, 2],
    ]);
    await Bun.sleep(RECORDED_MS);
    await broker.kill9();

    const again = await start(broker.dataDir);
    const reader = await consumer(again, "count-crash", 1);
    await reader.untilMessages(1);
    expect(reader.messages()[0]).toMatchObject({ body: "job", redelivered: true, delivery_count: 3 });
  }, 20_000);

  test("a message delivered once before kill -9 is not delivery 1 again", async () => {
    const broker = await start();
    await declareQueue(broker.url, "count-once", { durable: true });
    const worker = await consumer(broker, "count-once", 1);
    await publish(broker.url, "count-once", "held");
    await publish(broker.url, "count-once", "never handed out");
    await worker.untilMessages(1);
    await Bun.sleep(RECORDED_MS);
    await broker.kill9();

    const again = await start(broker.dataDir);
    const reader = await consumer(again, "count-once", 10);
    await reader.untilMessages(2);
    expect(reader.messages().map((m) => [m.body, m.redelivered, m.delivery_count])).toEqual([
      ["held", true, 2],
      // Redelivered as every message after a crash, but nobody had it: its count starts at 1.
      ["never handed out", true, 1],
    ]);
  }, 20_000);

  test("delivery_limit holds across crashes: a poison message is dead-lettered, not handed out for ever", async () => {
    const broker = await start();
    await declareQueue(broker.url, "count-poison", { durable: true, delivery_limit: 2 });
    let current = broker;
    for (let round = 1; round <= 2; round++) {
      const worker = await consumer(current, "count-poison", 1);
      if (round === 1) await publish(current.url, "count-poison", "poison");
      await worker.untilMessages(1);
      expect(worker.messages()[0].delivery_count).toBe(round);
      await Bun.sleep(RECORDED_MS);
      await current.kill9();
      current = await start(broker.dataDir);
    }
    // Delivered twice, both times lost to a crash: at the limit, it goes instead of coming a third time.
    const worker = await consumer(current, "count-poison", 1);
    await roundTrip(worker);
    await until(async () => (await queueInfo(current.url, "count-poison")).dead_lettered === 1);
    expect(worker.messages()).toEqual([]);
  }, 30_000);

  test("clean SIGTERM: the held message comes back with its count", async () => {
    const broker = await start();
    await declareQueue(broker.url, "count-term", { durable: true });
    const worker = await consumer(broker, "count-term", 1);
    await publish(broker.url, "count-term", "held");
    await worker.untilMessages(1);
    expect(await broker.stop()).toBe(0);

    const again = await start(broker.dataDir);
    const reader = await consumer(again, "count-term", 1);
    await reader.untilMessages(1);
    expect(reader.messages()[0]).toMatchObject({ body: "held", redelivered: true, delivery_count: 2 });
  }, 20_000);
});

describe("clean SIGTERM", () => {
  test("acked ones are gone; unacked ones come back redelivered; never-delivered ones not", async () => {
    const broker = await start();
    await declareQueue(broker.url, "term-jobs", { durable: true });
    const worker = await consumer(broker, "term-jobs", 2);
    for (const body of ["acked", "held-1", "held-2", "fresh-1", "fresh-2"]) await publish(broker.url, "term-jobs", body);
    await worker.untilMessages(2);
    ack(worker, worker.messages()[0]);
    await worker.untilMessages(3);
    await until(async () => (await queueInfo(broker.url, "term-jobs")).acked === 1);
    expect(worker.messages().map((m) => m.body)).toEqual(["acked", "held-1", "held-2"]);
    expect(await broker.stop()).toBe(0);

    const again = await start(broker.dataDir);
    expect(await queueInfo(again.url, "term-jobs")).toMatchObject({ messages: 4 });
    expect(await drain(again, "term-jobs", 4)).toEqual([
      ["held-1", true],
      ["held-2", true],
      ["fresh-1", false],
      ["fresh-2", false],
    ]);
  }, 20_000);

  test("[REDELIVERED-1] a message delivered, then requeued (NACK or CANCEL) before the SIGTERM still comes back redelivered", async () => {
    const broker = await start();
    await declareQueue(broker.url, "term-requeued", { durable: true });
    for (const body of ["nacked", "cancelled", "fresh"]) await publish(broker.url, "term-requeued", body);
    const worker = await consumer(broker, "term-requeued", 2);
    await worker.untilMessages(2);
    nack(worker, worker.messages()[0], true);
    await worker.untilMessages(3); // the nacked one comes straight back to the same consumer
    worker.send({ type: "CANCEL", payload: { queue_name: "term-requeued", id: "stop" } });
    await worker.until((frames) => frames.some((f) => f.type === "CANCELLED"));
    expect(await queueInfo(broker.url, "term-requeued")).toMatchObject({ messages: 3, unacked: 0 });
    expect(await broker.stop()).toBe(0);

    const again = await start(broker.dataDir);
    expect(await drain(again, "term-requeued", 3)).toEqual([
      ["nacked", true],
      ["cancelled", true],
      ["fresh", false],
    ]);
  }, 20_000);

  test("two clean restarts in a row: the redelivered mark stays, and nothing is marked twice over", async () => {
    const broker = await start();
    await declareQueue(broker.url, "term-twice", { durable: true });
    const worker = await consumer(broker, "term-twice", 1);
    for (const body of ["held", "waiting"]) await publish(broker.url, "term-twice", body);
    await worker.untilMessages(1);
    expect(await broker.stop()).toBe(0);

    const second = await start(broker.dataDir);
    expect(await second.stop()).toBe(0);
    const third = await start(broker.dataDir);
    expect(await drain(third, "term-twice", 2)).toEqual([
      ["held", true],
      ["waiting", false],
    ]);
  }, 20_000);
});
