/**
 * Competing consumers: each message goes to exactly one consumer, at most `prefetch` unacknowledged
 * each, spread among those with credit. ACK/NACK by delivery tag; what a consumer held goes back to
 * the head of the queue, in order and marked redelivered, when it leaves or its ack times out.
 * Subscribers observe every message; consumers own them.
 */
import { describe, expect, test } from "bun:test";
import { api, removeDir, startBroker } from "../support/broker-process.ts";
import { brokerForFile } from "../support/file-broker.ts";
import {
  ack,
  ackEverything,
  bodies,
  consume,
  declareQueue,
  nack,
  openConsumer,
  openSubscriber,
  publish,
  queueInfo,
  roundTrip,
} from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const file = brokerForFile();

async function consumer(queue: string, prefetch?: number): Promise<TestSocket> {
  const socket = await openConsumer(file.broker.wsUrl, queue, prefetch);
  file.sockets.push(socket);
  return socket;
}

async function publishAll(queue: string, payloads: unknown[]): Promise<void> {
  for (const payload of payloads) await publish(file.broker.url, queue, payload);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("competing consumers", () => {
  test("each message goes to exactly one of three acking consumers", async () => {
    await declareQueue(file.broker.url, "work");
    const workers = await Promise.all([consumer("work", 5), consumer("work", 5), consumer("work", 5)]);
    for (const w of workers) ackEverything(w);

    const publisher = await TestSocket.open(file.broker.wsUrl);
    file.sockets.push(publisher);
    const count = 300;
    for (let i = 0; i < count; i++) publisher.send({ type: "PUBLISH", id: i, payload: { exchange_name: "", key: "work", payload: i } });
    await until(() => workers.reduce((n, w) => n + w.messages().length, 0) >= count, 10_000, "all deliveries");
    await Promise.all(workers.map(roundTrip));

    const received = workers.flatMap((w) => bodies(w.messages())) as number[];
    expect(received.sort((a, b) => a - b)).toEqual(range(0, count - 1));
    for (const w of workers) expect(w.messages().length).toBeGreaterThan(0);
    await until(async () => (await queueInfo(file.broker.url, "work")).acked === count);
    expect(await queueInfo(file.broker.url, "work")).toMatchObject({ messages: 0, unacked: 0, consumers: 3, delivered: count });
  }, 15_000);

  test("a consumer with prefetch 2 that never acks gets exactly 2; the rest wait in the queue", async () => {
    await declareQueue(file.broker.url, "prefetch-2");
    const lazy = await consumer("prefetch-2", 2);
    await publishAll("prefetch-2", range(1, 6));
    await roundTrip(lazy);

    expect(bodies(lazy.messages())).toEqual([1, 2]);
    expect(lazy.messages().map((m) => m.redelivered)).toEqual([false, false]);
    expect(lazy.messages().map((m) => m.delivery_count)).toEqual([1, 1]);
    expect(await queueInfo(file.broker.url, "prefetch-2")).toMatchObject({ messages: 4, unacked: 2, consumers: 1 });
  });

  test("deliveries alternate between consumers with credit; one without credit is skipped", async () => {
    await declareQueue(file.broker.url, "rr");
    const a = await consumer("rr", 10);
    const b = await consumer("rr", 10);
    await publishAll("rr", range(1, 10));
    await Promise.all([roundTrip(a), roundTrip(b)]);
    expect(bodies(a.messages())).toEqual([1, 3, 5, 7, 9]);
    expect(bodies(b.messages())).toEqual([2, 4, 6, 8, 10]);

    await declareQueue(file.broker.url, "credit");
    const narrow = await consumer("credit", 1);
    const wide = await consumer("credit", 10);
    await publishAll("credit", range(1, 6));
    await Promise.all([roundTrip(narrow), roundTrip(wide)]);
    expect(bodies(narrow.messages())).toEqual([1]);
    expect(bodies(wide.messages())).toEqual([2, 3, 4, 5, 6]);
  });

  test("an ACK frees credit for the next message, in queue order", async () => {
    await declareQueue(file.broker.url, "ack-credit");
    const worker = await consumer("ack-credit", 1);
    await publishAll("ack-credit", ["a", "b", "c"]);
    for (let n = 1; n <= 3; n++) {
      await worker.untilMessages(n);
      await roundTrip(worker);
      expect(worker.messages()).toHaveLength(n);
      ack(worker, worker.messages()[n - 1], `ack-${n}`);
      await worker.until((frames) => frames.some((f) => f.type === "ACKED" && f.payload.id === `ack-${n}`));
    }
    expect(bodies(worker.messages())).toEqual(["a", "b", "c"]);
    // Tags are distinct per delivery.
    expect(new Set(worker.messages().map((m) => m.delivery_tag)).size).toBe(3);
    expect(await queueInfo(file.broker.url, "ack-credit")).toMatchObject({ messages: 0, unacked: 0, acked: 3 });
  });

  test("[ERROR-ID-1] CONSUME without prefetch defaults to 10; prefetch outside 1..10000 is refused with the frame's id", async () => {
    await declareQueue(file.broker.url, "default-prefetch");
    const worker = await consumer("default-prefetch");
    await publishAll("default-prefetch", range(1, 12));
    await roundTrip(worker);
    expect(worker.messages()).toHaveLength(10);

    for (const prefetch of [0, 10_001, 1.5, "5"]) {
      worker.send({ type: "CONSUME", payload: { queue_name: "default-prefetch", prefetch, id: `bad-${prefetch}` } });
      await worker.until((frames) => frames.some((f) => f.payload?.id === `bad-${prefetch}`));
      expect(worker.frames.find((f) => f.payload?.id === `bad-${prefetch}`)).toMatchObject({ type: "ERROR", payload: { code: "VALIDATION" } });
    }
  });
});

describe("changing and ending a consumer", () => {
  test("CONSUME again on the same queue changes the prefetch of the one consumer", async () => {
    await declareQueue(file.broker.url, "re-consume");
    const worker = await consumer("re-consume", 1);
    await publishAll("re-consume", range(1, 5));
    await roundTrip(worker);
    expect(worker.messages()).toHaveLength(1);

    await consume(worker, "re-consume", 3);
    await worker.untilMessages(3);
    await roundTrip(worker);
    expect(bodies(worker.messages())).toEqual([1, 2, 3]);
    expect(await queueInfo(file.broker.url, "re-consume")).toMatchObject({ consumers: 1, unacked: 3, messages: 2 });
  });

  test("deleting the queue tells its consumer Q002; the deleted queue's tags are then unknown", async () => {
    await declareQueue(file.broker.url, "doomed");
    const worker = await consumer("doomed", 5);
    await publish(file.broker.url, "doomed", "last");
    await worker.untilMessages(1);
    expect((await api(file.broker.url, "DELETE", "/queues/doomed")).status).toBe(200);
    await worker.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.code === "Q002"));
    ack(worker, worker.messages()[0], "too-late");
    await worker.until((frames) => frames.some((f) => f.payload?.id === "too-late"));
    expect(worker.frames.find((f) => f.payload?.id === "too-late")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });
  });
});

