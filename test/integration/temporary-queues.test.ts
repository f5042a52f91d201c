/**
 * Temporary queues: `exclusive` ones belong to the WebSocket connection that declared them (others
 * get Q006; they go when it closes); `auto_delete` ones go when their last subscriber or consumer
 * leaves; DECLARE_QUEUE without a name makes a server-named queue.
 */
import { describe, expect, test } from "bun:test";
import { api } from "../support/broker-process.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { consume, declareQueue, openConsumer, openSubscriber, publish, queueInfo, roundTrip } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const file = brokerForFile();

async function socket(): Promise<TestSocket> {
  const s = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(s);
  return s;
}

/** Sends a frame with an id and returns the frame answering it. */
async function ask(s: TestSocket, type: string, payload: Record<string, unknown>): Promise<any> {
  const id = `${type}-${Math.random()}`;
  s.send({ type, payload: { ...payload, id } });
  await s.until((frames) => frames.some((f) => f.payload?.id === id));
  await roundTrip(s);
  const answers = s.frames.filter((f) => f.payload?.id === id);
  if (answers.length !== 1) throw new Error(`${type}: expected one answer, got ${JSON.stringify(answers)}`);
  return answers[0];
}

const exists = async (name: string): Promise<boolean> => (await api(file.broker.url, "GET", `/queues/${encodeURIComponent(name)}`)).status === 200;

describe("exclusive", () => {
  test("[CONSUME-1] only the declaring connection may subscribe or consume (Q006, no CONSUMING); the queue goes when it closes", async () => {
    const owner = await socket();
    expect(await ask(owner, "DECLARE_QUEUE", { name: "mine", exclusive: true })).toMatchObject({
      type: "QUEUE_DECLARED",
      payload: { queue_name: "mine", created: true },
    });
    expect((await queueInfo(file.broker.url, "mine")).arguments).toMatchObject({ exclusive: true });
    expect(await ask(owner, "SUBSCRIBE", { queue_name: "mine" })).toMatchObject({ type: "SUBSCRIBED" });

    const stranger = await socket();
    for (const [type, payload] of [
      ["SUBSCRIBE", { queue_name: "mine" }],
      ["CONSUME", { queue_name: "mine" }],
      ["DECLARE_QUEUE", { name: "mine", exclusive: true }],
      ["DECLARE_QUEUE", { name: "mine" }],
    ] as const) {
      expect({ type, answer: await ask(stranger, type, payload) }).toMatchObject({ type, answer: { type: "ERROR", payload: { code: "Q006" } } });
    }
    expect(await queueInfo(file.broker.url, "mine")).toMatchObject({ subscribers: 1, consumers: 0 });

    // Anyone may publish to it (as in AMQP); only the owner receives.
    await publish(file.broker.url, "mine", "for the owner");
    await owner.untilMessages(1);
    await roundTrip(stranger);
    expect(stranger.messages()).toEqual([]);

    // Declaring it again from the owner is a no-op.
    expect(await ask(owner, "DECLARE_QUEUE", { name: "mine", exclusive: true })).toMatchObject({ payload: { created: false } });

    owner.close();
    await until(async () => !(await exists("mine")), 5_000, "the exclusive queue to go");
  });

  test("exclusive is refused over HTTP (422) and together with durable", async () => {
    const res = await api(file.broker.url, "POST", "/queues", { name: "http-exclusive", exclusive: true });
    expect([res.status, res.body.error.code]).toEqual([422, "VALIDATION"]);
    expect(await exists("http-exclusive")).toBe(false);

    const s = await socket();
    expect(await ask(s, "DECLARE_QUEUE", { name: "durable-exclusive", exclusive: true, durable: true })).toMatchObject({
      type: "ERROR",
      payload: { code: "VALIDATION" },
    });
    expect(await exists("durable-exclusive")).toBe(false);
  });

  test("its consumer's unacked messages go with it; other queues are untouched", async () => {
    await declareQueue(file.broker.url, "shared-neighbour");
    const owner = await socket();
    await ask(owner, "DECLARE_QUEUE", { name: "private-work", exclusive: true });
    await consume(owner, "private-work", 5);
    await consume(owner, "shared-neighbour", 5);
    await publish(file.broker.url, "private-work", "p");
    await publish(file.broker.url, "shared-neighbour", "n");
    await owner.untilMessages(2);
    owner.close();
    await until(async () => !(await exists("private-work")));
    expect(await queueInfo(file.broker.url, "shared-neighbour")).toMatchObject({ messages: 1, consumers: 0, unacked: 0 });
  });
});

