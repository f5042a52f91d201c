/**
 * [BATCH-1] SUBSCRIBE with `batch: true`: what one turn of the broker's event loop hands a queue
 * reaches that subscriber as one MESSAGES frame when there are several. Its messages are exactly
 * the MESSAGE frames a plain subscriber gets, every one once, in seq order; replies that must come
 * after messages (UNSUBSCRIBED, a deleted queue's ERROR) still do; a stalled batching subscriber is
 * cut like any other, after whole frames; seed clients never see a MESSAGES frame.
 */
import { afterEach, expect, test } from "bun:test";
import { api } from "../support/broker-process.ts";
import { roundTrip } from "../support/consumer.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { RawWsClient } from "../support/raw-ws.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const file = brokerForFile({ env: { SUBSCRIBER_MAX_BUFFER_BYTES: String(2 * 1024 * 1024) } });
const raws: RawWsClient[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.close();
});

const publish = (queue: string, payload: unknown) => api(file.broker.url, "POST", "/publish", { exchange_name: "", key: queue, payload });

async function subscriber(queue: string, extra: Record<string, unknown> = {}): Promise<TestSocket> {
  const socket = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(socket);
  socket.send({ type: "SUBSCRIBE", payload: { queue_name: queue, id: "s", ...extra } });
  await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED" || f.type === "ERROR"));
  return socket;
}

/** Every delivery a socket got, MESSAGES frames opened up, in the order they came. */
const deliveries = (frames: any[]): any[] => frames.flatMap((f) => (f.type === "MESSAGES" ? f.messages : f.type === "MESSAGE" ? [f] : []));
const batches = (frames: any[]): any[] => frames.filter((f) => f.type === "MESSAGES");
const seqsFrom = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

/** Publishes `count` messages (`payload(i)`) over one socket, pipelined 500 at a time: many of them per turn. */
async function burst(queue: string, count: number, payload: (i: number) => unknown = (i) => i): Promise<void> {
  const publisher = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(publisher);
  for (let i = 0; i < count; i++) {
    publisher.send({ type: "PUBLISH", payload: { exchange_name: "", key: queue, payload: payload(i) } });
    if (i % 500 === 499) await roundTrip(publisher);
  }
  await roundTrip(publisher);
}

test("[BATCH-1] a waiting backlog comes as one MESSAGES frame, its messages the MESSAGE frames a plain subscriber is sent", async () => {
  await api(file.broker.url, "POST", "/queues", { name: "b-backlog", durable: true });
  for (const n of [1, 2, 3, 4, 5]) expect((await publish("b-backlog", { n })).status).toBe(200);
  const batched = await subscriber("b-backlog", { batch: true });
  await batched.until((frames) => deliveries(frames).length >= 5);
  const [batch] = batches(batched.frames);
  expect(batch).toMatchObject({ type: "MESSAGES", count: 5, queue: "b-backlog" });
  expect(batch.messages.map((m: any) => m.body)).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));

  // The same messages, replayed from the durable queue's history to a plain subscriber one by one.
  const plain = await subscriber("b-backlog", { since: 0 });
  await plain.untilMessages(5);
  expect(batches(plain.frames)).toEqual([]);
  expect(batch.messages).toEqual(plain.messages());
});

test("[BATCH-1] bursts: batching and plain subscribers of one queue get the same deliveries, each once, in seq order", async () => {
  await api(file.broker.url, "POST", "/queues", { name: "b-burst" });
  const batched = await subscriber("b-burst", { batch: true });
  const plain = await subscriber("b-burst");
  const count = 3_000;
  await burst("b-burst", count);
  await batched.until((frames) => deliveries(frames).length >= count, 15_000);
  await plain.untilMessages(count, 15_000);

  const got = deliveries(batched.frames);
  expect(got.map((m) => m.seq)).toEqual(seqsFrom(1, count));
  expect(got).toEqual(plain.messages());
  expect(batches(plain.frames)).toEqual([]);
  // Pipelined publishes are many per turn: some came batched, each batch counted right.
  const seen = batches(batched.frames);
  console.log(`[BATCH-1] ${count} messages reached the batching subscriber in ${seen.length} MESSAGES frames and ${batched.messages().length} MESSAGE frames`);
  expect(seen.length).toBeGreaterThan(0);
  for (const batch of seen) {
    expect(batch.count).toBe(batch.messages.length);
    expect(batch.count).toBeGreaterThan(1);
  }
});

