/**
 * Publisher confirms over WebSocket: a PUBLISH with an `id` is answered by a CONFIRM naming it, or
 * by an ERROR carrying it; many may be in flight. Idempotent publish: a `message_id` seen within
 * the dedup window is confirmed (`duplicate: true`) but enqueued once, also across kill -9 for a
 * durable queue.
 */
import { describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { ack, bodies, declareQueue, openConsumer, openSubscriber, publish, queueInfo, roundTrip } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const file = brokerForFile();

async function publisher(url = file.broker.wsUrl): Promise<TestSocket> {
  const socket = await TestSocket.open(url);
  file.sockets.push(socket);
  return socket;
}

const answerTo = (socket: TestSocket, id: unknown) => socket.frames.find((f) => f.payload?.id === id);

async function publishOverWs(socket: TestSocket, id: string, fields: Record<string, unknown>): Promise<any> {
  socket.send({ type: "PUBLISH", payload: { id, exchange_name: "", ...fields } });
  await socket.until((frames) => frames.some((f) => f.payload?.id === id));
  return answerTo(socket, id);
}

describe("confirms", () => {
  test("1000 publishes in flight to a durable queue: each id confirmed exactly once, all enqueued in order", async () => {
    await declareQueue(file.broker.url, "confirmed", { durable: true });
    const socket = await publisher();
    const count = 1_000;
    // Numeric and string ids both come back as sent.
    const ids = Array.from({ length: count }, (_, i) => (i % 2 === 0 ? i : `s${i}`));
    for (const [i, id] of ids.entries()) socket.send({ type: "PUBLISH", id, payload: { exchange_name: "", key: "confirmed", payload: i } });
    await socket.until((frames) => frames.filter((f) => f.type === "CONFIRM").length >= count, 15_000);
    await roundTrip(socket);

    const confirms = socket.frames.filter((f) => f.type === "CONFIRM");
    expect(confirms).toHaveLength(count);
    expect(new Set(confirms.map((f) => f.payload.id))).toEqual(new Set(ids));
    expect(confirms.every((f) => f.payload.routed === 1 && f.payload.duplicate === undefined)).toBe(true);
    expect(socket.frames.filter((f) => f.type === "ERROR")).toEqual([]);
    expect((await queueInfo(file.broker.url, "confirmed")).messages).toBe(count);

    const reader = await openSubscriber(file.broker.wsUrl, "confirmed");
    file.sockets.push(reader);
    await reader.untilMessages(count, 10_000);
    expect(bodies(reader.messages())).toEqual([...Array(count).keys()]);
  }, 20_000);

  test("an unroutable publish is confirmed with routed 0; a missing exchange is an ERROR E002 with the id", async () => {
    const socket = await publisher();
    expect(await publishOverWs(socket, "nowhere", { key: "no-such-queue", payload: 1 })).toEqual({
      type: "CONFIRM",
      payload: { routed: 0, id: "nowhere" },
    });
    socket.send({ type: "PUBLISH", payload: { id: "missing", exchange_name: "no-such-exchange", key: "k", payload: 1 } });
    await socket.until((frames) => frames.some((f) => f.payload?.id === "missing"));
    expect(answerTo(socket, "missing")).toEqual({ type: "ERROR", payload: { code: "E002", message: expect.any(String), id: "missing" } });
  });

  test("a PUBLISH without an id is not answered when it succeeds", async () => {
    await declareQueue(file.broker.url, "fire-and-forget");
    const socket = await publisher();
    socket.send({ type: "PUBLISH", payload: { exchange_name: "", key: "fire-and-forget", payload: 1 } });
    await until(async () => (await queueInfo(file.broker.url, "fire-and-forget")).messages === 1);
    await roundTrip(socket);
    expect(socket.frames.map((f) => f.type)).toEqual(["PONG"]);
  });

  test("[ERROR-ID-1] an invalid PUBLISH with an id is refused with an ERROR carrying that id", async () => {
    const socket = await publisher();
    const invalid: Record<string, Record<string, unknown>> = {
      "no-payload": { key: "k" },
      "bad-ttl": { key: "k", payload: 1, ttl: -1 },
      "bad-delay": { key: "k", payload: 1, delay: "soon" },
      "bad-headers": { key: "k", payload: 1, headers: "not an object" },
      "bad-message-id": { key: "k", payload: 1, message_id: "" },
    };
    for (const [id, fields] of Object.entries(invalid)) socket.send({ type: "PUBLISH", payload: { id, exchange_name: "", ...fields } });
    await roundTrip(socket);
    for (const id of Object.keys(invalid)) {
      expect({ id, answer: answerTo(socket, id) }).toEqual({ id, answer: { type: "ERROR", payload: { code: "VALIDATION", message: expect.any(String), id } } });
    }
  });
});

describe("idempotent publish", () => {
  test("HTTP: the same message_id again is 200 duplicate:true and is not enqueued twice", async () => {
    await declareQueue(file.broker.url, "dedup-http");
    const first = await publish(file.broker.url, "dedup-http", "once", { message_id: "order-1" });
    const again = await publish(file.broker.url, "dedup-http", "once", { message_id: "order-1" });
    const other = await publish(file.broker.url, "dedup-http", "twice", { message_id: "order-2" });
    expect(first).toMatchObject({ routed: 1, duplicate: false });
    expect(again).toMatchObject({ duplicate: true });
    expect(other).toMatchObject({ routed: 1, duplicate: false });
    expect((await queueInfo(file.broker.url, "dedup-http")).messages).toBe(2);
  });

  test("WebSocket: CONFIRM with duplicate:true; HTTP and WebSocket share the window", async () => {
    await declareQueue(file.broker.url, "dedup-ws");
    const socket = await publisher();
    expect(await publishOverWs(socket, "a", { key: "dedup-ws", payload: 1, message_id: "m-1" })).toEqual({ type: "CONFIRM", payload: { routed: 1, id: "a" } });
    expect(await publishOverWs(socket, "b", { key: "dedup-ws", payload: 1, message_id: "m-1" })).toMatchObject({
      type: "CONFIRM",
      payload: { id: "b", duplicate: true },
    });
    expect(await publish(file.broker.url, "dedup-ws", 1, { message_id: "m-1" })).toMatchObject({ duplicate: true });
    expect((await queueInfo(file.broker.url, "dedup-ws")).messages).toBe(1);
  });

  test("many publishes of one message_id in flight at once enqueue it once", async () => {
    await declareQueue(file.broker.url, "dedup-burst", { durable: true });
    const socket = await publisher();
    for (let i = 0; i < 50; i++) socket.send({ type: "PUBLISH", id: i, payload: { exchange_name: "", key: "dedup-burst", payload: i, message_id: "burst" } });
    await socket.until((frames) => frames.filter((f) => f.type === "CONFIRM").length === 50);
    const confirms = socket.frames.filter((f) => f.type === "CONFIRM");
    expect(confirms.filter((f) => f.payload.duplicate !== true)).toHaveLength(1);
    expect((await queueInfo(file.broker.url, "dedup-burst")).messages).toBe(1);
  });

  test("a publish refused with Q005 does not use up its message_id", async () => {
    await declareQueue(file.broker.url, "dedup-full", { max_length: 1, overflow: "reject-publish" });
    await publish(file.broker.url, "dedup-full", "first");
    const refused = await api(file.broker.url, "POST", "/publish", { exchange_name: "", key: "dedup-full", payload: "retry-me", message_id: "r-1" });
    expect(refused.status).toBe(429);
    const reader = await openSubscriber(file.broker.wsUrl, "dedup-full");
    file.sockets.push(reader);
    await reader.untilMessages(1);
    expect(await publish(file.broker.url, "dedup-full", "retry-me", { message_id: "r-1" })).toMatchObject({ routed: 1, duplicate: false });
    await reader.untilMessages(2);
    expect(bodies(reader.messages())).toEqual(["first", "retry-me"]);
  });

  test("after the window the same message_id is a new message", async () => {
    const own = await startBroker({ env: { DEDUP_WINDOW_SECONDS: "0.2" } });
    try {
      await declareQueue(own.url, "short-window");
      expect(await publish(own.url, "short-window", 1, { message_id: "w" })).toMatchObject({ duplicate: false });
      // Until the window passes the answer is duplicate:true and nothing is enqueued; then it is new.
      await until(async () => (await publish(own.url, "short-window", 1, { message_id: "w" })).duplicate === false, 5_000, "the window to pass");
      expect((await queueInfo(own.url, "short-window")).messages).toBe(2);
    } finally {
      await own.stop();
      removeDir(own.dataDir);
    }
  });

  test("a message_id confirmed for a durable queue is still known after kill -9, and after its message was acked and a clean restart", async () => {
    const env = { CHECKPOINT_IN_SECONDS: "3600" };
    const brokers: BrokerProcess[] = [];
    const start = async (dataDir?: string) => {
      const started = await startBroker({ env, dataDir });
      brokers.push(started);
      return started;
    };
    try {
      // 1st run: "acked" is consumed and acked; "waiting" stays. A clean stop checkpoints: the acked row goes.
      const first = await start();
      await declareQueue(first.url, "dedup-durable", { durable: true });
      const socket = await publisher(first.wsUrl);
      expect(await publishOverWs(socket, "p1", { key: "dedup-durable", payload: 1, message_id: "acked" })).toMatchObject({ type: "CONFIRM" });
      const worker = await openConsumer(first.wsUrl, "dedup-durable", 1);
      file.sockets.push(worker);
      await worker.untilMessages(1);
      ack(worker, worker.messages()[0], "a");
      await worker.until((frames) => frames.some((f) => f.type === "ACKED"));
      worker.close();
      await until(async () => (await queueInfo(first.url, "dedup-durable")).consumers === 0);
      expect(await publishOverWs(socket, "p2", { key: "dedup-durable", payload: 2, message_id: "waiting" })).toMatchObject({ type: "CONFIRM" });
      expect(await first.stop()).toBe(0);

      // 2nd run: both ids are known; a third is confirmed, then kill -9 right after the CONFIRM.
      const second = await start(first.dataDir);
      expect(await publish(second.url, "dedup-durable", 1, { message_id: "acked" })).toMatchObject({ duplicate: true });
      expect(await publish(second.url, "dedup-durable", 2, { message_id: "waiting" })).toMatchObject({ duplicate: true });
      const ws = await publisher(second.wsUrl);
      expect(await publishOverWs(ws, "p3", { key: "dedup-durable", payload: 3, message_id: "crashed" })).toEqual({
        type: "CONFIRM",
        payload: { routed: 1, id: "p3" },
      });
      await second.kill9();

      // 3rd run: all three known, over HTTP and WebSocket; the queue holds each unacked message once.
      const third = await start(first.dataDir);
      for (const id of ["acked", "waiting", "crashed"]) {
        expect(await publish(third.url, "dedup-durable", 0, { message_id: id })).toMatchObject({ duplicate: true });
      }
      const ws3 = await publisher(third.wsUrl);
      expect(await publishOverWs(ws3, "p4", { key: "dedup-durable", payload: 3, message_id: "crashed" })).toMatchObject({
        type: "CONFIRM",
        payload: { duplicate: true },
      });
      const reader = await openSubscriber(third.wsUrl, "dedup-durable");
      file.sockets.push(reader);
      await reader.untilMessages(2);
      await roundTrip(reader);
      expect(bodies(reader.messages())).toEqual([2, 3]);
    } finally {
      for (const b of brokers) if (b.proc.exitCode === null) await b.kill9();
      removeDir(brokers[0]!.dataDir);
    }
  }, 20_000);
});
