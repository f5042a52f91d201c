/**
 * [ASYNCAPI-1] The broker serves an AsyncAPI 3 document of /ws that @asyncapi/parser accepts. It
 * lists exactly the frame types the broker accepts (the schema table ws-frames.ts dispatches on),
 * its examples fit its schemas and the broker takes the client ones, and every frame a real broker
 * sends fits it — every kind of broker frame it documents is seen on the wire.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DiagnosticSeverity, Parser } from "@asyncapi/parser";
// ajv comes with @asyncapi/parser (its validator); here it checks frames against the document's JSON Schemas.
import Ajv, { type ValidateFunction } from "ajv";
import { SignJWT } from "jose";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { clientPayloads } from "../../src/server/ws-schemas.ts";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

let broker: BrokerProcess;
let doc: any;
const sockets: TestSocket[] = [];
beforeAll(async () => {
  broker = await startBroker();
  const answer = await api(broker.url, "GET", "/asyncapi.json");
  expect(answer.status).toBe(200);
  doc = answer.body;
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

const open = async (): Promise<TestSocket> => {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  return socket;
};
const post = async (path: string, body: unknown) => expect((await api(broker.url, "POST", path, body)).status).toBe(200);

/** `#/channels/ws/messages/Subscribe` → the message object. */
const resolve = (ref: string): any => ref.slice(2).split("/").reduce((node: any, key) => node[key], doc);
const messages = (): Record<string, any> => doc.channels.ws.messages;
const typeOf = (message: any): string => message.payload.properties.type.const;
/** The messages of the document's operations with this action, by name. */
const messagesOf = (action: "send" | "receive"): string[] =>
  Object.values(doc.operations as Record<string, any>)
    .filter((op) => op.action === action)
    .flatMap((op) => op.messages.map((m: { $ref: string }) => m.$ref.split("/").at(-1)!));
/** Every message a client may send (receive operations), and every one the broker may send (the rest). */
const clientMessages = () => new Set(messagesOf("receive"));
const brokerMessages = () => Object.keys(messages()).filter((name) => !clientMessages().has(name));

const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();
const validatorOf = (name: string): ValidateFunction => {
  let validate = validators.get(name);
  if (validate === undefined) validators.set(name, (validate = ajv.compile(messages()[name].payload)));
  return validate;
};

test("@asyncapi/parser validates the document with no errors (warnings are printed)", async () => {
  const parser = new Parser();
  const diagnostics = await parser.validate(doc);
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const d of diagnostics.filter((d) => d.severity !== DiagnosticSeverity.Error)) {
    console.log(`asyncapi ${DiagnosticSeverity[d.severity]}: ${d.code}: ${d.message} at ${d.path.join(".") || "(root)"}`);
  }
  expect(errors.map((d) => `${d.code}: ${d.message} at ${d.path.join(".")}`)).toEqual([]);
  const { document } = await parser.parse(doc);
  expect(document?.version()).toBe("3.0.0");
  expect(document?.channels().get("ws")?.address()).toBe("/ws");
  expect(doc.servers.broker).toMatchObject({ host: `127.0.0.1:${broker.port}`, protocol: "ws" });
});

test("served beside the OpenAPI document, and like it not listed there", async () => {
  const spec = (await api(broker.url, "GET", "/swagger/json")).body;
  expect(doc.info.version).toBe(spec.info.version);
  expect(Object.keys(spec.paths).filter((path) => path.includes("asyncapi") || path.includes("swagger"))).toEqual([]);
});

test("every frame type the broker accepts is a documented message, and the broker accepts no other", async () => {
  const accepted = Object.keys(clientPayloads).sort();
  expect([...clientMessages()].map((name) => typeOf(messages()[name])).sort()).toEqual(accepted);
  for (const name of clientMessages()) expect({ name, reply: resolve(`#/operations/${name[0]!.toLowerCase()}${name.slice(1)}`).reply !== undefined }).toEqual({ name, reply: true });

  const socket = await open();
  // Each accepted type, even with an empty payload, is known: refused as VALIDATION at worst, never UNKNOWN_FRAME.
  for (const type of accepted) socket.send({ type, payload: { id: `known-${type}` } });
  // Look-alikes: another case, and the names of Object.prototype (once an INTERNAL error, not UNKNOWN_FRAME).
  const unknown = ["subscribe", "MESSAGE", "CONFIRM", "toString", "__proto__", "constructor", "hasOwnProperty"];
  for (const type of unknown) socket.send({ type, payload: { id: `unknown-${type}` } });
  socket.send({ type: "PING", payload: { id: "last" } });
  await socket.until((frames) => frames.some((f) => f.type === "PONG" && f.payload.id === "last"));
  const answerTo = (id: string) => socket.frames.find((f) => f.payload?.id === id);
  for (const type of accepted) expect({ type, code: answerTo(`known-${type}`)?.payload.code }).not.toEqual({ type, code: "UNKNOWN_FRAME" });
  for (const type of unknown) expect({ type, code: answerTo(`unknown-${type}`)?.payload.code }).toEqual({ type, code: "UNKNOWN_FRAME" });
});

