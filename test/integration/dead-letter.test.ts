/**
 * Dead-lettering: a message rejected (NACK requeue:false), delivered `delivery_limit` times, expired
 * (queue `message_ttl` or per-message `ttl`) or dropped from the head of a full queue is republished
 * to the queue's dead-letter exchange, with headers saying why and where it came from.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { declareQueue, nack, openConsumer, openSubscriber, publish, queueInfo, roundTrip } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import type { TestSocket } from "../support/ws-client.ts";

let broker: BrokerProcess;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  broker = await startBroker();
  // Every dead message of these tests goes to "dlx" and, by its routing key, to one dead-letter queue.
  await api(broker.url, "POST", "/exchanges", { name: "dlx", type: "direct" });
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

/** A source queue dead-lettering to "dlx", and its dead-letter queue bound there by `key`. */
async function withDeadLetterQueue(source: string, args: Record<string, unknown>, key = source): Promise<TestSocket> {
  await declareQueue(broker.url, `${source}.dead`);
  const bound = await api(broker.url, "POST", "/bindings", { exchange_name: "dlx", queue_name: `${source}.dead`, key });
  expect(bound.status).toBe(200);
  await declareQueue(broker.url, source, { dead_letter_exchange: "dlx", ...args });
  const graveyard = await openSubscriber(broker.wsUrl, `${source}.dead`);
  sockets.push(graveyard);
  return graveyard;
}

async function consumer(queue: string, prefetch = 1): Promise<TestSocket> {
  const socket = await openConsumer(broker.wsUrl, queue, prefetch);
  sockets.push(socket);
  return socket;
}