describe("nack and requeue", () => {
  test("NACK requeue:true puts the message back at the head; it comes again redelivered, delivery_count 2", async () => {
    await declareQueue(file.broker.url, "nack-head");
    const worker = await consumer("nack-head", 1);
    await publishAll("nack-head", ["first", "second"]);
    await worker.untilMessages(1);
    nack(worker, worker.messages()[0], true);
    await worker.untilMessages(2);

    const [original, again] = worker.messages();
    expect(again).toMatchObject({ body: "first", unique_id: original.unique_id, seq: original.seq, redelivered: true, delivery_count: 2 });
    expect(again.delivery_tag).not.toBe(original.delivery_tag);
    ack(worker, again);
    await worker.untilMessages(3);
    expect(worker.messages()[2]).toMatchObject({ body: "second", redelivered: false, delivery_count: 1 });
  });

  test("NACK without requeue defaults to requeue", async () => {
    await declareQueue(file.broker.url, "nack-default");
    const worker = await consumer("nack-default", 1);
    await publish(file.broker.url, "nack-default", "x");
    await worker.untilMessages(1);
    worker.send({ type: "NACK", payload: { delivery_tag: worker.messages()[0].delivery_tag } });
    await worker.untilMessages(2);
    expect(worker.messages()[1]).toMatchObject({ body: "x", redelivered: true });
  });
});