describe("auto_delete", () => {
  test("stays until someone attached; goes when the last subscriber and consumer have left", async () => {
    await declareQueue(file.broker.url, "session", { auto_delete: true });
    await publish(file.broker.url, "session", "waiting"); // nobody ever attached: it stays
    expect(await exists("session")).toBe(true);

    const watcher = await openSubscriber(file.broker.wsUrl, "session");
    file.sockets.push(watcher);
    const worker = await openConsumer(file.broker.wsUrl, "session", 1);
    file.sockets.push(worker);
    watcher.close();
    await until(async () => (await queueInfo(file.broker.url, "session")).subscribers === 0);
    expect(await exists("session")).toBe(true); // the consumer is still there

    expect(await ask(worker, "CANCEL", { queue_name: "session" })).toMatchObject({ type: "CANCELLED" });
    await until(async () => !(await exists("session")), 5_000, "the auto-delete queue to go");
  });

  test("a consumer that disconnects is its last user too; its bindings go with it", async () => {
    await api(file.broker.url, "POST", "/exchanges", { name: "auto-ex", type: "fanout" });
    await declareQueue(file.broker.url, "auto-bound", { auto_delete: true });
    await api(file.broker.url, "POST", "/bindings", { exchange_name: "auto-ex", queue_name: "auto-bound" });
    const worker = await openConsumer(file.broker.wsUrl, "auto-bound", 1);
    await publish(file.broker.url, "auto-bound", "x");
    await worker.untilMessages(1);
    worker.close();
    await until(async () => !(await exists("auto-bound")), 5_000, "the auto-delete queue to go");
    expect((await api(file.broker.url, "GET", "/bindings?exchange=auto-ex")).body).toEqual([]);
    expect((await api(file.broker.url, "POST", "/publish", { exchange_name: "auto-ex", payload: 1 })).body.routed).toBe(0);
  });

  test("declared over WebSocket too, and listed with its argument", async () => {
    const s = await socket();
    expect(await ask(s, "DECLARE_QUEUE", { name: "ws-auto", auto_delete: true })).toMatchObject({ type: "QUEUE_DECLARED", payload: { created: true } });
    expect((await queueInfo(file.broker.url, "ws-auto")).arguments).toMatchObject({ auto_delete: true });
    expect(await ask(s, "SUBSCRIBE", { queue_name: "ws-auto" })).toMatchObject({ type: "SUBSCRIBED" });
    expect(await ask(s, "UNSUBSCRIBE", { queue_name: "ws-auto" })).toMatchObject({ type: "UNSUBSCRIBED" });
    await until(async () => !(await exists("ws-auto")));
  });
});

describe("server-named queues", () => {
  test("DECLARE_QUEUE without a name answers a fresh amq.gen- name, usable at once", async () => {
    const s = await socket();
    const first = await ask(s, "DECLARE_QUEUE", { exclusive: true });
    const second = await ask(s, "DECLARE_QUEUE", { exclusive: true });
    expect(first).toMatchObject({ type: "QUEUE_DECLARED", payload: { created: true } });
    const name: string = first.payload.queue_name;
    expect(name).toStartWith("amq.gen-");
    expect(second.payload.queue_name).not.toBe(name);

    await consume(s, name, 5);
    await publish(file.broker.url, name, "reply");
    await s.untilMessages(1);
    expect(s.messages()[0]).toMatchObject({ body: "reply", queue: name, redelivered: false });

    s.close();
    await until(async () => !(await exists(name)) && !(await exists(second.payload.queue_name)));
  });

  test("a server-named queue that is neither exclusive nor auto_delete stays after its connection", async () => {
    const s = await socket();
    const declared = await ask(s, "DECLARE_QUEUE", {});
    s.close();
    await until(async () => (await api(file.broker.url, "GET", "/metrics/json")).body.connections === 0);
    expect(await exists(declared.payload.queue_name)).toBe(true);
  });
});
