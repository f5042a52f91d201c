/**
 * Queue limits and publish options: a full `reject-publish` queue refuses the publish with Q005
 * (429 over HTTP, an ERROR frame over WebSocket) and enqueues nothing anywhere; `drop-head` keeps
 * the newest; `delay` holds a message back; past MAX_QUEUED_BYTES publishes get 503 FLOW_CONTROL
 * until the queues drain.
 */
import { describe, expect, test } from "bun:test";
import { api, removeDir, startBroker } from "../support/broker-process.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { bodies, declareQueue, openConsumer, openSubscriber, publish, queueInfo, roundTrip } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const file = brokerForFile();

const publishRaw = (url: string, queue: string, payload: unknown, extra: Record<string, unknown> = {}) =>
  api(url, "POST", "/publish", { exchange_name: "", key: queue, payload, ...extra });

async function socket(): Promise<TestSocket> {
  const s = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(s);
  return s;
}

/** Sends one WebSocket PUBLISH with an id and returns the frame that answers it. */
async function publishOverWs(publisher: TestSocket, id: string, fields: Record<string, unknown>): Promise<any> {
  publisher.send({ type: "PUBLISH", payload: { id, exchange_name: "", ...fields } });
  await publisher.until((frames) => frames.some((f) => f.payload?.id === id));
  return publisher.frames.find((f) => f.payload?.id === id);
}

describe("overflow reject-publish", () => {
  test("max_length: the publish past it is 429 Q005 over HTTP and nothing is enqueued", async () => {
    await declareQueue(file.broker.url, "full", { max_length: 2, overflow: "reject-publish" });
    expect((await publishRaw(file.broker.url, "full", 1)).status).toBe(200);
    expect((await publishRaw(file.broker.url, "full", 2)).status).toBe(200);
    const refused = await publishRaw(file.broker.url, "full", 3);
    expect(refused).toEqual({ status: 429, body: { error: { code: "Q005", message: expect.any(String) } } });
    expect(await queueInfo(file.broker.url, "full")).toMatchObject({ messages: 2, published: 2, dead_lettered: 0 });

    // Room again once a message is taken: the queue holds exactly what was accepted.
    const reader = await openSubscriber(file.broker.wsUrl, "full");
    file.sockets.push(reader);
    await reader.untilMessages(2);
    expect((await publishRaw(file.broker.url, "full", 4)).status).toBe(200);
    await reader.untilMessages(3);
    expect(bodies(reader.messages())).toEqual([1, 2, 4]);
  });

  test("over WebSocket: an ERROR frame with the publish's id and Q005; the socket stays up", async () => {
    await declareQueue(file.broker.url, "full-ws", { max_length: 1, overflow: "reject-publish" });
    const publisher = await socket();
    expect(await publishOverWs(publisher, "p1", { key: "full-ws", payload: 1 })).toMatchObject({ type: "CONFIRM", payload: { routed: 1 } });
    expect(await publishOverWs(publisher, "p2", { key: "full-ws", payload: 2 })).toEqual({
      type: "ERROR",
      payload: { code: "Q005", message: expect.any(String), id: "p2" },
    });
    await roundTrip(publisher);
    expect(publisher.closeCode).toBeUndefined();
    expect((await queueInfo(file.broker.url, "full-ws")).messages).toBe(1);
  });

  test("a publish routed to a full queue and to others enqueues in none of them", async () => {
    await api(file.broker.url, "POST", "/exchanges", { name: "fan-full", type: "fanout" });
    await declareQueue(file.broker.url, "fan-roomy");
    await declareQueue(file.broker.url, "fan-tight", { max_length: 1, overflow: "reject-publish" });
    for (const queue of ["fan-roomy", "fan-tight"]) await api(file.broker.url, "POST", "/bindings", { exchange_name: "fan-full", queue_name: queue });
    expect((await api(file.broker.url, "POST", "/publish", { exchange_name: "fan-full", payload: 1 })).status).toBe(200);
    const refused = await api(file.broker.url, "POST", "/publish", { exchange_name: "fan-full", payload: 2 });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("Q005");
    expect((await queueInfo(file.broker.url, "fan-roomy")).messages).toBe(1);
    expect((await queueInfo(file.broker.url, "fan-tight")).messages).toBe(1);
  });

  test("max_bytes: a message that would pass the byte limit is refused; messages out with a consumer do not count", async () => {
    const payload = "b".repeat(300); // with its overhead two fit in 1000 bytes, three do not
    await declareQueue(file.broker.url, "byte-full", { max_bytes: 1_000, overflow: "reject-publish" });
    expect((await publishRaw(file.broker.url, "byte-full", payload)).status).toBe(200);
    expect((await publishRaw(file.broker.url, "byte-full", payload)).status).toBe(200);
    const refused = await publishRaw(file.broker.url, "byte-full", payload);
    expect([refused.status, refused.body.error.code]).toEqual([429, "Q005"]);
    const info = await queueInfo(file.broker.url, "byte-full");
    expect(info.messages).toBe(2);
    expect(info.bytes).toBeLessThanOrEqual(1_000);

    const worker = await openConsumer(file.broker.wsUrl, "byte-full", 1);
    file.sockets.push(worker);
    await worker.untilMessages(1);
    expect((await publishRaw(file.broker.url, "byte-full", payload)).status).toBe(200);
  });
});