describe("a consumer leaving", () => {
  test("disconnect: unacked messages go back to the head, in order, marked redelivered", async () => {
    await declareQueue(file.broker.url, "disconnect");
    const first = await consumer("disconnect", 3);
    await publishAll("disconnect", range(1, 5));
    await first.untilMessages(3);
    ack(first, first.messages()[1]); // 2 is done; 1 and 3 are still held
    await until(async () => (await queueInfo(file.broker.url, "disconnect")).acked === 1);
    await first.untilMessages(4);
    first.close();
    await until(async () => (await queueInfo(file.broker.url, "disconnect")).consumers === 0);
    expect(await queueInfo(file.broker.url, "disconnect")).toMatchObject({ messages: 4, unacked: 0 });

    const second = await consumer("disconnect", 10);
    await second.untilMessages(4);
    expect(second.messages().map((m) => [m.body, m.redelivered])).toEqual([
      [1, true],
      [3, true],
      [4, true],
      [5, false],
    ]);
  });

  test("CANCEL: answered CANCELLED, held messages go back, nothing more arrives, acks of old tags are D001", async () => {
    await declareQueue(file.broker.url, "cancel");
    const worker = await consumer("cancel", 2);
    await publishAll("cancel", ["a", "b", "c"]);
    await worker.untilMessages(2);
    worker.send({ type: "CANCEL", payload: { queue_name: "cancel", id: "stop" } });
    await worker.until((frames) => frames.some((f) => f.type === "CANCELLED" && f.payload.id === "stop"));
    expect(await queueInfo(file.broker.url, "cancel")).toMatchObject({ consumers: 0, messages: 3, unacked: 0 });

    await publish(file.broker.url, "cancel", "d");
    ack(worker, worker.messages()[0], "late-ack");
    await roundTrip(worker);
    expect(bodies(worker.messages())).toEqual(["a", "b"]);
    expect(worker.frames.find((f) => f.payload?.id === "late-ack")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });

    // Cancelling what it does not consume is an error; the socket stays usable.
    worker.send({ type: "CANCEL", payload: { queue_name: "cancel", id: "again" } });
    await worker.until((frames) => frames.some((f) => f.payload?.id === "again"));
    expect(worker.frames.find((f) => f.payload?.id === "again")).toMatchObject({ type: "ERROR", payload: { code: "S001" } });

    const next = await consumer("cancel", 10);
    await next.untilMessages(4);
    expect(next.messages().map((m) => [m.body, m.redelivered])).toEqual([
      ["a", true],
      ["b", true],
      ["c", false],
      ["d", false],
    ]);
  });
});

describe("delivery tags", () => {
  test("D001 for an unknown tag and for a second ACK of the same tag; the socket stays up", async () => {
    await declareQueue(file.broker.url, "tags");
    const worker = await consumer("tags", 5);
    await publish(file.broker.url, "tags", "once");
    await worker.untilMessages(1);
    const delivery = worker.messages()[0];

    worker.send({ type: "ACK", payload: { delivery_tag: 987_654_321, id: "unknown" } });
    worker.send({ type: "NACK", payload: { delivery_tag: 987_654_322, id: "unknown-nack" } });
    ack(worker, delivery, "first");
    ack(worker, delivery, "second");
    worker.send({ type: "NACK", payload: { delivery_tag: delivery.delivery_tag, requeue: false, id: "after-ack" } });
    await worker.until((frames) => frames.some((f) => f.payload?.id === "after-ack"));

    const answer = (id: string) => worker.frames.find((f) => f.payload?.id === id);
    expect(answer("unknown")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });
    expect(answer("unknown-nack")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });
    expect(answer("first")).toEqual({ type: "ACKED", payload: { delivery_tag: delivery.delivery_tag, id: "first" } });
    expect(answer("second")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });
    expect(answer("after-ack")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });
    expect(worker.closeCode).toBeUndefined();

    await publish(file.broker.url, "tags", "still consuming");
    await worker.untilMessages(2);
    expect(await queueInfo(file.broker.url, "tags")).toMatchObject({ acked: 1, dead_lettered: 0 });
  });

  test("another connection cannot ack a delivery it does not hold", async () => {
    await declareQueue(file.broker.url, "foreign-tag");
    const holder = await consumer("foreign-tag", 5);
    const other = await consumer("foreign-tag", 5);
    await publish(file.broker.url, "foreign-tag", "mine");
    await until(() => holder.messages().length + other.messages().length === 1);
    const [owner, stranger] = holder.messages().length === 1 ? [holder, other] : [other, holder];

    ack(stranger, owner.messages()[0], "steal");
    await stranger.until((frames) => frames.some((f) => f.payload?.id === "steal"));
    expect(stranger.frames.find((f) => f.payload?.id === "steal")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });
    expect(await queueInfo(file.broker.url, "foreign-tag")).toMatchObject({ unacked: 1, acked: 0 });
  });

  test("[CONSUME-1] CONSUME on a missing queue is an ERROR Q002 carrying the id, and no CONSUMING", async () => {
    const socket = await TestSocket.open(file.broker.wsUrl);
    file.sockets.push(socket);
    socket.send({ type: "CONSUME", payload: { queue_name: "no-such-queue", id: "c1" } });
    await socket.until((frames) => frames.some((f) => f.payload?.id === "c1"));
    await roundTrip(socket);
    expect(socket.frames.filter((f) => f.payload?.id === "c1")).toEqual([
      { type: "ERROR", payload: { code: "Q002", message: expect.any(String), id: "c1" } },
    ]);
  });
});

