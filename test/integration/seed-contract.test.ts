/**
 * Every line of the seed's wire contract (SEED-API.md), sent exactly as a seed client sends it:
 * the request bodies, the "Key" spelling, the SUBSCRIBE frame and the fields a seed client reads.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let broker: BrokerProcess;
let url: string;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  broker = await startBroker();
  url = broker.url;
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

/** A seed client: opens /ws and sends the seed's SUBSCRIBE frame for each queue, nothing else. */
async function seedClient(...queues: string[]): Promise<TestSocket> {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  for (const queue of queues) socket.send({ type: "SUBSCRIBE", payload: { queue_name: queue } });
  // The seed expects no reply to SUBSCRIBE, so readiness is observed from the broker's side.
  for (const queue of queues) {
    await until(async () => (await api(url, "GET", `/queues/${queue}`)).body.subscribers >= 1);
  }
  return socket;
}

const post = (path: string, body: unknown) => api(url, "POST", path, body);

describe("HTTP, with the seed's exact request bodies", () => {
  test("GET /ping answers 200 {\"message\":\"PONG\"}", async () => {
    const res = await fetch(`${url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "PONG" });
  });

  test("POST /exchanges {name, type: fanout|direct} answers 200", async () => {
    expect((await post("/exchanges", { name: "orders", type: "fanout" })).status).toBe(200);
    expect((await post("/exchanges", { name: "orders-direct", type: "direct" })).status).toBe(200);
  });

  test("POST /queues {name, durable: true} answers 200; durable is optional and defaults to false", async () => {
    expect((await post("/queues", { name: "billing", durable: true })).status).toBe(200);
    expect((await post("/queues", { name: "shipping" })).status).toBe(200);
    expect((await api(url, "GET", "/queues/billing")).body.durable).toBe(true);
    expect((await api(url, "GET", "/queues/shipping")).body.durable).toBe(false);
  });

  test('POST /bindings accepts "key", the seed\'s "Key", and no key at all', async () => {
    await post("/queues", { name: "bind-lower" });
    await post("/queues", { name: "bind-upper" });
    await post("/queues", { name: "bind-none" });
    expect((await post("/bindings", { exchange_name: "orders-direct", queue_name: "bind-lower", key: "eu" })).status).toBe(200);
    expect((await post("/bindings", { exchange_name: "orders-direct", queue_name: "bind-upper", Key: "us" })).status).toBe(200);
    expect((await post("/bindings", { exchange_name: "orders-direct", queue_name: "bind-none" })).status).toBe(200);
    const bindings = (await api(url, "GET", "/bindings?exchange=orders-direct")).body as { queue_name: string; key: string }[];
    const keyOf = (queue: string) => bindings.find((b) => b.queue_name === queue)?.key;
    expect([keyOf("bind-lower"), keyOf("bind-upper"), keyOf("bind-none")]).toEqual(["eu", "us", ""]);
  });

  test("POST /publish {exchange_name, key, payload} answers 200; payload is required", async () => {
    expect((await post("/publish", { exchange_name: "orders", key: "eu", payload: { total: 12 } })).status).toBe(200);
    const missing = await post("/publish", { exchange_name: "orders", key: "eu" });
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe("VALIDATION");
  });

  test("the seed's error codes: E001, E002, Q001, Q002", async () => {
    const e001 = await post("/exchanges", { name: "orders", type: "direct" });
    expect([e001.status, e001.body.error.code]).toEqual([409, "E001"]);
    const e002 = await post("/publish", { exchange_name: "no-such-exchange", key: "eu", payload: 1 });
    expect([e002.status, e002.body.error.code]).toEqual([404, "E002"]);
    const q001 = await post("/queues", { name: "billing", durable: false });
    expect([q001.status, q001.body.error.code]).toEqual([409, "Q001"]);
    const q002 = await post("/bindings", { exchange_name: "orders", queue_name: "no-such-queue", key: "eu" });
    expect([q002.status, q002.body.error.code]).toEqual([404, "Q002"]);
  });
});

describe("WebSocket, as a seed client uses it", () => {
  test("a delivery carries unique_id (the publish id), body (the payload) and TTL 0", async () => {
    await post("/exchanges", { name: "seed-frame", type: "fanout" });
    await post("/queues", { name: "seed-frame-q" });
    await post("/bindings", { exchange_name: "seed-frame", queue_name: "seed-frame-q", key: "eu" });
    const client = await seedClient("seed-frame-q");
    const published = await post("/publish", { exchange_name: "seed-frame", key: "eu", payload: { order: 7 } });
    await client.untilMessages(1);
    const frame = client.frames[0];
    expect(frame.unique_id).toMatch(UUID);
    expect(frame.unique_id).toBe(published.body.id);
    expect(frame.body).toEqual({ order: 7 });
    expect(frame.TTL).toBe(0);
    // The seed's three fields, unchanged, plus our additions.
    expect(Object.keys(frame)).toEqual(["type", "unique_id", "body", "TTL", "queue", "seq", "exchange", "routing_key", "headers", "timestamp"]);
    expect(frame).toMatchObject({ type: "MESSAGE", queue: "seed-frame-q", seq: 1, exchange: "seed-frame", routing_key: "eu", headers: {} });
    expect(typeof frame.timestamp).toBe("number");
  });

  test("a seed client gets no reply frame to SUBSCRIBE: the first frame it sees is the message", async () => {
    await post("/queues", { name: "seed-quiet" });
    const client = await seedClient("seed-quiet");
    await post("/publish", { exchange_name: "", key: "seed-quiet", payload: "first" });
    await client.until((frames) => frames.length >= 1);
    expect(client.frames.map((f) => f.type)).toEqual(["MESSAGE"]);
    expect(client.frames[0].body).toBe("first");
  });

  test("payloads of every JSON type arrive unchanged as body", async () => {
    await post("/queues", { name: "seed-types" });
    const client = await seedClient("seed-types");
    const payloads = ["text", "héllo ✓ 😀 \"quoted\" \\ \n", 42, -3.25, 0, true, false, null, { a: [1, { b: null }] }, [1, "two", null], {}, []];
    for (const payload of payloads) {
      const res = await post("/publish", { exchange_name: "", key: "seed-types", payload });
      expect(res.status).toBe(200);
    }
    await client.untilMessages(payloads.length);
    expect(client.messages().map((m) => m.body)).toEqual(payloads);
  });

  test("one connection may subscribe to several queues with several SUBSCRIBE frames", async () => {
    await post("/queues", { name: "multi-a" });
    await post("/queues", { name: "multi-b" });
    const client = await seedClient("multi-a", "multi-b");
    await post("/publish", { exchange_name: "", key: "multi-a", payload: "for a" });
    await post("/publish", { exchange_name: "", key: "multi-b", payload: "for b" });
    await client.untilMessages(2);
    expect(client.messages().map((m) => m.body).sort()).toEqual(["for a", "for b"]);
  });

  test("every connection subscribed to the queue gets every message", async () => {
    await post("/queues", { name: "seed-shared" });
    const one = await seedClient("seed-shared");
    const two = await seedClient("seed-shared");
    await until(async () => (await api(url, "GET", "/queues/seed-shared")).body.subscribers === 2);
    for (const n of [1, 2, 3]) await post("/publish", { exchange_name: "", key: "seed-shared", payload: n });
    await one.untilMessages(3);
    await two.untilMessages(3);
    expect(one.messages().map((m) => m.body)).toEqual([1, 2, 3]);
    expect(two.messages().map((m) => m.body)).toEqual([1, 2, 3]);
  });

  test("S001: UNSUBSCRIBE from a queue the connection is not subscribed to", async () => {
    const client = await seedClient();
    client.send({ type: "UNSUBSCRIBE", payload: { queue_name: "billing" } });
    await client.until((frames) => frames.length >= 1);
    expect(client.frames[0]).toMatchObject({ type: "ERROR", payload: { code: "S001" } });
  });
});

describe("routing semantics", () => {
  test("fanout: every bound queue gets the message, whatever the key", async () => {
    await post("/exchanges", { name: "fan", type: "fanout" });
    for (const [queue, key] of [["fan-1", "eu"], ["fan-2", "us"], ["fan-3", ""]] as const) {
      await post("/queues", { name: queue });
      await post("/bindings", { exchange_name: "fan", queue_name: queue, key });
    }
    const res = await post("/publish", { exchange_name: "fan", key: "somewhere-else", payload: "all" });
    expect(res.body.routed).toBe(3);
    for (const queue of ["fan-1", "fan-2", "fan-3"]) {
      expect((await api(url, "GET", `/queues/${queue}`)).body.messages).toBe(1);
    }
  });

  test("direct: only queues bound with exactly the key (case-sensitive); no match is dropped", async () => {
    await post("/exchanges", { name: "dir", type: "direct" });
    await post("/queues", { name: "dir-eu" });
    await post("/queues", { name: "dir-us" });
    await post("/bindings", { exchange_name: "dir", queue_name: "dir-eu", key: "eu" });
    await post("/bindings", { exchange_name: "dir", queue_name: "dir-us", Key: "us" });

    expect((await post("/publish", { exchange_name: "dir", key: "eu", payload: "eu-1" })).body.routed).toBe(1);
    expect((await post("/publish", { exchange_name: "dir", key: "EU", payload: "dropped" })).body.routed).toBe(0);
    expect((await post("/publish", { exchange_name: "dir", key: "asia", payload: "dropped" })).body.routed).toBe(0);
    // Go matched JSON fields case-insensitively, so a seed client may publish with "Key" too.
    expect((await post("/publish", { exchange_name: "dir", Key: "eu", payload: "eu-2" })).body.routed).toBe(1);

    // A dropped message is not waiting anywhere: a subscriber that comes later sees only eu-1.
    const client = await seedClient("dir-eu", "dir-us");
    await post("/publish", { exchange_name: "dir", key: "us", payload: "us-1" });
    await client.untilMessages(3);
    expect(client.messages().map((m) => m.body).sort()).toEqual(["eu-1", "eu-2", "us-1"]);
    expect((await api(url, "GET", "/queues/dir-eu")).body.published).toBe(2);
  });

  test("binding the same queue twice with the same key is a no-op: one copy per message", async () => {
    await post("/exchanges", { name: "twice", type: "direct" });
    await post("/queues", { name: "twice-q" });
    const first = await post("/bindings", { exchange_name: "twice", queue_name: "twice-q", key: "k" });
    const second = await post("/bindings", { exchange_name: "twice", queue_name: "twice-q", Key: "k" });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect((await api(url, "GET", "/bindings?exchange=twice")).body).toHaveLength(1);
    expect((await post("/publish", { exchange_name: "twice", key: "k", payload: 1 })).body.routed).toBe(1);
    expect((await api(url, "GET", "/queues/twice-q")).body.messages).toBe(1);
  });
});
