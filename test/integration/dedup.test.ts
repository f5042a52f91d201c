/**
 * Idempotent publish, the parts the confirms tests leave out: what a duplicate is answered with, what
 * uses a message_id up, and how far the de-duplication reaches (one broker, every exchange, across a
 * restart for what reached a durable queue).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { declareQueue, publish, queueInfo } from "../support/consumer.ts";

const file = brokerForFile();

describe("[DEDUP-1] a duplicate is answered with the original message's id", () => {
  test("over HTTP, for a durable and a transient queue", async () => {
    for (const [queue, durable] of [
      ["dedup-id-durable", true],
      ["dedup-id-transient", false],
    ] as const) {
      await declareQueue(file.broker.url, queue, { durable });
      const first = await publish(file.broker.url, queue, "once", { message_id: `${queue}-1` });
      const again = await publish(file.broker.url, queue, "once", { message_id: `${queue}-1` });
      expect(first).toMatchObject({ routed: 1, duplicate: false });
      expect(first.id).not.toBe("");
      expect(again).toMatchObject({ duplicate: true, id: first.id });
      expect(await queueInfo(file.broker.url, queue)).toMatchObject({ messages: 1, published: 1 });
    }
  });

  test("the scope is the broker: the same message_id through another exchange is a duplicate too", async () => {
    await api(file.broker.url, "POST", "/exchanges", { name: "dedup-fan", type: "fanout" });
    await declareQueue(file.broker.url, "dedup-scope-a");
    await declareQueue(file.broker.url, "dedup-scope-b");
    await api(file.broker.url, "POST", "/bindings", { exchange_name: "dedup-fan", queue_name: "dedup-scope-b" });
    const first = await publish(file.broker.url, "dedup-scope-a", "x", { message_id: "scope-1" });
    const other = await api(file.broker.url, "POST", "/publish", { exchange_name: "dedup-fan", key: "", payload: "x", message_id: "scope-1" });
    expect(other.body).toMatchObject({ duplicate: true, id: first.id });
    expect((await queueInfo(file.broker.url, "dedup-scope-b")).messages).toBe(0);
  });
});

describe("[DEDUP-2] an unroutable publish does not use up its message_id", () => {
  test("routed 0, then the binding appears: the same message_id is enqueued", async () => {
    await api(file.broker.url, "POST", "/exchanges", { name: "dedup-late", type: "direct" });
    const lost = await api(file.broker.url, "POST", "/publish", { exchange_name: "dedup-late", key: "k", payload: 1, message_id: "late-1" });
    expect(lost.body).toMatchObject({ routed: 0, duplicate: false });
    await declareQueue(file.broker.url, "dedup-late-q");
    await api(file.broker.url, "POST", "/bindings", { exchange_name: "dedup-late", queue_name: "dedup-late-q", key: "k" });
    const sent = await api(file.broker.url, "POST", "/publish", { exchange_name: "dedup-late", key: "k", payload: 1, message_id: "late-1" });
    expect(sent.body).toMatchObject({ routed: 1, duplicate: false });
    expect((await queueInfo(file.broker.url, "dedup-late-q")).messages).toBe(1);
  });

  test("a refused publish (no such exchange, a full reject-publish queue) does not use it up either", async () => {
    expect((await api(file.broker.url, "POST", "/publish", { exchange_name: "dedup-none", key: "", payload: 1, message_id: "refused-1" })).status).toBe(404);
    await declareQueue(file.broker.url, "dedup-full", { max_length: 1, overflow: "reject-publish" });
    await publish(file.broker.url, "dedup-full", "filler");
    expect((await api(file.broker.url, "POST", "/publish", { exchange_name: "", key: "dedup-full", payload: 1, message_id: "refused-1" })).status).toBe(429);
    await api(file.broker.url, "DELETE", "/queues/dedup-full/messages");
    expect(await publish(file.broker.url, "dedup-full", 1, { message_id: "refused-1" })).toMatchObject({ routed: 1, duplicate: false });
  });
});

describe("[DEDUP-1] across a restart", () => {
  const live: BrokerProcess[] = [];
  afterEach(async () => {
    for (const broker of live.splice(0)) {
      if (broker.proc.exitCode === null) await broker.kill9();
      removeDir(broker.dataDir);
    }
  });

  test("after kill -9 a message_id that reached a durable queue is still a duplicate, answered with the original id", async () => {
    const broker = await startBroker();
    live.push(broker);
    await declareQueue(broker.url, "dedup-crash", { durable: true });
    const first = await publish(broker.url, "dedup-crash", "once", { message_id: "crash-1" });
    await broker.kill9();

    const again = await startBroker({ dataDir: broker.dataDir });
    live.push(again);
    expect(await publish(again.url, "dedup-crash", "once", { message_id: "crash-1" })).toMatchObject({ duplicate: true, id: first.id });
    expect((await queueInfo(again.url, "dedup-crash")).messages).toBe(1);
  }, 20_000);
});
