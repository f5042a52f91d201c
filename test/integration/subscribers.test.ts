/**
 * Queue semantics seen by WebSocket subscribers: a queue holds messages while nobody is subscribed
 * and hands them over, in order, before live ones; every subscriber gets every message while
 * subscribed; a subscriber that stops reading is closed with 4008 and the others carry on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

/** The smallest limit the broker accepts: a paused reader passes it after a few large messages. */
const SUBSCRIBER_MAX_BUFFER_BYTES = 65_536;

let broker: BrokerProcess;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  broker = await startBroker({ env: { SUBSCRIBER_MAX_BUFFER_BYTES: String(SUBSCRIBER_MAX_BUFFER_BYTES) } });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

async function subscriber(queue: string): Promise<TestSocket> {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  socket.send({ type: "SUBSCRIBE", id: queue, payload: { queue_name: queue } });
  await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
  return socket;
}

const queueInfo = async (name: string) => (await api(broker.url, "GET", `/queues/${name}`)).body;

/** Publishes over one WebSocket and waits for every CONFIRM: all of them are queued when it returns. */
async function publishAll(queue: string, payloads: unknown[]): Promise<void> {
  const publisher = await TestSocket.open(broker.wsUrl);
  payloads.forEach((payload, i) => publisher.send({ type: "PUBLISH", id: i, payload: { exchange_name: "", key: queue, payload } }));
  await publisher.until((frames) => frames.filter((f) => f.type === "CONFIRM").length === payloads.length, 10_000);
  publisher.close();
}

describe("backlog", () => {
  test("messages published while nobody is subscribed wait, then arrive in order before live ones", async () => {
    await api(broker.url, "POST", "/queues", { name: "backlog" });
    const backlog = 1_500; // several of the broker's drain batches
    await publishAll("backlog", Array.from({ length: backlog }, (_, i) => i));
    expect((await queueInfo("backlog")).messages).toBe(backlog);

    const socket = await subscriber("backlog");
    // Live messages, published while the backlog is still being handed over.
    const live = Array.from({ length: 50 }, (_, i) => backlog + i);
    await Promise.all(live.map((n) => api(broker.url, "POST", "/publish", { exchange_name: "", key: "backlog", payload: n })));
    await socket.untilMessages(backlog + live.length, 10_000);

    const seqs = socket.messages().map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: backlog + live.length }, (_, i) => i + 1));
    expect(socket.messages().slice(0, backlog).map((m) => m.body)).toEqual(Array.from({ length: backlog }, (_, i) => i));
    expect(socket.messages().slice(backlog).map((m) => m.body).sort((a, b) => a - b)).toEqual(live);
    expect((await queueInfo("backlog")).messages).toBe(0);
  }, 20_000);

  test("after UNSUBSCRIBE or disconnect the queue holds messages again for the next subscriber", async () => {
    await api(broker.url, "POST", "/queues", { name: "hold" });
    const first = await subscriber("hold");
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "hold", payload: "live" });
    await first.untilMessages(1);

    first.send({ type: "UNSUBSCRIBE", id: "u", payload: { queue_name: "hold" } });
    await first.until((frames) => frames.some((f) => f.type === "UNSUBSCRIBED"));
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "hold", payload: "held-1" });
    expect((await queueInfo("hold")).messages).toBe(1);

    const second = await subscriber("hold");
    await second.untilMessages(1);
    second.close();
    await until(async () => (await queueInfo("hold")).subscribers === 0);
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "hold", payload: "held-2" });

    const third = await subscriber("hold");
    await third.untilMessages(1);
    expect([first, second, third].map((s) => s.messages().map((m) => m.body))).toEqual([["live"], ["held-1"], ["held-2"]]);
  });
});

describe("several subscribers", () => {
  test("10 subscribers of one queue each get every message, in order", async () => {
    await api(broker.url, "POST", "/queues", { name: "ten" });
    const subscribers = await Promise.all(Array.from({ length: 10 }, () => subscriber("ten")));
    expect((await queueInfo("ten")).subscribers).toBe(10);
    const payloads = Array.from({ length: 100 }, (_, i) => ({ i }));
    await publishAll("ten", payloads);
    for (const s of subscribers) await s.untilMessages(payloads.length);
    for (const s of subscribers) expect(s.messages().map((m) => m.body)).toEqual(payloads);
  });

  test("a subscriber that joins later gets only what is published from then on", async () => {
    await api(broker.url, "POST", "/queues", { name: "late" });
    const early = await subscriber("late");
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "late", payload: 1 });
    await early.untilMessages(1);
    const late = await subscriber("late");
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "late", payload: 2 });
    await early.untilMessages(2);
    await late.untilMessages(1);
    expect(late.messages().map((m) => m.body)).toEqual([2]);
  });
});

describe("slow subscriber", () => {
  test("one that stops reading is closed with 4008; a healthy one keeps receiving everything", async () => {
    await api(broker.url, "POST", "/queues", { name: "slow" });
    const healthy = await subscriber("slow");
    const slow = await subscriber("slow");
    // Bun's client stops reading from the socket: the kernel buffers fill, then the broker's.
    const reading = slow.ws as unknown as { pause(): boolean; resume(): boolean }; // Bun's WebSocket client
    expect(reading.pause()).toBe(true);

    const payload = "y".repeat(256 * 1024);
    let published = 0;
    while ((await queueInfo("slow")).subscribers === 2) {
      if (published === 400) throw new Error("the paused subscriber was never closed");
      await api(broker.url, "POST", "/publish", { exchange_name: "", key: "slow", payload: `${published}:${payload}` });
      published++;
    }
    // The healthy subscriber got every message, and keeps getting new ones.
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "slow", payload: "after" });
    await healthy.untilMessages(published + 1, 15_000);
    expect(healthy.messages().map((m) => (m.body as string).split(":")[0])).toEqual([
      ...Array.from({ length: published }, (_, i) => String(i)),
      "after",
    ]);
    expect(healthy.closeCode).toBeUndefined();

    // Once it reads again, the slow one sees what was buffered for it, then the 4008 close.
    reading.resume();
    expect(await slow.untilClosed(10_000)).toBe(4008);
    const slowGot = slow.messages().map((m) => (m.body as string).split(":")[0]);
    expect(slowGot).toEqual(Array.from({ length: slowGot.length }, (_, i) => String(i)));
    expect(slowGot).not.toContain("after");
  }, 30_000);
});
