/**
 * Slow subscribers, seen on the wire: a raw TCP client completes the WebSocket handshake, subscribes
 * and then never reads, so the kernel buffers fill and then the broker's. It must be cut with 4008
 * after whole frames only; what it did not get stays in the queue (or, when others got it, in the
 * queue's history for a resume); the healthy subscribers of the same queue get everything.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { api } from "../support/broker-process.ts";
import { roundTrip } from "../support/consumer.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { RawWsClient } from "../support/raw-ws.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const SUBSCRIBER_MAX_BUFFER_BYTES = 2 * 1024 * 1024;
const MESSAGES = 300;
const PAYLOAD = "x".repeat(100 * 1024);

const file = brokerForFile({ env: { SUBSCRIBER_MAX_BUFFER_BYTES: String(SUBSCRIBER_MAX_BUFFER_BYTES) } });
const raws: RawWsClient[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.close();
});

const queueInfo = async (name: string) => (await api(file.broker.url, "GET", `/queues/${name}`)).body;

async function subscriber(queue: string, since?: number): Promise<TestSocket> {
  const socket = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(socket);
  socket.send({ type: "SUBSCRIBE", payload: { queue_name: queue, id: "s", ...(since === undefined ? {} : { since }) } });
  await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED" || f.type === "ERROR") || socket.closeCode !== undefined, 10_000);
  return socket;
}

/** A subscriber that stops reading right after its SUBSCRIBED. */
async function stalledSubscriber(queue: string): Promise<RawWsClient> {
  const raw = await RawWsClient.open(file.broker.port);
  raws.push(raw);
  raw.send({ type: "SUBSCRIBE", payload: { queue_name: queue, id: "stalled" } });
  expect(await raw.until(() => raw.jsonFrames().some((f) => f.type === "SUBSCRIBED"), 5_000)).toBe(true);
  raw.pause();
  return raw;
}

/**
 * Publishes MESSAGES durable messages, ten at a time, and resumes reading the stalled client as soon
 * as the broker let go of it (the queue's subscriber count drops): it must then find every frame that
 * was buffered for it, whole, and the close frame after them.
 */
async function publishWhileStalled(queue: string, stalled: RawWsClient, subscribersBefore: number): Promise<void> {
  let resumed = false;
  for (let i = 0; i < MESSAGES; i += 10) {
    const batch = Array.from({ length: Math.min(10, MESSAGES - i) }, (_, j) => i + j);
    const answers = await Promise.all(
      batch.map((n) => api(file.broker.url, "POST", "/publish", { exchange_name: "", key: queue, payload: `${n}:${PAYLOAD}` })),
    );
    expect(answers.map((a) => a.status)).toEqual(batch.map(() => 200));
    if (!resumed && (await queueInfo(queue)).subscribers < subscribersBefore) {
      stalled.resume();
      resumed = true;
    }
  }
  if (!resumed) {
    await until(async () => (await queueInfo(queue)).subscribers < subscribersBefore, 10_000, "the stalled subscriber to be cut");
    stalled.resume();
  }
  await stalled.until(() => stalled.ended, 15_000);
}

/** What the stalled client got: message numbers (whole frames), bytes of a cut-off frame, close code. */
function wireOf(stalled: RawWsClient) {
  const messages = stalled.jsonFrames().filter((f) => f.type === "MESSAGE");
  return {
    numbers: messages.map(numberOf),
    seqs: messages.map((m) => m.seq as number),
    partialBytes: stalled.wire().partialBytes,
    closeCode: stalled.closeCode(),
  };
}
const numberOf = (message: { body: unknown }): number => Number(String(message.body).split(":")[0]);
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const seqsFrom = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

