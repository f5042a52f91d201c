/**
 * The broker process on Postgres (DATABASE_URL): what was answered survives kill -9, and no
 * SQLite file appears. Each test runs in a fresh database, dropped afterwards.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";
import { createDatabase, type TestDatabase } from "./databases.ts";
import { publishMany } from "./publishing.ts";

const live: BrokerProcess[] = [];
const databases: TestDatabase[] = [];
const sockets: TestSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  for (const broker of live.splice(0)) {
    if (broker.proc.exitCode === null) await broker.kill9();
    removeDir(broker.dataDir);
  }
  for (const database of databases.splice(0)) await database.drop();
});

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createDatabase();
  databases.push(database);
  return database;
}

async function start(database: TestDatabase): Promise<BrokerProcess> {
  // No checkpoint during a test: what survives is what publish committed.
  const broker = await startBroker({ env: { DATABASE_URL: database.url, CHECKPOINT_IN_SECONDS: "3600" } });
  live.push(broker);
  return broker;
}

async function drain(broker: BrokerProcess, queue: string, count: number): Promise<any[]> {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  socket.subscribe(queue);
  await socket.untilMessages(count, 10_000);
  return socket.messages();
}

const post = async (broker: BrokerProcess, path: string, body: unknown) => {
  const res = await api(broker.url, "POST", path, body);
  if (res.status !== 200) throw new Error(`${path} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

describe("broker on Postgres", () => {
  test("[CONFIRM-1] kill -9 right after the last answer of 64-in-flight publishes loses none; order and bodies kept", async () => {
    const database = await freshDatabase();
    let broker = await start(database);
    expect(broker.output()).toContain(`database postgres 127.0.0.1:5432/${database.name}`);
    await post(broker, "/exchanges", { name: "orders", type: "direct" });
    await post(broker, "/queues", { name: "billing", durable: true });
    await post(broker, "/bindings", { exchange_name: "orders", queue_name: "billing", key: "eu" });
    const count = 600;
    const answers = await publishMany(broker.url, "billing", count, 64);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    // Routed through a real exchange too, with headers.
    await post(broker, "/publish", { exchange_name: "orders", key: "eu", payload: { last: "✓" }, headers: { n: 1 } });
    await broker.kill9();
    // Nothing of SQLite's: the data dir stays empty.
    expect(readdirSync(broker.dataDir)).toEqual([]);

    broker = await start(database);
    expect((await api(broker.url, "GET", "/queues/billing")).body.messages).toBe(count + 1);
    const messages = await drain(broker, "billing", count + 1);
    // Stored in commit order: concurrent publishes may commit out of payload order, not out of seq order.
    expect(messages.map((m) => m.seq)).toEqual([...Array(count + 1).keys()].map((i) => i + 1));
    expect(messages.slice(0, count).map((m) => m.body).sort((a, b) => a - b)).toEqual([...Array(count).keys()]);
    expect(new Set(messages.slice(0, count).map((m) => m.unique_id))).toEqual(new Set(answers.map((a) => a.id)));
    expect(messages[count]).toMatchObject({ exchange: "orders", routing_key: "eu", headers: { n: 1 }, body: { last: "✓" } });
  }, 30_000);

  test("durable topology survives a clean restart; transient does not", async () => {
    const database = await freshDatabase();
    let broker = await start(database);
    await post(broker, "/exchanges", { name: "t-topic", type: "topic" });
    await post(broker, "/exchanges", { name: "t-transient", type: "fanout", durable: false });
    await post(broker, "/queues", { name: "t-q", durable: true });
    await post(broker, "/queues", { name: "t-lose" });
    await post(broker, "/bindings", { exchange_name: "t-topic", queue_name: "t-q", key: "a.#" });
    expect(await broker.stop()).toBe(0);

    broker = await start(database);
    const exchanges = (await api(broker.url, "GET", "/exchanges")).body.map((e: any) => e.name);
    expect(exchanges).toContain("t-topic");
    expect(exchanges).not.toContain("t-transient");
    expect((await api(broker.url, "GET", "/queues/t-lose")).status).toBe(404);
    expect((await post(broker, "/publish", { exchange_name: "t-topic", key: "a.b", payload: 1 })).routed).toBe(1);
  }, 30_000);
});