describe("why a message died", () => {
  test("NACK requeue:false → rejected, with the headers saying where it came from", async () => {
    const graveyard = await withDeadLetterQueue("orders", {});
    const worker = await consumer("orders");
    await publish(broker.url, "orders", { order: 7 }, { headers: { tenant: "acme" } });
    await worker.untilMessages(1);
    const delivery = worker.messages()[0];
    nack(worker, delivery, false);
    await graveyard.untilMessages(1);

    const dead = graveyard.messages()[0];
    expect(dead).toMatchObject({
      body: { order: 7 },
      unique_id: delivery.unique_id,
      exchange: "dlx",
      routing_key: "orders",
      queue: "orders.dead",
      headers: {
        tenant: "acme",
        "x-death-reason": "rejected",
        "x-death-queue": "orders",
        "x-death-exchange": "",
        "x-death-routing-key": "orders",
        "x-first-death-queue": "orders",
        "x-first-death-reason": "rejected",
        "x-death-count": 1,
      },
    });
    expect(typeof dead.headers["x-death-time"]).toBe("number");
    // [DLX-4] RabbitMQ's headers too, so retry counters written against it carry over.
    expect(dead.headers).toMatchObject({
      "x-death": [{ count: 1, reason: "rejected", queue: "orders", time: dead.headers["x-death-time"], exchange: "", "routing-keys": ["orders"] }],
      "x-first-death-exchange": "",
      "x-last-death-queue": "orders",
      "x-last-death-reason": "rejected",
      "x-last-death-exchange": "",
    });
    expect(await queueInfo(broker.url, "orders")).toMatchObject({ messages: 0, unacked: 0, dead_lettered: 1 });
  });

  test("delivery_limit 2: the second NACK requeue:true dead-letters it as delivery_limit", async () => {
    const graveyard = await withDeadLetterQueue("poison", { delivery_limit: 2 });
    const worker = await consumer("poison");
    await publish(broker.url, "poison", "boom");
    await worker.untilMessages(1);
    nack(worker, worker.messages()[0], true);
    await worker.untilMessages(2);
    expect(worker.messages()[1]).toMatchObject({ redelivered: true, delivery_count: 2 });
    nack(worker, worker.messages()[1], true);
    await graveyard.untilMessages(1);

    expect(graveyard.messages()[0]).toMatchObject({ body: "boom", headers: { "x-death-reason": "delivery_limit", "x-death-queue": "poison" } });
    await roundTrip(worker);
    expect(worker.messages()).toHaveLength(2);
    expect(await queueInfo(broker.url, "poison")).toMatchObject({ messages: 0, unacked: 0, dead_lettered: 1 });
  });

  test("delivery_limit counts a consumer that disconnects without acking like a requeue", async () => {
    const graveyard = await withDeadLetterQueue("crashy", { delivery_limit: 2 });
    await publish(broker.url, "crashy", "job");
    for (let attempt = 1; attempt <= 2; attempt++) {
      const worker = await consumer("crashy");
      await worker.untilMessages(1);
      expect(worker.messages()[0]).toMatchObject({ body: "job", delivery_count: attempt });
      worker.close();
      await until(async () => (await queueInfo(broker.url, "crashy")).consumers === 0);
    }
    await graveyard.untilMessages(1);
    expect(graveyard.messages()[0].headers["x-death-reason"]).toBe("delivery_limit");
  });

  test("message_ttl → expired, while nobody takes it", async () => {
    const graveyard = await withDeadLetterQueue("stale", { message_ttl: 100 });
    const { id } = await publish(broker.url, "stale", "old news");
    await graveyard.untilMessages(1);
    expect(graveyard.messages()[0]).toMatchObject({ unique_id: id, body: "old news", headers: { "x-death-reason": "expired", "x-death-queue": "stale" } });
    expect(await queueInfo(broker.url, "stale")).toMatchObject({ messages: 0, dead_lettered: 1 });
  });

  test("a per-message ttl → expired; a message without one stays", async () => {
    const graveyard = await withDeadLetterQueue("short-lived", {});
    await publish(broker.url, "short-lived", "ephemeral", { ttl: 100 });
    await publish(broker.url, "short-lived", "lasting");
    await graveyard.untilMessages(1);
    expect(graveyard.messages()[0]).toMatchObject({ body: "ephemeral", headers: { "x-death-reason": "expired" } });
    expect(await queueInfo(broker.url, "short-lived")).toMatchObject({ messages: 1, dead_lettered: 1 });
  });

  test("the shorter of message_ttl and the message's ttl wins", async () => {
    const graveyard = await withDeadLetterQueue("both-ttls", { message_ttl: 60_000 });
    await publish(broker.url, "both-ttls", "quick", { ttl: 50 });
    await graveyard.untilMessages(1);
    expect(graveyard.messages()[0]).toMatchObject({ body: "quick", headers: { "x-death-reason": "expired" } });
  });

  test("an expired message is dead-lettered, not delivered, when a consumer comes for it", async () => {
    const graveyard = await withDeadLetterQueue("expire-before-consume", { message_ttl: 50 });
    await publish(broker.url, "expire-before-consume", "too late");
    await graveyard.untilMessages(1);
    const worker = await consumer("expire-before-consume");
    await roundTrip(worker);
    expect(worker.messages()).toEqual([]);
  });

  test("[TTL0-1] message_ttl 0: a consumer that can take it gets it; with none, or none with credit, it expires at once", async () => {
    for (const durable of [false, true]) {
      const name = `ttl-zero-${durable ? "durable" : "transient"}`;
      const graveyard = await withDeadLetterQueue(name, { message_ttl: 0, durable });
      const { id: expiredId } = await publish(broker.url, name, "nobody there");
      await graveyard.untilMessages(1);
      expect(graveyard.messages()[0]).toMatchObject({ unique_id: expiredId, headers: { "x-death-reason": "expired" } });

      const worker = await consumer(name, 1);
      await publish(broker.url, name, "taken");
      await worker.untilMessages(1);
      expect(worker.messages()[0]).toMatchObject({ body: "taken", delivery_count: 1 });
      // Its one credit is used: the next one cannot be delivered at once, so it expires.
      await publish(broker.url, name, "no credit");
      await graveyard.untilMessages(2);
      expect(graveyard.messages()[1]).toMatchObject({ body: "no credit", headers: { "x-death-reason": "expired" } });
      await roundTrip(worker);
      expect(worker.messages()).toHaveLength(1);
    }
  });

  test("max_length with drop-head → the oldest is dead-lettered as maxlen", async () => {
    const graveyard = await withDeadLetterQueue("bounded", { max_length: 2, overflow: "drop-head" });
    for (const n of [1, 2, 3, 4]) await publish(broker.url, "bounded", n);
    await graveyard.untilMessages(2);
    expect(graveyard.messages().map((m) => [m.body, m.headers["x-death-reason"]])).toEqual([
      [1, "maxlen"],
      [2, "maxlen"],
    ]);
    expect(await queueInfo(broker.url, "bounded")).toMatchObject({ messages: 2, dead_lettered: 2 });
  });
});