describe("a subscriber that never reads", () => {
  test("[SLOW-1] alone: it gets whole frames, then 4008; what it did not get stays in the queue", async () => {
    await api(file.broker.url, "POST", "/queues", { name: "stalled-alone", durable: true });
    const stalled = await stalledSubscriber("stalled-alone");
    await publishWhileStalled("stalled-alone", stalled, 1);

    const wire = wireOf(stalled);
    const info = await queueInfo("stalled-alone");
    const lost = MESSAGES - wire.numbers.length - info.messages;
    console.log(
      `[SLOW-1] alone: delivered ${info.delivered}, whole frames ${wire.numbers.length}, cut-off frame bytes ${wire.partialBytes}, ` +
        `close ${wire.closeCode ?? "none"}, still queued ${info.messages}, lost ${lost}`,
    );
    expect(wire.seqs).toEqual(seqsFrom(1, wire.seqs.length));
    expect(wire.partialBytes).toBe(0);
    expect(wire.closeCode).toBe(4008);
    expect(info.delivered).toBe(wire.seqs.length);
    expect(lost).toBe(0);
    // What it did not get waits for the next subscriber, in order.
    const next = await subscriber("stalled-alone");
    await next.untilMessages(info.messages, 15_000);
    expect(next.messages().map((m) => m.seq)).toEqual(seqsFrom(wire.seqs.length + 1, info.messages));
    const everyNumber = [...wire.numbers, ...next.messages().map(numberOf)].sort((a, b) => a - b);
    expect(everyNumber).toEqual(upTo(MESSAGES));
  }, 45_000);

  test("[SLOW-1] beside a healthy subscriber: the healthy one gets all of them, the stalled one whole frames then 4008", async () => {
    await api(file.broker.url, "POST", "/queues", { name: "stalled-shared", durable: true });
    const healthy = await subscriber("stalled-shared");
    const stalled = await stalledSubscriber("stalled-shared");
    await publishWhileStalled("stalled-shared", stalled, 2);
    await healthy.untilMessages(MESSAGES, 20_000);

    const wire = wireOf(stalled);
    const info = await queueInfo("stalled-shared");
    console.log(
      `[SLOW-1] shared: healthy got ${healthy.messages().length}, stalled whole frames ${wire.numbers.length}, ` +
        `cut-off frame bytes ${wire.partialBytes}, close ${wire.closeCode ?? "none"}, delivered ${info.delivered}, still queued ${info.messages}`,
    );
    expect(healthy.messages().map((m) => m.seq)).toEqual(seqsFrom(1, MESSAGES));
    expect(healthy.messages().map(numberOf).sort((a, b) => a - b)).toEqual(upTo(MESSAGES));
    expect(healthy.closeCode).toBeUndefined();
    expect(wire.seqs).toEqual(seqsFrom(1, wire.seqs.length));
    expect(wire.partialBytes).toBe(0);
    expect(wire.closeCode).toBe(4008);
    expect(info).toMatchObject({ delivered: MESSAGES, messages: 0 });

    // [SLOW-2] Reconnecting with since = the last seq it got, it gets the rest from the durable
    // queue's default history: no GAP, no duplicate. A replay larger than its buffer limit is cut
    // with 4008 too, after whole frames; each reconnect picks up where the last one stopped.
    let last = wire.seqs.at(-1) ?? 0;
    const resumedSeqs: number[] = [];
    let rounds = 0;
    for (; last < MESSAGES && rounds < 40; rounds++) {
      const resumed = await subscriber("stalled-shared", last);
      await resumed.until(() => resumed.closeCode !== undefined || (resumed.messages().at(-1)?.seq ?? 0) >= MESSAGES, 10_000);
      expect(resumed.frames.filter((f) => f.type === "GAP")).toEqual([]);
      if (resumed.closeCode !== undefined) expect(resumed.closeCode).toBe(4008);
      const seqs = resumed.messages().map((m) => m.seq as number);
      resumedSeqs.push(...seqs);
      last = seqs.at(-1) ?? last;
      resumed.close();
    }
    console.log(`[SLOW-2] the stalled subscriber resumed from seq ${wire.seqs.at(-1) ?? 0} and got the other ${resumedSeqs.length} in ${rounds} subscribes`);
    expect([...wire.seqs, ...resumedSeqs]).toEqual(seqsFrom(1, MESSAGES));
  }, 60_000);
});

