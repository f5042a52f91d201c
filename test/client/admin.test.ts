/** Administration over REST: the broker's answers typed from its own schemas, its errors as PubsubError codes. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, PubsubError, type PubsubClient } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { rejection } from "./support/collect.ts";

let broker: BrokerProcess;
let client: PubsubClient;

beforeAll(async () => {
  broker = await startBroker();
  client = connect(broker.url);
}, 30_000);
afterAll(async () => {
  await client.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

describe("exchanges", () => {
  test("declare, list, get, delete; declaring again alike is a no-op, otherwise E001", async () => {
    expect(await client.exchanges.declare({ name: "orders", type: "direct" })).toEqual({ created: true });
    expect(await client.exchanges.declare({ name: "orders", type: "direct" })).toEqual({ created: false });
    const conflict = await rejection(client.exchanges.declare({ name: "orders", type: "fanout" }));
    expect(conflict).toBeInstanceOf(PubsubError);
    expect(conflict).toMatchObject({ code: "E001", status: 409 });

    expect(await client.exchanges.get("orders")).toEqual({ name: "orders", type: "direct", durable: true, bindings: 0 });
    expect((await client.exchanges.list()).map((e) => e.name)).toContain("orders");
    await client.exchanges.delete("orders");
    expect(await rejection(client.exchanges.get("orders"))).toMatchObject({ code: "E002", status: 404 });
  });

  test("an unknown type is E004; a guarded delete of a bound exchange is E003", async () => {
    expect(await rejection(client.exchanges.declare({ name: "odd", type: "nope" }))).toMatchObject({ code: "E004", status: 422 });
    await client.exchanges.declare({ name: "guarded", type: "fanout" });
    await client.queues.declare({ name: "guarded-q" });
    await client.bindings.declare({ exchange_name: "guarded", queue_name: "guarded-q" });
    expect(await rejection(client.exchanges.delete("guarded", { ifUnused: true }))).toMatchObject({ code: "E003" });
    await client.exchanges.delete("guarded");
  });
});

describe("queues", () => {
  test("declare with arguments, get, list, purge, delete with guards", async () => {
    expect(await client.queues.declare({ name: "work", durable: true, max_length: 10, history_size: 5 })).toEqual({ created: true });
    expect(await rejection(client.queues.declare({ name: "work", durable: false }))).toMatchObject({ code: "Q001", status: 409 });
    for (let n = 0; n < 3; n++) await client.publish("", "work", n, { transport: "http" });

    const work = await client.queues.get("work");
    expect(work).toMatchObject({ name: "work", durable: true, messages: 3, last_seq: 3 });
    expect(work.arguments).toMatchObject({ max_length: 10, history_size: 5 });
    expect((await client.queues.list()).some((q) => q.name === "work")).toBe(true);

    expect(await rejection(client.queues.delete("work", { ifEmpty: true }))).toMatchObject({ code: "Q003" });
    expect(await client.queues.purge("work")).toEqual({ messages: 3 });
    expect(await client.queues.delete("work", { ifEmpty: true, ifUnused: true })).toEqual({ messages: 0 });
    expect(await rejection(client.queues.get("work"))).toMatchObject({ code: "Q002", status: 404 });
  });

  test("names go into paths encoded: the queue a/b is not the route /queues/a/b", async () => {
    await client.queues.declare({ name: "a/b?c#d" });
    expect((await client.queues.get("a/b?c#d")).name).toBe("a/b?c#d");
    await client.queues.delete("a/b?c#d");
  });

  test("a schema violation is VALIDATION, a bad name INVALID_NAME", async () => {
    expect(await rejection(client.queues.declare({ name: "q", max_length: -1 }))).toMatchObject({ code: "VALIDATION", status: 422 });
    expect(await rejection(client.queues.declare({ name: "" }))).toMatchObject({ code: "INVALID_NAME" });
  });
});

describe("bindings", () => {
  test("declare (twice is a no-op), list with filters, delete; deleting a missing one is B001", async () => {
    await client.exchanges.declare({ name: "events", type: "topic" });
    await client.queues.declare({ name: "audit" });
    await client.queues.declare({ name: "billing" });
    expect(await client.bindings.declare({ exchange_name: "events", queue_name: "audit", key: "#" })).toEqual({ created: true });
    expect(await client.bindings.declare({ exchange_name: "events", queue_name: "audit", key: "#" })).toEqual({ created: false });
    await client.bindings.declare({ exchange_name: "events", queue_name: "billing", key: "order.*" });

    expect(await client.bindings.list({ queue: "billing" })).toEqual([
      { exchange_name: "events", queue_name: "billing", key: "order.*", arguments: {} },
    ]);
    expect((await client.bindings.list({ exchange: "events" })).length).toBe(2);

    await client.bindings.delete({ exchange_name: "events", queue_name: "audit", key: "#" });
    const missing = await rejection(client.bindings.delete({ exchange_name: "events", queue_name: "audit", key: "#" }));
    expect(missing).toMatchObject({ code: "B001", status: 404 });
  });

  test("headers bindings carry their arguments", async () => {
    await client.exchanges.declare({ name: "by-headers", type: "headers" });
    await client.queues.declare({ name: "eu-large" });
    const args = { "x-match": "all", region: "eu", large: true };
    await client.bindings.declare({ exchange_name: "by-headers", queue_name: "eu-large", arguments: args });
    const routed = await client.publish("by-headers", "", { n: 1 }, { transport: "http", headers: { region: "eu", large: true } });
    expect(routed).toMatchObject({ routed: 1 });
    const missed = await client.publish("by-headers", "", { n: 2 }, { transport: "http", headers: { region: "us", large: true } });
    expect(missed.routed).toBe(0);
  });
});

describe("reaching the broker", () => {
  test("ping and metrics", async () => {
    await client.ping();
    expect((await client.metrics()).uptime_seconds).toBeGreaterThan(0);
  });

  test("nothing listening: UNREACHABLE, saying where", async () => {
    const nowhere = connect("http://127.0.0.1:1");
    const error = await rejection(nowhere.queues.list());
    expect(error).toMatchObject({ code: "UNREACHABLE" });
    expect(error.message).toContain("http://127.0.0.1:1");
    await nowhere.close();
  });

  test("a base URL with a path prefix keeps it", async () => {
    const prefixed = connect(`${broker.url}/behind/a/proxy`);
    expect(await rejection(prefixed.ping())).toMatchObject({ code: "NOT_FOUND", status: 404 });
    await prefixed.close();
  });
});