describe("subscribers and consumers on one queue", () => {
  test("the subscriber sees every message, the consumer owns them: they stay until acked", async () => {
    await declareQueue(file.broker.url, "shared");
    const watcher = await openSubscriber(file.broker.wsUrl, "shared");
    file.sockets.push(watcher);
    const worker = await consumer("shared", 1);
    await publishAll("shared", ["a", "b", "c"]);
    await watcher.untilMessages(3);
    await roundTrip(worker);

    expect(bodies(watcher.messages())).toEqual(["a", "b", "c"]);
    expect(watcher.messages().every((m) => m.delivery_tag === undefined && m.redelivered === undefined)).toBe(true);
    expect(bodies(worker.messages())).toEqual(["a"]);
    expect(await queueInfo(file.broker.url, "shared")).toMatchObject({ messages: 2, unacked: 1 });

    for (let n = 1; n <= 3; n++) {
      await worker.untilMessages(n);
      ack(worker, worker.messages()[n - 1]);
    }
    await until(async () => (await queueInfo(file.broker.url, "shared")).acked === 3);
    expect(bodies(worker.messages())).toEqual(["a", "b", "c"]);
    // A requeue or redelivery to the consumer is not shown to the subscriber again.
    await roundTrip(watcher);
    expect(watcher.messages()).toHaveLength(3);
    expect(await queueInfo(file.broker.url, "shared")).toMatchObject({ messages: 0, unacked: 0 });
  });

  test("with no consumer attached, a message leaves the queue once sent to the subscribers", async () => {
    await declareQueue(file.broker.url, "observed");
    const watcher = await openSubscriber(file.broker.wsUrl, "observed");
    file.sockets.push(watcher);
    await publishAll("observed", [1, 2]);
    await watcher.untilMessages(2);
    expect(await queueInfo(file.broker.url, "observed")).toMatchObject({ messages: 0 });

    // A consumer arriving later finds nothing left to own.
    const worker = await consumer("observed", 5);
    await roundTrip(worker);
    expect(worker.messages()).toEqual([]);
  });
});

test("ACK_TIMEOUT_MS: a delivery not acked in time comes again, redelivered; its old tag is then D001", async () => {
  const impatient = await startBroker({ env: { ACK_TIMEOUT_MS: "800" } });
  try {
    await declareQueue(impatient.url, "slow-worker");
    const worker = await openConsumer(impatient.wsUrl, "slow-worker", 1);
    file.sockets.push(worker);
    await publish(impatient.url, "slow-worker", "job");
    await worker.untilMessages(2, 10_000);

    const [first, second] = worker.messages();
    expect(first).toMatchObject({ body: "job", redelivered: false, delivery_count: 1 });
    expect(second).toMatchObject({ body: "job", unique_id: first.unique_id, redelivered: true, delivery_count: 2 });
    ack(worker, first, "stale");
    ack(worker, second, "fresh");
    await worker.until((frames) => frames.some((f) => f.payload?.id === "fresh"));
    expect(worker.frames.find((f) => f.payload?.id === "stale")).toMatchObject({ type: "ERROR", payload: { code: "D001" } });
    expect(worker.frames.find((f) => f.payload?.id === "fresh")).toMatchObject({ type: "ACKED" });
    expect(await queueInfo(impatient.url, "slow-worker")).toMatchObject({ messages: 0, unacked: 0, acked: 1 });
  } finally {
    await impatient.stop();
    removeDir(impatient.dataDir);
  }
}, 15_000);