test("every example fits its message's schema; the broker takes every client example as a valid frame", async () => {
  for (const [name, message] of Object.entries(messages())) {
    expect({ name, examples: (message.examples ?? []).length > 0 }).toEqual({ name, examples: true });
    for (const example of message.examples) {
      const validate = validatorOf(name);
      expect({ name, example: example.name, errors: validate(example.payload) ? null : validate.errors }).toEqual({ name, example: example.name, errors: null });
    }
  }
  // What the client examples name, so that they reach something.
  await post("/exchanges", { name: "orders", type: "topic", durable: false });
  for (const queue of ["billing", "feed"]) await post("/queues", { name: queue });
  for (const name of clientMessages()) {
    for (const example of messages()[name].examples) {
      const socket = await open();
      socket.send(example.payload);
      socket.send({ type: "PING", payload: { id: "after" } });
      const declares = example.payload.type === "DECLARE_QUEUE";
      await socket.until((frames) => frames.some((f) => f.type === "PONG") && (!declares || frames.some((f) => f.type === "QUEUE_DECLARED" || f.type === "ERROR")));
      const refused = socket.frames.filter((f) => f.type === "ERROR" && ["VALIDATION", "UNKNOWN_FRAME", "BAD_JSON"].includes(f.payload.code));
      expect({ name, example: example.name, refused }).toEqual({ name, example: example.name, refused: [] });
      socket.close();
    }
  }
});

