/**
 * [FLOW-1] A WebSocket publisher faster than the fan-out: once a turn of the event loop has handed
 * Bun's topics half of what they may hold unseen, the publisher's socket is paused and its next
 * frames wait for the next turn. Nothing is dropped or reordered by that, and what it sent before
 * closing is handled even if it closes while paused.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";

const QUEUES = 10;
/** 10 queues × 20,000 frames of ~300 bytes: ~60 MB through the topics, many saturated turns. */
const MESSAGES = 20_000;

let broker: BrokerProcess;
const open: WebSocket[] = [];

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  for (const ws of open) ws.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

function connect(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(broker.wsUrl);
    open.push(ws);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("could not connect"));
  });
}

/** A subscriber that checks order as it goes: `n` must count up from 0 with no gap. */
type Counting = { received: number; outOfOrder: number };
async function countingSubscriber(queue: string): Promise<Counting> {
  const ws = await connect();
  const seen: Counting = { received: 0, outOfOrder: 0 };
  let subscribed = false;
  ws.onmessage = (event) => {
    const frame = JSON.parse(String(event.data));
    if (frame.type === "SUBSCRIBED") subscribed = true;
    if (frame.type !== "MESSAGE") return;
    if (frame.body.n !== seen.received) seen.outOfOrder++;
    seen.received++;
  };
  ws.send(JSON.stringify({ type: "SUBSCRIBE", id: 1, payload: { queue_name: queue } }));
  await until(() => subscribed, 5_000, `SUBSCRIBED to ${queue}`);
  return seen;
}

async function fanoutTo(exchange: string): Promise<Counting[]> {
  expect((await api(broker.url, "POST", "/exchanges", { name: exchange, type: "fanout" })).status).toBe(200);
  const subscribers: Counting[] = [];
  for (let i = 0; i < QUEUES; i++) {
    const queue = `${exchange}-${i}`;
    expect((await api(broker.url, "POST", "/queues", { name: queue })).status).toBe(200);
    expect((await api(broker.url, "POST", "/bindings", { exchange_name: exchange, queue_name: queue, key: "" })).status).toBe(200);
    subscribers.push(await countingSubscriber(queue));
  }
  return subscribers;
}

const padding = "x".repeat(200);
const publishFrame = (exchange: string, n: number, id?: number) =>
  JSON.stringify({ type: "PUBLISH", ...(id === undefined ? {} : { id }), payload: { exchange_name: exchange, key: "", payload: { n, padding } } });

test("[FLOW-1] a publisher far ahead of 10 queues' subscribers: every message reaches every subscriber in order, every CONFIRM comes in order", async () => {
  const subscribers = await fanoutTo("flow");
  const publisher = await connect();
  const confirms: number[] = [];
  publisher.onmessage = (event) => {
    const frame = JSON.parse(String(event.data));
    if (frame.type === "CONFIRM") confirms.push(frame.payload.id);
  };
  for (let n = 0; n < MESSAGES; n++) publisher.send(publishFrame("flow", n, n));
  await until(() => subscribers.every((s) => s.received === MESSAGES), 60_000, "every subscriber to have every message");
  await until(() => confirms.length === MESSAGES, 10_000, "every CONFIRM");
  expect(confirms.every((id, i) => id === i)).toBe(true);
  expect(subscribers.map((s) => s.outOfOrder)).toEqual(Array(QUEUES).fill(0));
  expect(confirms.length).toBe(MESSAGES);
}, 90_000);

test("[FLOW-1] a publisher that closes right after sending (perhaps while paused): everything it sent is delivered", async () => {
  const subscribers = await fanoutTo("flow-close");
  const publisher = await connect();
  for (let n = 0; n < MESSAGES; n++) publisher.send(publishFrame("flow-close", n));
  publisher.close();
  await until(() => subscribers.every((s) => s.received === MESSAGES), 60_000, "every subscriber to have every message");
  expect(subscribers.map((s) => s.outOfOrder)).toEqual(Array(QUEUES).fill(0));
  // The broker serves on.
  expect((await api(broker.url, "GET", "/ping")).status).toBe(200);
}, 90_000);

test("[FLOW-1] a publisher that closes while paused leaves nothing behind: no consumer, subscriber or exclusive queue made by the frames after its flood", async () => {
  const subscribers = await fanoutTo("flow-leak");
  expect((await api(broker.url, "POST", "/queues", { name: "flow-leak-c" })).status).toBe(200);
  // Enough to saturate a turn (10 queues × ~330 bytes a frame), little enough to arrive with the close in one read.
  const FLOOD = 2_000;
  for (let attempt = 0; attempt < 5; attempt++) {
    const publisher = await connect();
    for (let n = 0; n < FLOOD; n++) publisher.send(publishFrame("flow-leak", attempt * FLOOD + n));
    publisher.send(JSON.stringify({ type: "DECLARE_QUEUE", id: "x", payload: { name: `flow-leak-x${attempt}`, exclusive: true } }));
    publisher.send(JSON.stringify({ type: "CONSUME", id: "c", payload: { queue_name: "flow-leak-c", prefetch: 10 } }));
    publisher.send(JSON.stringify({ type: "SUBSCRIBE", id: "s", payload: { queue_name: "flow-leak-c" } }));
    publisher.close();
    await until(() => subscribers.every((s) => s.received === (attempt + 1) * FLOOD), 30_000, "the flood delivered");
    // The connection's cleanup has run once its close is seen: nothing of it stays.
    await until(async () => {
      const c = (await api(broker.url, "GET", "/queues/flow-leak-c")).body;
      const x = await api(broker.url, "GET", `/queues/flow-leak-x${attempt}`);
      return c.consumers === 0 && c.subscribers === 0 && x.status === 404;
    }, 5_000, "no consumer, subscriber or exclusive queue left by the closed publisher");
  }
  expect(subscribers.map((s) => s.outOfOrder)).toEqual(Array(QUEUES).fill(0));
}, 120_000);