describe("overflow drop-head", () => {
  test("max_length: the newest messages are kept, the oldest dropped", async () => {
    await declareQueue(file.broker.url, "newest", { max_length: 3 });
    for (let n = 1; n <= 6; n++) expect((await publishRaw(file.broker.url, "newest", n)).status).toBe(200);
    expect(await queueInfo(file.broker.url, "newest")).toMatchObject({ messages: 3, dead_lettered: 3 });
    const reader = await openSubscriber(file.broker.wsUrl, "newest");
    file.sockets.push(reader);
    await reader.untilMessages(3);
    expect(bodies(reader.messages())).toEqual([4, 5, 6]);
  });

  test("max_bytes: only as many of the newest as fit", async () => {
    const payload = "d".repeat(300);
    await declareQueue(file.broker.url, "newest-bytes", { max_bytes: 1_000, overflow: "drop-head" });
    for (let n = 1; n <= 5; n++) expect((await publishRaw(file.broker.url, "newest-bytes", `${n}${payload}`)).status).toBe(200);
    const info = await queueInfo(file.broker.url, "newest-bytes");
    expect(info.messages).toBe(2);
    expect(info.bytes).toBeLessThanOrEqual(1_000);
    const reader = await openSubscriber(file.broker.wsUrl, "newest-bytes");
    file.sockets.push(reader);
    await reader.untilMessages(2);
    expect(reader.messages().map((m) => (m.body as string)[0])).toEqual(["4", "5"]);
  });
});

describe("delay", () => {
  test("a delayed message is not delivered before its delay; undelayed ones published after it go first", async () => {
    const delay = 400;
    await declareQueue(file.broker.url, "later");
    const reader = await openSubscriber(file.broker.wsUrl, "later");
    file.sockets.push(reader);
    const delayed = await publish(file.broker.url, "later", "delayed", { delay });
    await publish(file.broker.url, "later", "now");
    const receivedAt: number[] = [];
    reader.ws.addEventListener("message", () => receivedAt.push(Date.now()));
    await reader.untilMessages(2, 5_000);

    expect(bodies(reader.messages())).toEqual(["now", "delayed"]);
    const late = reader.messages()[1];
    expect(late.unique_id).toBe(delayed.id);
    // The broker stamps `timestamp` when it accepts the publish; same machine, same clock.
    expect(receivedAt[receivedAt.length - 1]! - late.timestamp).toBeGreaterThanOrEqual(delay);
  });

  test("a delayed message counts as waiting, and goes to a consumer once due", async () => {
    await declareQueue(file.broker.url, "later-work");
    await publish(file.broker.url, "later-work", "job", { delay: 60_000 });
    expect((await queueInfo(file.broker.url, "later-work")).messages).toBe(1);
    const worker = await openConsumer(file.broker.wsUrl, "later-work", 5);
    file.sockets.push(worker);
    await publish(file.broker.url, "later-work", "soon", { delay: 100 });
    await worker.untilMessages(1);
    await roundTrip(worker);
    expect(bodies(worker.messages())).toEqual(["soon"]);
    expect((await queueInfo(file.broker.url, "later-work")).messages).toBe(1);
  });

  test("ttl and delay must be whole numbers of milliseconds", async () => {
    for (const extra of [{ delay: -1 }, { delay: 1.5 }, { ttl: -5 }, { ttl: 0.5 }]) {
      const res = await publishRaw(file.broker.url, "later", 1, extra);
      expect([extra, res.status, res.body.error.code]).toEqual([extra, 422, "VALIDATION"]);
    }
  });
});

test("MAX_QUEUED_BYTES: publishes past it get 503 FLOW_CONTROL (HTTP) or an ERROR (WebSocket) until the queues drain", async () => {
  const limit = 1 << 20; // the smallest the broker accepts
  const own = await startBroker({ env: { MAX_QUEUED_BYTES: String(limit) } });
  try {
    await declareQueue(own.url, "hoard");
    const chunk = "f".repeat(100_000);
    let accepted = 0;
    let refused: { status: number; body: any } | undefined;
    while (refused === undefined) {
      if (accepted > 20) throw new Error("never refused");
      const res = await publishRaw(own.url, "hoard", chunk);
      if (res.status === 200) accepted++;
      else refused = res;
    }
    expect(refused).toEqual({ status: 503, body: { error: { code: "FLOW_CONTROL", message: expect.any(String) } } });
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect((await queueInfo(own.url, "hoard")).messages).toBe(accepted);

    const publisher = await TestSocket.open(own.wsUrl);
    file.sockets.push(publisher);
    publisher.send({ type: "PUBLISH", payload: { id: "ws-1", exchange_name: "", key: "hoard", payload: "small" } });
    await publisher.until((frames) => frames.some((f) => f.payload?.id === "ws-1"));
    expect(publisher.frames[0]).toMatchObject({ type: "ERROR", payload: { code: "FLOW_CONTROL", id: "ws-1" } });
    // Other queues are refused too: the limit is the broker's.
    await declareQueue(own.url, "other");
    expect((await publishRaw(own.url, "other", "x")).status).toBe(503);

    // Draining frees the room: a subscriber takes the backlog, and publishing works again.
    const reader = await openSubscriber(own.wsUrl, "hoard");
    file.sockets.push(reader);
    await reader.untilMessages(accepted, 10_000);
    await until(async () => (await publishRaw(own.url, "hoard", "after")).status === 200, 5_000, "publishing again");
    await reader.untilMessages(accepted + 1);
    expect(reader.messages().at(-1)!.body).toBe("after");
    const metrics = (await api(own.url, "GET", "/metrics/json")).body;
    expect(metrics.queued_bytes).toBeLessThan(limit);
  } finally {
    await own.stop();
    removeDir(own.dataDir);
  }
}, 20_000);