describe("where it goes", () => {
  test("dead_letter_routing_key replaces the routing key; the original is kept in x-death-routing-key", async () => {
    await api(broker.url, "POST", "/exchanges", { name: "events", type: "topic" });
    const graveyard = await withDeadLetterQueue("audit", { dead_letter_routing_key: "failed" }, "failed");
    await api(broker.url, "POST", "/bindings", { exchange_name: "events", queue_name: "audit", key: "user.*" });
    const worker = await consumer("audit");
    const sent = await api(broker.url, "POST", "/publish", { exchange_name: "events", key: "user.created", payload: { id: 1 } });
    expect(sent.body.routed).toBe(1);
    await worker.untilMessages(1);
    nack(worker, worker.messages()[0], false);
    await graveyard.untilMessages(1);

    expect(graveyard.messages()[0]).toMatchObject({
      routing_key: "failed",
      headers: { "x-death-exchange": "events", "x-death-routing-key": "user.created", "x-death-queue": "audit" },
    });
  });

  test("dying twice: x-death-count counts, x-first-death-queue keeps the first", async () => {
    // first → (rejected) → second, which dead-letters to "dlx" with key "twice.dead" → twice.dead
    await api(broker.url, "POST", "/exchanges", { name: "dlx-first", type: "fanout" });
    const graveyard = await withDeadLetterQueue("twice", {});
    await declareQueue(broker.url, "twice.first", { dead_letter_exchange: "dlx-first", dead_letter_routing_key: "twice" });
    await declareQueue(broker.url, "twice.second", { dead_letter_exchange: "dlx", message_ttl: 50 });
    await api(broker.url, "POST", "/bindings", { exchange_name: "dlx-first", queue_name: "twice.second" });
    const worker = await consumer("twice.first");
    await publish(broker.url, "twice.first", "again");
    await worker.untilMessages(1);
    nack(worker, worker.messages()[0], false);
    await graveyard.untilMessages(1);

    expect(graveyard.messages()[0].headers).toMatchObject({
      "x-death-reason": "expired",
      "x-death-queue": "twice.second",
      // It died the second time after coming through the first dead-letter exchange.
      "x-death-exchange": "dlx-first",
      "x-death-routing-key": "twice",
      "x-death-count": 2,
      "x-first-death-queue": "twice.first",
      "x-first-death-reason": "rejected",
    });
  });

  test("[DLX-2] dead_letter_exchange \"\" is the default exchange: to the queue the dead-letter routing key names", async () => {
    await declareQueue(broker.url, "parking");
    await declareQueue(broker.url, "to-parking", { dead_letter_exchange: "", dead_letter_routing_key: "parking", message_ttl: 50 });
    expect((await queueInfo(broker.url, "to-parking")).arguments).toMatchObject({ dead_letter_exchange: "", dead_letter_routing_key: "parking" });
    const reader = await openSubscriber(broker.wsUrl, "parking");
    sockets.push(reader);
    const { id } = await publish(broker.url, "to-parking", "parked");
    await reader.untilMessages(1);
    expect(reader.messages()[0]).toMatchObject({ unique_id: id, body: "parked", exchange: "", routing_key: "parking", headers: { "x-death-reason": "expired", "x-death-queue": "to-parking" } });
  });

  test("[DLX-2] dead_letter_exchange \"\" without a routing key: to the queue named by the message's own key", async () => {
    await api(broker.url, "POST", "/exchanges", { name: "by-key", type: "fanout" });
    await declareQueue(broker.url, "own-key");
    await declareQueue(broker.url, "own-key-source", { dead_letter_exchange: "", message_ttl: 50 });
    await api(broker.url, "POST", "/bindings", { exchange_name: "by-key", queue_name: "own-key-source" });
    const reader = await openSubscriber(broker.wsUrl, "own-key");
    sockets.push(reader);
    expect((await api(broker.url, "POST", "/publish", { exchange_name: "by-key", key: "own-key", payload: "k" })).body.routed).toBe(1);
    await reader.untilMessages(1);
    expect(reader.messages()[0]).toMatchObject({ body: "k", routing_key: "own-key", headers: { "x-death-queue": "own-key-source" } });
  });

  test("[DLX-3] two queues expiring into each other: the message is dropped when it would enter a queue it already died in", async () => {
    await api(broker.url, "POST", "/exchanges", { name: "ring", type: "direct" });
    await declareQueue(broker.url, "ring-a", { dead_letter_exchange: "ring", dead_letter_routing_key: "b", message_ttl: 30 });
    await declareQueue(broker.url, "ring-b", { dead_letter_exchange: "ring", dead_letter_routing_key: "a", message_ttl: 30 });
    await api(broker.url, "POST", "/bindings", { exchange_name: "ring", queue_name: "ring-a", key: "a" });
    await api(broker.url, "POST", "/bindings", { exchange_name: "ring", queue_name: "ring-b", key: "b" });
    await publish(broker.url, "ring-a", "round and round");
    await until(async () => (await queueInfo(broker.url, "ring-b")).dead_lettered === 1);
    // Many TTLs later nothing moved again (before the fix it went round every 30 ms, for ever).
    await Bun.sleep(400);
    expect(await queueInfo(broker.url, "ring-a")).toMatchObject({ published: 1, dead_lettered: 1, messages: 0 });
    expect(await queueInfo(broker.url, "ring-b")).toMatchObject({ published: 1, dead_lettered: 1, messages: 0 });
  });

  test("[DLX-3] a rejection on the way breaks the cycle rule: the message may come round again", async () => {
    await api(broker.url, "POST", "/exchanges", { name: "retry-ring", type: "direct" });
    // work rejects → wait (30 ms) expires → work again, as a retry-with-delay setup does.
    await declareQueue(broker.url, "retry-work", { dead_letter_exchange: "retry-ring", dead_letter_routing_key: "wait" });
    await declareQueue(broker.url, "retry-wait", { dead_letter_exchange: "retry-ring", dead_letter_routing_key: "work", message_ttl: 30 });
    await api(broker.url, "POST", "/bindings", { exchange_name: "retry-ring", queue_name: "retry-work", key: "work" });
    await api(broker.url, "POST", "/bindings", { exchange_name: "retry-ring", queue_name: "retry-wait", key: "wait" });
    const worker = await consumer("retry-work");
    await publish(broker.url, "retry-work", "flaky");
    for (let attempt = 1; attempt <= 3; attempt++) {
      await worker.untilMessages(attempt);
      nack(worker, worker.messages()[attempt - 1], false);
    }
    await worker.untilMessages(4);
    const fourth = worker.messages()[3];
    expect(fourth.body).toBe("flaky");
    // The retry count a RabbitMQ client reads: x-death's record for (retry-work, rejected).
    expect(fourth.headers["x-death"].map((d: any) => [d.queue, d.reason, d.count])).toEqual([
      ["retry-wait", "expired", 3],
      ["retry-work", "rejected", 3],
    ]);
    expect(fourth.headers["x-death-count"]).toBe(6);
  });

  test("[HEADERS-2] a headers dead-letter exchange routes on the death headers: x-death present, x-last-death-reason equal", async () => {
    await api(broker.url, "POST", "/exchanges", { name: "dlx-headers", type: "headers" });
    await declareQueue(broker.url, "by-death-expired");
    await declareQueue(broker.url, "by-death-any");
    await api(broker.url, "POST", "/bindings", { exchange_name: "dlx-headers", queue_name: "by-death-expired", arguments: { "x-match": "all-with-x", "x-last-death-reason": "expired" } });
    await api(broker.url, "POST", "/bindings", { exchange_name: "dlx-headers", queue_name: "by-death-any", arguments: { "x-match": "all-with-x", "x-death": null } });
    await declareQueue(broker.url, "headers-source", { dead_letter_exchange: "dlx-headers" });
    await declareQueue(broker.url, "headers-source-ttl", { dead_letter_exchange: "dlx-headers", message_ttl: 1 });
    const worker = await consumer("headers-source");
    await publish(broker.url, "headers-source", "rejected one");
    await publish(broker.url, "headers-source-ttl", "expired one");
    await worker.untilMessages(1);
    nack(worker, worker.messages()[0], false);
    await until(async () => (await queueInfo(broker.url, "by-death-any")).messages === 2);
    expect(await queueInfo(broker.url, "by-death-expired")).toMatchObject({ messages: 1 });
  });

  test("without a dead-letter exchange a rejected message is dropped; a missing DLX drops it too, and the broker carries on", async () => {
    await declareQueue(broker.url, "no-dlx");
    await declareQueue(broker.url, "missing-dlx", { dead_letter_exchange: "never-declared" });
    for (const queue of ["no-dlx", "missing-dlx"]) {
      const worker = await consumer(queue);
      await publish(broker.url, queue, "x");
      await worker.untilMessages(1);
      nack(worker, worker.messages()[0], false);
      await until(async () => (await queueInfo(broker.url, queue)).dead_lettered === 1);
      expect(await queueInfo(broker.url, queue)).toMatchObject({ messages: 0, unacked: 0 });
    }
    expect((await api(broker.url, "GET", "/ping")).status).toBe(200);
  });

  test("a durable dead-letter queue keeps what was dead-lettered into it across kill -9", async () => {
    const own = await startBroker({ env: { CHECKPOINT_IN_SECONDS: "3600" } });
    try {
      await api(own.url, "POST", "/exchanges", { name: "dlx", type: "fanout" });
      await declareQueue(own.url, "jobs.dead", { durable: true });
      await api(own.url, "POST", "/bindings", { exchange_name: "dlx", queue_name: "jobs.dead" });
      await declareQueue(own.url, "jobs", { durable: true, dead_letter_exchange: "dlx" });
      const worker = await openConsumer(own.wsUrl, "jobs", 1);
      sockets.push(worker);
      await publish(own.url, "jobs", "failed job");
      await worker.untilMessages(1);
      nack(worker, worker.messages()[0], false);
      await until(async () => (await queueInfo(own.url, "jobs.dead")).messages === 1);
      // One more publish is a barrier: appends are committed in call order.
      await publish(own.url, "jobs.dead", "marker");
      await own.kill9();

      const again = await startBroker({ dataDir: own.dataDir, env: { CHECKPOINT_IN_SECONDS: "3600" } });
      try {
        const reader = await openSubscriber(again.wsUrl, "jobs.dead");
        sockets.push(reader);
        await reader.untilMessages(2);
        expect(reader.messages().map((m) => [m.body, m.headers["x-death-reason"]])).toEqual([
          ["failed job", "rejected"],
          ["marker", undefined],
        ]);
      } finally {
        await again.stop();
      }
    } finally {
      if (own.proc.exitCode === null) await own.kill9();
      removeDir(own.dataDir);
    }
  }, 20_000);
});

describe("redrive", () => {
  test("[REDRIVE-1] a dead-lettered message published again with the headers it died with (x-death records included) is accepted and keeps them", async () => {
    const graveyard = await withDeadLetterQueue("redrive-src", {});
    const worker = await consumer("redrive-src");
    await publish(broker.url, "redrive-src", { job: 1 });
    await worker.untilMessages(1);
    nack(worker, worker.messages()[0], false);
    await graveyard.untilMessages(1);
    const dead = graveyard.messages()[0];
    expect(Array.isArray(dead.headers["x-death"])).toBe(true);

    await declareQueue(broker.url, "redrive-dst");
    const again = await api(broker.url, "POST", "/publish", { exchange_name: "", key: "redrive-dst", payload: dead.body, headers: dead.headers });
    expect(again.status).toBe(200);
    const reader = await openSubscriber(broker.wsUrl, "redrive-dst");
    sockets.push(reader);
    await reader.untilMessages(1);
    expect(reader.messages()[0].headers["x-death"]).toEqual(dead.headers["x-death"]);
  });
});
