/**
 * What survives a restart on the same DATA_DIR: durable topology and durable queues' messages,
 * committed before the publish is answered, so kill -9 right after the answer loses nothing.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

const live: BrokerProcess[] = [];
const sockets: TestSocket[] = [];
/** No checkpoint runs during a test unless it stops the broker: what survives is what publish committed. */
const env = { CHECKPOINT_IN_SECONDS: "3600" };

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const broker of live.splice(0)) {
    if (broker.proc.exitCode === null) await broker.kill9();
    removeDir(broker.dataDir);
  }
});

async function start(dataDir?: string): Promise<BrokerProcess> {
  const broker = await startBroker({ env, dataDir });
  live.push(broker);
  return broker;
}

async function restart(broker: BrokerProcess, how: "kill9" | "sigterm"): Promise<BrokerProcess> {
  if (how === "kill9") await broker.kill9();
  else expect(await broker.stop()).toBe(0);
  return await start(broker.dataDir);
}

async function drain(broker: BrokerProcess, queue: string, count: number): Promise<any[]> {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  socket.subscribe(queue);
  await socket.untilMessages(count);
  return socket.messages();
}

const post = async (broker: BrokerProcess, path: string, body: unknown) => {
  const res = await api(broker.url, "POST", path, body);
  if (res.status !== 200) throw new Error(`${path} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

describe("durable messages", () => {
  test("[CONFIRM-1] kill -9 right after the last HTTP answer loses no answered publish; order and bodies kept", async () => {
    let broker = await start();
    await post(broker, "/exchanges", { name: "orders", type: "direct" });
    await post(broker, "/queues", { name: "billing", durable: true });
    await post(broker, "/bindings", { exchange_name: "orders", queue_name: "billing", key: "eu" });
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      const answer = await post(broker, "/publish", {
        exchange_name: "orders",
        key: "eu",
        payload: { i, text: `order ${i} ✓` },
        headers: { n: i, tag: "x" },
      });
      expect(answer.durable).toBe(1);
      ids.push(answer.id);
    }
    broker = await restart(broker, "kill9");

    expect((await api(broker.url, "GET", "/queues/billing")).body.messages).toBe(150);
    const messages = await drain(broker, "billing", 150);
    expect(messages.map((m) => m.body)).toEqual(ids.map((_, i) => ({ i, text: `order ${i} ✓` })));
    expect(messages.map((m) => m.unique_id)).toEqual(ids);
    expect(messages.map((m) => m.seq)).toEqual(ids.map((_, i) => i + 1));
    expect(messages[7]).toMatchObject({ exchange: "orders", routing_key: "eu", headers: { n: 7, tag: "x" }, TTL: 0 });
  }, 20_000);

  test("[CONFIRM-1] kill -9 right after the last WebSocket CONFIRM loses no confirmed publish", async () => {
    let broker = await start();
    await post(broker, "/queues", { name: "ws-durable", durable: true });
    const publisher = await TestSocket.open(broker.wsUrl);
    sockets.push(publisher);
    const count = 500;
    for (let i = 0; i < count; i++) {
      publisher.send({ type: "PUBLISH", id: i, payload: { exchange_name: "", key: "ws-durable", payload: i } });
    }
    await publisher.until((frames) => frames.filter((f) => f.type === "CONFIRM").length === count, 10_000);
    broker = await restart(broker, "kill9");

    const messages = await drain(broker, "ws-durable", count);
    expect(messages.map((m) => m.body)).toEqual([...Array(count).keys()]);
  }, 20_000);

  test("a transient queue and its messages are gone after a restart; a durable one keeps its messages", async () => {
    let broker = await start();
    await post(broker, "/exchanges", { name: "both", type: "fanout" });
    await post(broker, "/queues", { name: "keep", durable: true });
    await post(broker, "/queues", { name: "lose" });
    await post(broker, "/bindings", { exchange_name: "both", queue_name: "keep" });
    await post(broker, "/bindings", { exchange_name: "both", queue_name: "lose" });
    const answer = await post(broker, "/publish", { exchange_name: "both", key: "", payload: "m" });
    expect(answer).toMatchObject({ routed: 2, durable: 1 });

    for (const how of ["sigterm", "kill9"] as const) {
      broker = await restart(broker, how);
      expect((await api(broker.url, "GET", "/queues/lose")).status).toBe(404);
      expect((await api(broker.url, "GET", "/queues/keep")).body.messages).toBe(1);
      expect((await api(broker.url, "GET", "/bindings?exchange=both")).body.map((b: any) => b.queue_name)).toEqual(["keep"]);
    }
  }, 20_000);
});

describe("durable topology", () => {
  test("durable exchanges, queues and bindings survive a restart and still route; transient ones do not", async () => {
    let broker = await start();
    await post(broker, "/exchanges", { name: "t-topic", type: "topic" });
    await post(broker, "/exchanges", { name: "t-headers", type: "headers", durable: true });
    await post(broker, "/exchanges", { name: "t-transient", type: "fanout", durable: false });
    await post(broker, "/queues", { name: "t-q", durable: true });
    await post(broker, "/bindings", { exchange_name: "t-topic", queue_name: "t-q", key: "a.#" });
    await post(broker, "/bindings", { exchange_name: "t-headers", queue_name: "t-q", arguments: { "x-match": "any", k: 1 } });
    await post(broker, "/bindings", { exchange_name: "t-transient", queue_name: "t-q" });

    broker = await restart(broker, "kill9");

    const exchanges = (await api(broker.url, "GET", "/exchanges")).body.map((e: any) => [e.name, e.type, e.durable]).sort();
    expect(exchanges).toEqual([
      ["t-headers", "headers", true],
      ["t-topic", "topic", true],
    ]);
    expect((await api(broker.url, "GET", "/queues/t-q")).body.durable).toBe(true);
    expect((await api(broker.url, "GET", "/bindings?queue=t-q")).body).toHaveLength(2);
    expect((await post(broker, "/publish", { exchange_name: "t-topic", key: "a.b.c", payload: 1 })).routed).toBe(1);
    expect((await post(broker, "/publish", { exchange_name: "t-headers", key: "", payload: 2, headers: { k: 1 } })).routed).toBe(1);
    // Re-declaring with the same properties after a restart is still a no-op.
    expect(await post(broker, "/exchanges", { name: "t-topic", type: "topic" })).toEqual({ created: false });
    expect(await post(broker, "/queues", { name: "t-q", durable: true })).toEqual({ created: false });
  }, 20_000);

  test("deletions are durable too", async () => {
    let broker = await start();
    await post(broker, "/exchanges", { name: "gone-ex", type: "direct" });
    await post(broker, "/queues", { name: "gone-q", durable: true });
    await post(broker, "/queues", { name: "kept-q", durable: true });
    await post(broker, "/bindings", { exchange_name: "gone-ex", queue_name: "kept-q", key: "k" });
    expect((await api(broker.url, "DELETE", "/queues/gone-q")).status).toBe(200);
    expect((await api(broker.url, "DELETE", "/exchanges/gone-ex")).status).toBe(200);

    broker = await restart(broker, "kill9");

    expect((await api(broker.url, "GET", "/queues/gone-q")).status).toBe(404);
    expect((await api(broker.url, "GET", "/exchanges/gone-ex")).status).toBe(404);
    expect((await api(broker.url, "GET", "/bindings?queue=kept-q")).body).toEqual([]);
  }, 20_000);
});

describe("delivery and seq across restarts", () => {
  test("messages delivered before a clean SIGTERM restart are not delivered again; seq continues", async () => {
    let broker = await start();
    await post(broker, "/queues", { name: "once", durable: true });
    const first = await drainAfter(broker, "once", ["a", "b", "c"]);
    expect(first.map((m) => [m.body, m.seq])).toEqual([["a", 1], ["b", 2], ["c", 3]]);

    broker = await restart(broker, "sigterm");

    expect((await api(broker.url, "GET", "/queues/once")).body).toMatchObject({ messages: 0, last_seq: 3 });
    const second = await drainAfter(broker, "once", ["d"]);
    expect(second.map((m) => [m.body, m.seq])).toEqual([["d", 4]]);
  }, 20_000);

  test("after kill -9, waiting messages come back and new ones continue the seq", async () => {
    let broker = await start();
    await post(broker, "/queues", { name: "seq-kill", durable: true });
    for (const body of ["a", "b", "c"]) await post(broker, "/publish", { exchange_name: "", key: "seq-kill", payload: body });

    broker = await restart(broker, "kill9");

    await post(broker, "/publish", { exchange_name: "", key: "seq-kill", payload: "d" });
    const messages = await drain(broker, "seq-kill", 4);
    expect(messages.map((m) => [m.body, m.seq])).toEqual([["a", 1], ["b", 2], ["c", 3], ["d", 4]]);
  }, 20_000);

  test("[SEQ-1] seqs are not reused after a purge followed by kill -9", async () => {
    let broker = await start();
    await post(broker, "/queues", { name: "seq-purge", durable: true });
    for (const body of ["a", "b", "c"]) await post(broker, "/publish", { exchange_name: "", key: "seq-purge", payload: body });
    expect((await api(broker.url, "DELETE", "/queues/seq-purge/messages")).body).toEqual({ messages: 3 });

    broker = await restart(broker, "kill9");

    expect((await api(broker.url, "GET", "/queues/seq-purge")).body).toMatchObject({ messages: 0, last_seq: 3 });
    await post(broker, "/publish", { exchange_name: "", key: "seq-purge", payload: "d" });
    const messages = await drain(broker, "seq-purge", 1);
    expect(messages.map((m) => [m.body, m.seq])).toEqual([["d", 4]]);
  }, 20_000);
});

/** Subscribes, publishes the bodies, and returns what the subscriber received. */
async function drainAfter(broker: BrokerProcess, queue: string, bodies: string[]): Promise<any[]> {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  socket.send({ type: "SUBSCRIBE", id: 1, payload: { queue_name: queue } });
  await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
  for (const body of bodies) await post(broker, "/publish", { exchange_name: "", key: queue, payload: body });
  await socket.untilMessages(bodies.length);
  socket.close();
  return socket.messages();
}