test("[BATCH-1] UNSUBSCRIBED comes after every message published before the UNSUBSCRIBE, and nothing after it", async () => {
  await api(file.broker.url, "POST", "/queues", { name: "b-unsub" });
  const socket = await subscriber("b-unsub", { batch: true });
  // Its own publishes, then the UNSUBSCRIBE, in one burst: handled in the same turn as the last publishes.
  const count = 400;
  for (let i = 0; i < count; i++) socket.send({ type: "PUBLISH", payload: { exchange_name: "", key: "b-unsub", payload: i } });
  socket.send({ type: "UNSUBSCRIBE", payload: { queue_name: "b-unsub", id: "u" } });
  await socket.until((frames) => frames.some((f) => f.type === "UNSUBSCRIBED"));
  expect((await publish("b-unsub", "after")).status).toBe(200);
  await roundTrip(socket);

  const at = socket.frames.findIndex((f) => f.type === "UNSUBSCRIBED");
  expect(deliveries(socket.frames.slice(0, at)).map((m) => m.body)).toEqual(seqsFrom(0, count));
  expect(deliveries(socket.frames.slice(at))).toEqual([]);
});

test("[BATCH-1] a deleted queue's ERROR comes after the messages sent before it", async () => {
  await api(file.broker.url, "POST", "/queues", { name: "b-deleted" });
  const socket = await subscriber("b-deleted", { batch: true });
  await burst("b-deleted", 1_000);
  expect((await api(file.broker.url, "DELETE", "/queues/b-deleted")).status).toBe(200);
  await socket.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.queue_name === "b-deleted"));
  const at = socket.frames.findIndex((f) => f.type === "ERROR");
  expect(deliveries(socket.frames.slice(0, at)).map((m) => m.body)).toEqual(seqsFrom(0, 1_000));
});

test("[BATCH-1] batch must be a boolean: an ERROR naming the frame, and the socket stays open", async () => {
  const socket = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(socket);
  socket.send({ type: "SUBSCRIBE", payload: { queue_name: "b-any", batch: "yes", id: "bad" } });
  await socket.until((frames) => frames.some((f) => f.type === "ERROR"));
  expect(socket.frames[0].payload).toMatchObject({ code: "VALIDATION", id: "bad" });
  await roundTrip(socket);
});

test("[BATCH-1] [SLOW-1] a stalled batching subscriber gets whole frames with consecutive seqs, then 4008; the healthy one gets all", async () => {
  const queue = "b-stalled";
  await api(file.broker.url, "POST", "/queues", { name: queue });
  const healthy = await subscriber(queue, { batch: true });
  const stalled = await RawWsClient.open(file.broker.port);
  raws.push(stalled);
  stalled.send({ type: "SUBSCRIBE", payload: { queue_name: queue, id: "stalled", batch: true } });
  expect(await stalled.until(() => stalled.jsonFrames().some((f) => f.type === "SUBSCRIBED"), 5_000)).toBe(true);
  stalled.pause();

  const count = 12_000;
  const body = "s".repeat(1_000);
  await burst(queue, count, (i) => `${i}:${body}`);
  await healthy.until((frames) => deliveries(frames).length >= count, 20_000);
  await until(async () => (await api(file.broker.url, "GET", `/queues/${queue}`)).body.subscribers === 1, 10_000, "the stalled subscriber to be cut");
  stalled.resume();
  await stalled.until(() => stalled.ended, 15_000);

  const seqs = deliveries(stalled.jsonFrames()).map((m) => m.seq as number);
  console.log(`[BATCH-1] stalled batching subscriber: ${seqs.length} whole deliveries, close ${stalled.closeCode() ?? "none"}`);
  expect(deliveries(healthy.frames).map((m) => Number(String(m.body).split(":")[0]))).toEqual(seqsFrom(0, count));
  expect(healthy.closeCode).toBeUndefined();
  expect(seqs).toEqual(seqsFrom(1, seqs.length));
  expect(seqs.length).toBeLessThan(count);
  expect(stalled.wire().partialBytes).toBe(0);
  expect(stalled.closeCode()).toBe(4008);
}, 45_000);
