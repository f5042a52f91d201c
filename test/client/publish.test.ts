/** Publishing over HTTP and over the WebSocket with confirms; refusals arrive as the broker's codes. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, PubsubError, type Confirm, type PubsubClient } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { range, rejection } from "./support/collect.ts";

let broker: BrokerProcess;
let admin: PubsubClient;

beforeAll(async () => {
  broker = await startBroker();
  admin = connect(broker.url);
}, 30_000);
afterAll(async () => {
  await admin.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

describe("publish over the WebSocket", () => {
  test("resolves on CONFIRM with the queues reached; the queue holds them in order", async () => {
    await admin.queues.declare({ name: "ws-confirms", durable: true });
    const client = connect(broker.url);
    const confirms = await Promise.all(range(0, 99).map((n) => client.publish("", "ws-confirms", { n })));
    expect(confirms.every((c: Confirm) => c.routed === 1 && !c.duplicate)).toBe(true);
    expect(await admin.queues.get("ws-confirms")).toMatchObject({ messages: 100, last_seq: 100 });
    await client.close();
  });

  test("rejects with the broker's code: E002 for a missing exchange, Q005 for a full reject-publish queue", async () => {
    const client = connect(broker.url);
    const missing = await rejection(client.publish("no-such-exchange", "k", 1));
    expect(missing).toBeInstanceOf(PubsubError);
    expect(missing.code).toBe("E002");

    await admin.queues.declare({ name: "tiny", max_length: 1, overflow: "reject-publish" });
    await client.publish("", "tiny", "fits");
    expect(await rejection(client.publish("", "tiny", "does not"))).toMatchObject({ code: "Q005" });
    expect(await rejection(client.publish("", "tiny", undefined))).toMatchObject({ code: "VALIDATION" });
    await client.close();
  });

  test("a repeated message_id is confirmed as a duplicate and enqueued once", async () => {
    await admin.queues.declare({ name: "dedup" });
    const client = connect(broker.url);
    expect(await client.publish("", "dedup", 1, { message_id: "order-17" })).toEqual({ routed: 1, duplicate: false });
    expect(await client.publish("", "dedup", 1, { message_id: "order-17" })).toEqual({ routed: 0, duplicate: true });
    expect((await admin.queues.get("dedup")).messages).toBe(1);
    await client.close();
  });

  test("headers, ttl and delay travel with the message", async () => {
    await admin.queues.declare({ name: "with-fields", history_size: 10 });
    const client = connect(broker.url);
    const received: unknown[] = [];
    await client.subscribe("with-fields", (m) => void received.push(m));
    await client.publish("", "with-fields", "later", { headers: { trace: "t-1", n: 2 }, delay: 50, ttl: 60_000 });
    const started = Date.now();
    while (received.length === 0 && Date.now() - started < 5_000) await Bun.sleep(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(received[0]).toMatchObject({ body: "later", headers: { trace: "t-1", n: 2 }, queue: "with-fields", routing_key: "with-fields" });
    await client.close();
  });

  test("[CLOSE-1] close() waits for every outstanding confirm", async () => {
    await admin.queues.declare({ name: "closing", durable: true });
    const client = connect(broker.url);
    const confirms = range(1, 500).map((n) => client.publish("", "closing", n));
    expect(client.outstandingConfirms).toBe(500);
    await client.close();
    expect(client.outstandingConfirms).toBe(0);
    const settled = await Promise.allSettled(confirms);
    expect(settled.every((s) => s.status === "fulfilled")).toBe(true);
    expect((await admin.queues.get("closing")).messages).toBe(500);
    expect(await rejection(client.publish("", "closing", "after"))).toMatchObject({ code: "CLOSED" });
  });

  test("an unreachable broker fails the publish with UNREACHABLE instead of waiting", async () => {
    const nowhere = connect("http://127.0.0.1:1");
    expect(await rejection(nowhere.publish("", "q", 1))).toMatchObject({ code: "UNREACHABLE" });
    await nowhere.close();
  });
});

describe("publish over HTTP", () => {
  test("resolves with routed, durable and the message id", async () => {
    await admin.queues.declare({ name: "http-publish", durable: true });
    const result = await admin.publish("", "http-publish", { total: 42 }, { transport: "http" });
    expect(result).toMatchObject({ routed: 1, durable: 1, duplicate: false });
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("rejects with the broker's code and HTTP status", async () => {
    expect(await rejection(admin.publish("missing", "k", 1, { transport: "http" }))).toMatchObject({ code: "E002", status: 404 });
  });
});
