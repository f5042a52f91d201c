/**
 * Every string that reaches the store is either kept faithfully on both backends or refused up
 * front with a 4xx naming its field — never a 500, never one rule on SQLite and another on Postgres.
 * Text columns (routing and binding keys, message_id; names have their own rule) cannot hold
 * U+0000 on Postgres nor a lone surrogate anywhere: refused. Strings inside JSON columns (headers,
 * binding arguments, payloads) are escaped by JSON.stringify: kept, across a restart.
 * Run both ways: `bun test …` and `PUBSUB_TEST_BACKEND=postgres bun test …`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

let broker: BrokerProcess;
const sockets: TestSocket[] = [];
const env = { CHECKPOINT_IN_SECONDS: "3600" };

beforeAll(async () => {
  broker = await startBroker({ env });
  await call("POST", "/exchanges", { name: "k-direct", type: "direct" });
  await call("POST", "/exchanges", { name: "k-topic", type: "topic" });
  await call("POST", "/exchanges", { name: "k-headers", type: "headers" });
  await call("POST", "/queues", { name: "k-q", durable: true });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

const call = (method: string, path: string, body?: unknown) => api(broker.url, method, path, body);
const refusal = async (method: string, path: string, body: unknown) => {
  const res = await call(method, path, body);
  return [res.status, res.body?.error?.code, res.body?.error?.message];
};
const NUL = "a\u0000b";
const LONE = "a\ud800b";

async function socket(): Promise<TestSocket> {
  const s = await TestSocket.open(broker.wsUrl);
  sockets.push(s);
  return s;
}

describe("[KEY-1] text columns: U+0000 and lone surrogates refused with 422, on every backend", () => {
  test("[KEY-1] a binding key with U+0000 or a lone surrogate: 422 naming the key (it was a 500 on Postgres)", async () => {
    for (const exchange of ["k-direct", "k-topic", "k-headers"]) {
      for (const key of [NUL, LONE, "\u0000"]) {
        const [status, code, message] = await refusal("POST", "/bindings", { exchange_name: exchange, queue_name: "k-q", key });
        expect({ exchange, key, status, code }).toEqual({ exchange, key, status: 422, code: "B002" });
        expect(message).toMatch(/key must (not contain U\+0000|be valid Unicode)/);
      }
    }
    expect((await call("GET", "/bindings?queue=k-q")).body).toEqual([]);
  });

  test("[KEY-1] a routing key with U+0000 or a lone surrogate: 422 VALIDATION over HTTP, an ERROR with the frame's id over WebSocket", async () => {
    await call("POST", "/bindings", { exchange_name: "k-direct", queue_name: "k-q", key: "eu" });
    for (const key of [NUL, LONE]) {
      for (const exchange_name of ["k-direct", "", "k-topic"]) {
        const [status, code, message] = await refusal("POST", "/publish", { exchange_name, key, payload: 1 });
        expect({ key, exchange_name, status, code }).toEqual({ key, exchange_name, status: 422, code: "VALIDATION" });
        expect(message).toMatch(/^routing key /);
      }
    }
    const s = await socket();
    s.send({ type: "PUBLISH", payload: { exchange_name: "k-direct", key: NUL, payload: 1, id: "p1" } });
    s.send({ type: "PUBLISH", payload: { exchange_name: "k-direct", key: LONE, payload: 1, id: "p2" } });
    await s.until((frames) => frames.length === 2);
    expect(s.frames.map((f) => [f.type, f.payload.id, f.payload.code])).toEqual([
      ["ERROR", "p1", "VALIDATION"],
      ["ERROR", "p2", "VALIDATION"],
    ]);
    expect((await call("GET", "/queues/k-q")).body.published).toBe(0);
    await call("DELETE", "/bindings", { exchange_name: "k-direct", queue_name: "k-q", key: "eu" });
  });

  test("[KEY-1] dead_letter_routing_key with U+0000: refused at declare, not when the first message dies", async () => {
    for (const key of [NUL, LONE]) {
      const [status, code, message] = await refusal("POST", "/queues", { name: "k-dl", dead_letter_exchange: "k-direct", dead_letter_routing_key: key });
      expect({ status, code }).toEqual({ status: 422, code: "VALIDATION" });
      expect(message).toMatch(/^dead_letter_routing_key: /);
    }
    const s = await socket();
    s.send({ type: "DECLARE_QUEUE", payload: { name: "k-dl", dead_letter_routing_key: NUL, id: "d" } });
    await s.until((frames) => frames.length === 1);
    expect([s.frames[0].payload.id, s.frames[0].payload.code]).toEqual(["d", "VALIDATION"]);
    expect((await call("GET", "/queues/k-dl")).status).toBe(404);
  });

  test("[KEY-2] message_id with U+0000 or a lone surrogate: 422 VALIDATION naming message_id, over HTTP and WebSocket", async () => {
    for (const message_id of [NUL, LONE]) {
      const [status, code, message] = await refusal("POST", "/publish", { exchange_name: "", key: "k-q", payload: 1, message_id });
      expect({ status, code }).toEqual({ status: 422, code: "VALIDATION" });
      expect(message).toMatch(/^message_id /);
    }
    const s = await socket();
    s.send({ type: "PUBLISH", payload: { exchange_name: "", key: "k-q", payload: 1, message_id: NUL, id: 9 } });
    await s.until((frames) => frames.length === 1);
    expect([s.frames[0].type, s.frames[0].payload.id, s.frames[0].payload.code]).toEqual(["ERROR", 9, "VALIDATION"]);
    expect((await call("GET", "/queues/k-q")).body.published).toBe(0);
  });
});

describe("[KEY-3] strings inside JSON columns are stored faithfully, on every backend", () => {
  test("[KEY-3] U+0000 and lone surrogates in header names and values, binding arguments and the payload survive a restart unchanged", async () => {
    const args = { "x-match": "all", [`h${NUL}`]: `v${NUL}`, lone: LONE };
    expect((await call("POST", "/bindings", { exchange_name: "k-headers", queue_name: "k-q", arguments: args })).status).toBe(200);
    const headers = { [`h${NUL}`]: `v${NUL}`, lone: LONE, other: "\u0000" };
    const payload = { [NUL]: NUL, lone: LONE, list: ["\u0000", "\udfff", "\ud83d\udc07"] };
    const published = await call("POST", "/publish", { exchange_name: "k-headers", key: NUL.replace("\u0000", "-"), payload, headers, message_id: "k-3" });
    expect(published.body).toMatchObject({ routed: 1, durable: 1 });

    expect(await broker.stop()).toBe(0);
    broker = await startBroker({ env, dataDir: broker.dataDir });

    const bindings = (await call("GET", "/bindings?exchange=k-headers")).body;
    expect(bindings).toEqual([{ exchange_name: "k-headers", queue_name: "k-q", key: "", arguments: args }]);
    const s = await socket();
    s.subscribe("k-q");
    await s.untilMessages(1);
    const [message] = s.messages();
    expect(message.body).toEqual(payload);
    expect(message.headers).toMatchObject(headers);
    // The restored binding still matches what it matched before.
    expect((await call("POST", "/publish", { exchange_name: "k-headers", key: "", payload: 2, headers })).body.routed).toBe(1);
  });
});