test("every frame a real broker sends fits the document, and every broker frame it documents is seen", async () => {
  await post("/exchanges", { name: "aa-x", type: "direct", durable: false });
  for (const [name, args] of [["aa-sub", {}], ["aa-jobs", {}], ["aa-gap", { history_size: 2 }], ["aa-del", {}], ["aa-batch", {}]] as const) await post("/queues", { name, ...args });
  await post("/bindings", { exchange_name: "aa-x", queue_name: "aa-sub", key: "k" });

  // A subscriber: SUBSCRIBED, deliveries, UNSUBSCRIBED, and ERROR S001 for a second UNSUBSCRIBE.
  const subscriber = await open();
  subscriber.send({ type: "SUBSCRIBE", payload: { queue_name: "aa-sub", id: 1 } });
  await subscriber.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
  const publisher = await open();
  publisher.send({ type: "PUBLISH", payload: { exchange_name: "aa-x", key: "k", payload: { n: 1 }, headers: { h: "v", deep: { a: [1] } }, id: "p1" } });
  publisher.send({ type: "PUBLISH", payload: { exchange_name: "aa-x", key: "k", payload: "twice", message_id: "m-1", id: "p2" } });
  publisher.send({ type: "PUBLISH", payload: { exchange_name: "aa-x", key: "k", payload: "twice", message_id: "m-1", id: "p3" } });
  await publisher.until((frames) => frames.filter((f) => f.type === "CONFIRM").length === 3);
  expect(publisher.frames.find((f) => f.payload.id === "p3").payload.duplicate).toBe(true);
  await subscriber.untilMessages(2);
  subscriber.send({ type: "UNSUBSCRIBE", payload: { queue_name: "aa-sub", id: 2 } });
  subscriber.send({ type: "UNSUBSCRIBE", payload: { queue_name: "aa-sub", id: 3 } });
  await subscriber.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.id === 3));

  // A batching subscriber [BATCH-1]: a waiting backlog is handed out in one turn, so one MESSAGES frame.
  for (const n of [1, 2, 3]) await post("/publish", { exchange_name: "", key: "aa-batch", payload: n });
  const batched = await open();
  batched.send({ type: "SUBSCRIBE", payload: { queue_name: "aa-batch", batch: true } });
  await batched.until((frames) => frames.some((f) => f.type === "MESSAGES"));

  // A consumer: CONSUMING, deliveries (one redelivered), ACKED, NACKED, CANCELLED.
  const consumer = await open();
  consumer.send({ type: "CONSUME", payload: { queue_name: "aa-jobs", prefetch: 2, id: "c" } });
  await consumer.until((frames) => frames.some((f) => f.type === "CONSUMING"));
  for (const n of [1, 2]) await post("/publish", { exchange_name: "", key: "aa-jobs", payload: n });
  await consumer.untilMessages(2);
  const [first, second] = consumer.messages();
  consumer.send({ type: "ACK", payload: { delivery_tag: first.delivery_tag, id: "a" } });
  consumer.send({ type: "NACK", payload: { delivery_tag: second.delivery_tag, requeue: true, id: "n" } });
  await consumer.untilMessages(3);
  expect(consumer.messages()[2].redelivered).toBe(true);
  consumer.send({ type: "CANCEL", payload: { queue_name: "aa-jobs", id: "x" } });
  await consumer.until((frames) => frames.some((f) => f.type === "CANCELLED"));

  // QUEUE_DECLARED, PONG with and without an id, ERROR for bad JSON and an unknown type.
  const other = await open();
  other.send({ type: "DECLARE_QUEUE", payload: { exclusive: true, id: "d" } });
  other.send({ type: "PING" });
  other.send("not json");
  other.send({ type: "NOPE", payload: { id: 9 } });
  other.send({ type: "PING", payload: { id: "p" } });
  await other.until((frames) => frames.some((f) => f.type === "QUEUE_DECLARED") && frames.some((f) => f.type === "PONG" && f.payload.id === "p"));

  // GAP: history keeps 2 of 4 delivered messages; a resume from seq 1 cannot be whole.
  const steady = await open();
  steady.subscribe("aa-gap");
  for (const n of [1, 2, 3, 4]) await post("/publish", { exchange_name: "", key: "aa-gap", payload: n });
  await steady.untilMessages(4);
  const resumed = await open();
  resumed.send({ type: "SUBSCRIBE", payload: { queue_name: "aa-gap", since: 1 } });
  await resumed.until((frames) => frames.some((f) => f.type === "GAP"));

  // The unsolicited ERROR a deleted queue's subscribers get.
  const orphan = await open();
  orphan.send({ type: "SUBSCRIBE", payload: { queue_name: "aa-del", id: "o" } });
  await orphan.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
  expect((await api(broker.url, "DELETE", "/queues/aa-del")).status).toBe(200);
  await orphan.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.queue_name === "aa-del"));

  // AUTHENTICATED, and TOKEN_EXPIRING for a JWT that expires within the notice, from a broker that takes tokens.
  const secret = "a-test-secret-of-at-least-32-bytes!!";
  const withTokens = await startBroker({ env: { JWT_SECRET: secret } });
  const token = await new SignJWT({ pubsub: { configure: "", write: "", read: ".*" } })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("reader")
    .setExpirationTime(Math.floor(Date.now() / 1000) + 20)
    .sign(new TextEncoder().encode(secret));
  const authed = await TestSocket.open(withTokens.wsUrl);
  sockets.push(authed);
  authed.send({ type: "AUTH", payload: { token, id: "t" } });
  try {
    await authed.until((frames) => frames.some((f) => f.type === "AUTHENTICATED") && frames.some((f) => f.type === "TOKEN_EXPIRING"));
  } finally {
    authed.close();
    await withTokens.stop();
    removeDir(withTokens.dataDir);
  }

  const seen = new Set<string>();
  const candidates = brokerMessages();
  for (const socket of [subscriber, batched, publisher, consumer, other, steady, resumed, orphan, authed]) {
    for (const frame of socket.frames) {
      const fits = candidates.filter((name) => typeOf(messages()[name]) === frame.type && validatorOf(name)(frame));
      expect({ frame, fits: fits.length > 0 }).toEqual({ frame, fits: true });
      for (const name of fits) seen.add(name);
    }
  }
  // Closed schemas keep the two deliveries apart: a subscriber's has no tag, a consumer's must.
  expect(validatorOf("ConsumerDelivery")(subscriber.messages()[0])).toBe(false);
  expect(validatorOf("Delivery")(consumer.messages()[0])).toBe(false);
  expect([...seen].sort()).toEqual([...candidates].sort());
});

/**
 * A guard on the code, not the wire: every upper-case string a file of the WebSocket side writes
 * (ws-*.ts, frames.ts; ws-schemas.ts only defines) that is not a client frame type nor a field name
 * is a frame type it may send, and must be a documented broker message. Catches a new reply type
 * the wire test above does not provoke.
 */
test("every frame type the WebSocket code can send is documented", () => {
  const dir = join(import.meta.dir, "../../src/server");
  const clientTypes = new Set(Object.keys(clientPayloads));
  const built = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => /^(ws-.+|frames)\.ts$/.test(f) && f !== "ws-schemas.ts")) {
    for (const m of readFileSync(join(dir, file), "utf8").matchAll(/"([A-Z][A-Z_]{2,})"(?!:)/g)) if (!clientTypes.has(m[1]!)) built.add(m[1]!);
  }
  const documented = new Set(brokerMessages().map((name) => typeOf(messages()[name])));
  expect([...built].filter((type) => !documented.has(type))).toEqual([]);
  expect(built.size).toBe(documented.size);
});
