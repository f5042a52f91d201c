/** The management API: declare, list, get, delete with guards, purge, unbind, metrics. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, testCluster, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

let broker: BrokerProcess;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

const call = (method: string, path: string, body?: unknown) => api(broker.url, method, path, body);
const q = (name: string) => `/queues/${encodeURIComponent(name)}`;
const publish = (queue: string, payload: unknown) => call("POST", "/publish", { exchange_name: "", key: queue, payload });

async function subscribe(queue: string): Promise<TestSocket> {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  socket.send({ type: "SUBSCRIBE", id: 1, payload: { queue_name: queue } });
  await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
  return socket;
}

describe("declaring", () => {
  test("an exchange: created true, then false for the same properties, 409 E001 for others", async () => {
    expect((await call("POST", "/exchanges", { name: "m-ex", type: "topic" })).body).toEqual({ created: true });
    expect((await call("POST", "/exchanges", { name: "m-ex", type: "topic", durable: true })).body).toEqual({ created: false });
    const otherType = await call("POST", "/exchanges", { name: "m-ex", type: "fanout" });
    const otherDurability = await call("POST", "/exchanges", { name: "m-ex", type: "topic", durable: false });
    for (const res of [otherType, otherDurability]) expect([res.status, res.body.error.code]).toEqual([409, "E001"]);
  });

  test("an exchange of an unknown type: 422 E004", async () => {
    const res = await call("POST", "/exchanges", { name: "m-bad-type", type: "fan-out" });
    expect([res.status, res.body.error.code]).toEqual([422, "E004"]);
    expect((await call("GET", "/exchanges/m-bad-type")).status).toBe(404);
  });

  test("a queue: created true, then false, 409 Q001 when durability differs", async () => {
    expect((await call("POST", "/queues", { name: "m-q", durable: true })).body).toEqual({ created: true });
    expect((await call("POST", "/queues", { name: "m-q", durable: true })).body).toEqual({ created: false });
    const res = await call("POST", "/queues", { name: "m-q" });
    expect([res.status, res.body.error.code]).toEqual([409, "Q001"]);
  });

  test("names: 1 to 255 bytes of UTF-8 without control characters, else 422 INVALID_NAME", async () => {
    const invalid = ["", "x".repeat(256), "é".repeat(128), "tab\there", "nul\u0000", "del\u007f", "c1\u0085"];
    for (const name of invalid) {
      for (const [path, body] of [["/queues", { name }], ["/exchanges", { name, type: "direct" }]] as const) {
        const res = await call("POST", path, body);
        expect({ name, status: res.status, code: res.body.error?.code }).toEqual({ name, status: 422, code: "INVALID_NAME" });
      }
    }
    const valid = ["x".repeat(255), `${"é".repeat(127)}a`, "orders/eu", "100%", "ünï cödé ✓", "a?b#c"];
    for (const name of valid) {
      expect((await call("POST", "/queues", { name })).status).toBe(200);
      // Any valid name can be addressed in a path once URL-encoded.
      expect((await call("GET", q(name))).body.name).toBe(name);
      expect((await call("DELETE", q(name))).status).toBe(200);
    }
  });
});

describe("reading", () => {
  test("GET /exchanges and /exchanges/:name show name, type, durable and the binding count", async () => {
    await call("POST", "/exchanges", { name: "m-read", type: "direct", durable: false });
    await call("POST", "/queues", { name: "m-read-q" });
    await call("POST", "/bindings", { exchange_name: "m-read", queue_name: "m-read-q", key: "a" });
    await call("POST", "/bindings", { exchange_name: "m-read", queue_name: "m-read-q", key: "b" });
    const expected = { name: "m-read", type: "direct", durable: false, bindings: 2 };
    expect((await call("GET", "/exchanges/m-read")).body).toEqual(expected);
    expect((await call("GET", "/exchanges")).body).toContainEqual(expected);
    const missing = await call("GET", "/exchanges/m-nope");
    expect([missing.status, missing.body.error.code]).toEqual([404, "E002"]);
  });

  test("GET /queues/:name counts messages, bytes, subscribers, published, delivered, last_seq", async () => {
    await call("POST", "/queues", { name: "m-stats" });
    for (const n of [1, 2, 3]) await publish("m-stats", { n });
    const waiting = (await call("GET", q("m-stats"))).body;
    // A cluster also names the node that holds the queue (CLUSTER-1); a single broker does not.
    expect(Object.keys(waiting).sort()).toEqual([
      "acked", "arguments", "bytes", "consumers", "dead_lettered", "delayed", "delivered", "durable", "last_seq", "messages", "messages_in_memory", "messages_on_disk", "name",
      ...(testCluster ? ["owner"] : []), "published", "subscribers", "unacked",
    ]);
    expect(waiting).toMatchObject({ name: "m-stats", durable: false, messages: 3, delayed: 0, messages_in_memory: 3, messages_on_disk: 0, subscribers: 0, published: 3, delivered: 0, last_seq: 3 });
    expect(waiting.bytes).toBeGreaterThan(0);

    const socket = await subscribe("m-stats");
    await socket.untilMessages(3);
    const drained = (await call("GET", q("m-stats"))).body;
    expect(drained).toMatchObject({ messages: 0, bytes: 0, subscribers: 1, published: 3, delivered: 3, last_seq: 3 });
    expect((await call("GET", "/queues")).body).toContainEqual(drained);

    const missing = await call("GET", q("m-nope"));
    expect([missing.status, missing.body.error.code]).toEqual([404, "Q002"]);
  });

  test("GET /bindings filters by exchange and by queue", async () => {
    await call("POST", "/exchanges", { name: "m-f1", type: "direct" });
    await call("POST", "/exchanges", { name: "m-f2", type: "direct" });
    await call("POST", "/queues", { name: "m-fq1" });
    await call("POST", "/queues", { name: "m-fq2" });
    await call("POST", "/bindings", { exchange_name: "m-f1", queue_name: "m-fq1", key: "k" });
    await call("POST", "/bindings", { exchange_name: "m-f1", queue_name: "m-fq2", key: "k" });
    await call("POST", "/bindings", { exchange_name: "m-f2", queue_name: "m-fq1", key: "k" });
    const pairs = async (query: string) =>
      ((await call("GET", `/bindings?${query}`)).body as { exchange_name: string; queue_name: string }[])
        .map((b) => `${b.exchange_name}>${b.queue_name}`)
        .sort();
    expect(await pairs("exchange=m-f1")).toEqual(["m-f1>m-fq1", "m-f1>m-fq2"]);
    expect(await pairs("queue=m-fq1")).toEqual(["m-f1>m-fq1", "m-f2>m-fq1"]);
    expect(await pairs("exchange=m-f2&queue=m-fq1")).toEqual(["m-f2>m-fq1"]);
    expect((await call("GET", "/bindings?exchange=m-f1")).body[0]).toEqual({
      exchange_name: "m-f1",
      queue_name: "m-fq1",
      key: "k",
      arguments: {},
    });
  });

  test("GET /metrics/json counts publishes, deliveries and connections", async () => {
    const before = (await call("GET", "/metrics/json")).body;
    await call("POST", "/queues", { name: "m-metrics" });
    const socket = await subscribe("m-metrics");
    await publish("m-metrics", 1);
    await socket.untilMessages(1);
    const after = (await call("GET", "/metrics/json")).body;
    expect(after.published - before.published).toBe(1);
    expect(after.delivered - before.delivered).toBe(1);
    expect(after.connections).toBeGreaterThanOrEqual(1);
    expect(typeof after.uptime_seconds).toBe("number");
  });
});

describe("deleting", () => {
  test("an exchange with bindings: 409 E003 with if_unused, deleted with its bindings without", async () => {
    await call("POST", "/exchanges", { name: "m-del-ex", type: "fanout" });
    await call("POST", "/queues", { name: "m-del-ex-q" });
    await call("POST", "/bindings", { exchange_name: "m-del-ex", queue_name: "m-del-ex-q" });
    const guarded = await call("DELETE", "/exchanges/m-del-ex?if_unused=true");
    expect([guarded.status, guarded.body.error.code]).toEqual([409, "E003"]);
    expect((await call("DELETE", "/exchanges/m-del-ex")).status).toBe(200);
    expect((await call("GET", "/exchanges/m-del-ex")).status).toBe(404);
    expect((await call("GET", "/bindings?queue=m-del-ex-q")).body).toEqual([]);
    const again = await call("DELETE", "/exchanges/m-del-ex");
    expect([again.status, again.body.error.code]).toEqual([404, "E002"]);
  });

  test("an unused exchange with if_unused=true", async () => {
    await call("POST", "/exchanges", { name: "m-unused", type: "direct" });
    expect((await call("DELETE", "/exchanges/m-unused?if_unused=true")).status).toBe(200);
  });

  test("a queue with a subscriber: 409 Q004 with if_unused", async () => {
    await call("POST", "/queues", { name: "m-in-use" });
    await subscribe("m-in-use");
    const res = await call("DELETE", `${q("m-in-use")}?if_unused=true`);
    expect([res.status, res.body.error.code]).toEqual([409, "Q004"]);
  });

  test("a queue holding messages: 409 Q003 with if_empty", async () => {
    await call("POST", "/queues", { name: "m-full" });
    await publish("m-full", 1);
    const res = await call("DELETE", `${q("m-full")}?if_empty=true`);
    expect([res.status, res.body.error.code]).toEqual([409, "Q003"]);
    expect((await call("GET", q("m-full"))).body.messages).toBe(1);
  });

  test("[EXCL-1] an exclusive queue cannot be deleted or purged over HTTP (409 Q006); it goes with its connection", async () => {
    const owner = await TestSocket.open(broker.wsUrl);
    sockets.push(owner);
    owner.send({ type: "DECLARE_QUEUE", payload: { name: "m-excl", exclusive: true } });
    await owner.until((frames) => frames.some((f) => f.type === "QUEUE_DECLARED"));
    await publish("m-excl", "kept");
    for (const path of [q("m-excl"), `${q("m-excl")}?if_unused=true&if_empty=true`, `${q("m-excl")}/messages`]) {
      const refused = await call("DELETE", path);
      expect([refused.status, refused.body.error.code]).toEqual([409, "Q006"]);
    }
    expect((await call("GET", q("m-excl"))).body).toMatchObject({ messages: 1 });
    owner.close();
    await until(async () => (await call("GET", q("m-excl"))).status === 404);
  });

  test("if_empty counts ready messages, as RabbitMQ's does; with if_unused nothing a consumer holds is lost", async () => {
    await call("POST", "/queues", { name: "m-held" });
    await publish("m-held", "held");
    const worker = await TestSocket.open(broker.wsUrl);
    sockets.push(worker);
    worker.send({ type: "CONSUME", payload: { queue_name: "m-held", prefetch: 1 } });
    await worker.untilMessages(1);
    expect((await call("GET", q("m-held"))).body).toMatchObject({ messages: 0, unacked: 1 });
    const guarded = await call("DELETE", `${q("m-held")}?if_unused=true&if_empty=true`);
    expect([guarded.status, guarded.body.error.code]).toEqual([409, "Q004"]);
    // The consumer leaves: what it held is ready again, and if_empty sees it.
    worker.close();
    await until(async () => (await call("GET", q("m-held"))).body.messages === 1);
    const full = await call("DELETE", `${q("m-held")}?if_empty=true`);
    expect([full.status, full.body.error.code]).toEqual([409, "Q003"]);
  });

  test("a queue: answers the messages dropped, removes its bindings, tells subscribers Q002", async () => {
    await call("POST", "/exchanges", { name: "m-dq-ex", type: "fanout" });
    await call("POST", "/queues", { name: "m-dq" });
    await call("POST", "/queues", { name: "m-dq-other" });
    await call("POST", "/bindings", { exchange_name: "m-dq-ex", queue_name: "m-dq" });
    const socket = await subscribe("m-dq-other");
    socket.send({ type: "SUBSCRIBE", payload: { queue_name: "m-dq" } });
    await until(async () => (await call("GET", q("m-dq"))).body.subscribers === 1);

    const deleted = await call("DELETE", q("m-dq"));
    expect(deleted).toEqual({ status: 200, body: { messages: 0 } });
    await socket.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.code === "Q002"));
    expect((await call("GET", "/bindings?exchange=m-dq-ex")).body).toEqual([]);
    expect((await call("GET", q("m-dq"))).status).toBe(404);

    // The socket stays open and keeps its other subscription.
    await publish("m-dq-other", "after delete");
    await socket.until((frames) => frames.some((f) => f.body === "after delete"));
  });

  test("a queue with waiting messages reports how many were dropped", async () => {
    await call("POST", "/queues", { name: "m-drop", durable: true });
    for (const n of [1, 2, 3, 4]) await publish("m-drop", n);
    expect((await call("DELETE", q("m-drop"))).body).toEqual({ messages: 4 });
    const missing = await call("DELETE", q("m-drop"));
    expect([missing.status, missing.body.error.code]).toEqual([404, "Q002"]);
  });

  test("purge drops waiting messages and answers how many; 404 Q002 for a missing queue", async () => {
    await call("POST", "/queues", { name: "m-purge" });
    for (const n of [1, 2, 3]) await publish("m-purge", n);
    expect((await call("DELETE", `${q("m-purge")}/messages`)).body).toEqual({ messages: 3 });
    expect((await call("GET", q("m-purge"))).body).toMatchObject({ messages: 0, bytes: 0 });
    // A subscriber that comes afterwards sees only what was published after the purge.
    await publish("m-purge", "fresh");
    const socket = await subscribe("m-purge");
    await socket.untilMessages(1);
    expect(socket.messages().map((m) => [m.body, m.seq])).toEqual([["fresh", 4]]);
    const missing = await call("DELETE", `${q("m-nope")}/messages`);
    expect([missing.status, missing.body.error.code]).toEqual([404, "Q002"]);
  });

  test("unbind stops the routing; unbinding again is 404 B001", async () => {
    await call("POST", "/exchanges", { name: "m-unbind", type: "direct" });
    await call("POST", "/queues", { name: "m-unbind-q" });
    const binding = { exchange_name: "m-unbind", queue_name: "m-unbind-q", Key: "k" };
    await call("POST", "/bindings", binding);
    expect((await call("POST", "/publish", { exchange_name: "m-unbind", key: "k", payload: 1 })).body.routed).toBe(1);
    expect((await call("DELETE", "/bindings", binding)).status).toBe(200);
    expect((await call("POST", "/publish", { exchange_name: "m-unbind", key: "k", payload: 2 })).body.routed).toBe(0);
    const again = await call("DELETE", "/bindings", binding);
    expect([again.status, again.body.error.code]).toEqual([404, "B001"]);
    const noExchange = await call("DELETE", "/bindings", { ...binding, exchange_name: "m-nope" });
    expect([noExchange.status, noExchange.body.error.code]).toEqual([404, "E002"]);
  });

  test("binding to a missing exchange is 404 E002, to a missing queue 404 Q002", async () => {
    await call("POST", "/exchanges", { name: "m-b-ex", type: "direct" });
    await call("POST", "/queues", { name: "m-b-q" });
    const noExchange = await call("POST", "/bindings", { exchange_name: "m-nope", queue_name: "m-b-q", key: "k" });
    const noQueue = await call("POST", "/bindings", { exchange_name: "m-b-ex", queue_name: "m-nope", key: "k" });
    expect([noExchange.status, noExchange.body.error.code]).toEqual([404, "E002"]);
    expect([noQueue.status, noQueue.body.error.code]).toEqual([404, "Q002"]);
  });
});