describe("small messages in bursts", () => {
  test("[SLOW-1] many small frames per turn through Bun's topics: still whole frames then 4008; the healthy one gets all", async () => {
    const queue = "bursts";
    await api(file.broker.url, "POST", "/queues", { name: queue });
    const healthy = await subscriber(queue);
    const stalled = await stalledSubscriber(queue);

    // Pipelined over one socket, 500 at a time (a PING round trip in between): the broker handles
    // many publishes per turn of its event loop, and a reading subscriber keeps up.
    const count = 12_000;
    const body = "s".repeat(1_000);
    const publisher = await TestSocket.open(file.broker.wsUrl);
    file.sockets.push(publisher);
    for (let i = 0; i < count; i++) {
      publisher.send({ type: "PUBLISH", payload: { exchange_name: "", key: queue, payload: `${i}:${body}` } });
      if (i % 500 === 499) await roundTrip(publisher);
    }
    await healthy.untilMessages(count, 20_000);
    await until(async () => (await queueInfo(queue)).subscribers === 1, 10_000, "the stalled subscriber to be cut");
    stalled.resume();
    await stalled.until(() => stalled.ended, 15_000);

    const wire = wireOf(stalled);
    console.log(`[SLOW-1] bursts: healthy got ${healthy.messages().length}, stalled whole frames ${wire.seqs.length}, cut-off frame bytes ${wire.partialBytes}, close ${wire.closeCode ?? "none"}`);
    expect(healthy.messages().map(numberOf)).toEqual(upTo(count));
    expect(healthy.closeCode).toBeUndefined();
    expect(wire.seqs).toEqual(seqsFrom(1, wire.seqs.length));
    expect(wire.seqs.length).toBeLessThan(count);
    expect(wire.partialBytes).toBe(0);
    expect(wire.closeCode).toBe(4008);
  }, 45_000);

  test("[SLOW-1] small frames to a stalled subscriber alone: what counts as delivered is exactly what it got, whole, before the 4008", async () => {
    const queue = "bursts-alone";
    await api(file.broker.url, "POST", "/queues", { name: queue });
    const stalled = await stalledSubscriber(queue);
    const count = 12_000;
    const body = "s".repeat(1_000);
    const publisher = await TestSocket.open(file.broker.wsUrl);
    file.sockets.push(publisher);
    for (let i = 0; i < count; i++) {
      publisher.send({ type: "PUBLISH", payload: { exchange_name: "", key: queue, payload: `${i}:${body}` } });
      if (i % 500 === 499) await roundTrip(publisher);
    }
    await until(async () => (await queueInfo(queue)).subscribers === 0, 10_000, "the stalled subscriber to be cut");
    stalled.resume();
    await stalled.until(() => stalled.ended, 15_000);

    const wire = wireOf(stalled);
    const info = await queueInfo(queue);
    console.log(`[SLOW-1] bursts alone: delivered ${info.delivered}, whole frames ${wire.seqs.length}, cut-off frame bytes ${wire.partialBytes}, close ${wire.closeCode ?? "none"}, still queued ${info.messages}`);
    expect(wire.seqs).toEqual(seqsFrom(1, wire.seqs.length));
    expect(wire.partialBytes).toBe(0);
    expect(wire.closeCode).toBe(4008);
    expect(info.delivered).toBe(wire.seqs.length);
    expect(info.messages).toBe(count - wire.seqs.length);
  }, 45_000);
});

describe("history on by default for durable queues", () => {
  test("[SLOW-2] a replay larger than the buffer limit, to a client that does not read: whole frames, then 4008", async () => {
    await api(file.broker.url, "POST", "/queues", { name: "long-replay", durable: true });
    const healthy = await subscriber("long-replay");
    for (let i = 0; i < MESSAGES; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => api(file.broker.url, "POST", "/publish", { exchange_name: "", key: "long-replay", payload: `${i + j}:${PAYLOAD}` })),
      );
    }
    await healthy.untilMessages(MESSAGES, 20_000);

    // 30 MB of history asked for at once, by a client that stops reading as it asks.
    const stalled = await RawWsClient.open(file.broker.port);
    raws.push(stalled);
    stalled.send({ type: "SUBSCRIBE", payload: { queue_name: "long-replay", id: "replay", since: 0 } });
    stalled.pause();
    // The broker sends the whole replay in the turn that handles the SUBSCRIBE, which is done by the
    // time another socket's PING, sent after it, is answered (and some room beside): only then read.
    await roundTrip(healthy);
    await Bun.sleep(200);
    stalled.resume();
    await stalled.until(() => stalled.ended, 15_000);
    const wire = wireOf(stalled);
    console.log(`[SLOW-2] replay to a stalled client: whole frames ${wire.seqs.length}, cut-off frame bytes ${wire.partialBytes}, close ${wire.closeCode ?? "none"}`);
    expect(stalled.jsonFrames()[0]).toMatchObject({ type: "SUBSCRIBED" });
    expect(wire.seqs).toEqual(seqsFrom(1, wire.seqs.length));
    expect(wire.seqs.length).toBeLessThan(MESSAGES);
    expect(wire.partialBytes).toBe(0);
    expect(wire.closeCode).toBe(4008);
    expect((await queueInfo("long-replay")).subscribers).toBe(1);
  }, 45_000);

  test("[SLOW-2] a durable queue retains its recent messages for since replays unless history_size says otherwise", async () => {
    await api(file.broker.url, "POST", "/queues", { name: "durable-default", durable: true });
    await api(file.broker.url, "POST", "/queues", { name: "durable-no-history", durable: true, history_size: 0 });
    await api(file.broker.url, "POST", "/queues", { name: "transient-default" });
    const views = await Promise.all(["durable-default", "durable-no-history", "transient-default"].map(queueInfo));
    expect(views.map((v) => v.arguments.history_size)).toEqual([1_000, 0, 0]);

    const steady = await subscriber("durable-default");
    for (let n = 1; n <= 3; n++) await api(file.broker.url, "POST", "/publish", { exchange_name: "", key: "durable-default", payload: n });
    await steady.untilMessages(3);
    const resumed = await subscriber("durable-default", 1);
    await roundTrip(resumed);
    expect(resumed.frames.filter((f) => f.type === "GAP")).toEqual([]);
    expect(resumed.messages().map((m) => m.body)).toEqual([2, 3]);
  });
});

