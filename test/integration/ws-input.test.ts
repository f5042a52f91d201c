/**
 * Hostile and sloppy WebSocket frames: each refused with an ERROR frame naming its id, the socket
 * kept open, the broker serving. Depth bombs [DEPTH-2], binary frames [UTF8-2], `since: null`
 * [SINCE-1] and the seed's case-insensitive frame fields [SEED-CASE-2].
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
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

const open = async () => {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  return socket;
};
const errorWithId = (socket: TestSocket, id: unknown) => socket.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.id === id));

test("[DEPTH-2] a PUBLISH frame nesting 100,000 arrays: ERROR BAD_JSON with its id, no stall, socket still usable", async () => {
  const socket = await open();
  const before = (await api(broker.url, "GET", "/metrics/json")).body.event_loop.max_stall_ms;
  const bomb = `{"type":"PUBLISH","payload":{"id":"bomb-1","exchange_name":"","key":"k","payload":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`;
  socket.send(bomb);
  await errorWithId(socket, "bomb-1");
  const error = socket.frames.find((f) => f.type === "ERROR");
  expect(error.payload).toEqual({ code: "BAD_JSON", message: "frame nests deeper than 64 levels", id: "bomb-1" });
  // The id may also come after the deep part.
  socket.send(`{"type":"PUBLISH","payload":{"payload":${"[".repeat(1000)}${"]".repeat(1000)},"id":7}}`);
  await errorWithId(socket, 7);
  const metrics = await api(broker.url, "GET", "/metrics/json");
  // Blind to stalls before the bombs (start-up under CI load); it was ~1,600 ms per bomb.
  expect(metrics.body.event_loop.max_stall_ms).toBeLessThanOrEqual(Math.max(before, 500));
  socket.send({ type: "PING", payload: { id: "after" } });
  await socket.until((frames) => frames.some((f) => f.type === "PONG" && f.payload.id === "after"));
});

test("[UTF8-2] a binary frame is read as JSON text; invalid UTF-8 in it is an ERROR, never replaced", async () => {
  const socket = await open();
  socket.ws.send(new TextEncoder().encode(JSON.stringify({ type: "PING", payload: { id: "bin" } })));
  await socket.until((frames) => frames.some((f) => f.type === "PONG" && f.payload.id === "bin"));
  socket.ws.send(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
  await socket.until((frames) => frames.some((f) => f.type === "ERROR"));
  expect(socket.frames.find((f) => f.type === "ERROR").payload).toEqual({ code: "BAD_JSON", message: "binary frame is not valid UTF-8" });
  expect(socket.ws.readyState).toBe(WebSocket.OPEN);
});

test("[SINCE-1] since: null is a plain subscribe; a non-number since is refused", async () => {
  await api(broker.url, "POST", "/queues", { name: "since-null" });
  const socket = await open();
  socket.send({ type: "SUBSCRIBE", payload: { queue_name: "since-null", since: null, id: 1 } });
  await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
  await api(broker.url, "POST", "/publish", { exchange_name: "", key: "since-null", payload: "x" });
  await socket.untilMessages(1);
  socket.send({ type: "SUBSCRIBE", payload: { queue_name: "since-null", since: "3", id: 2 } });
  await errorWithId(socket, 2);
  expect(socket.frames.find((f) => f.type === "ERROR").payload.code).toBe("VALIDATION");
});

test("[SEED-CASE-2] the seed's Type/Payload/Queue_Name spellings subscribe like the lower-case ones", async () => {
  await api(broker.url, "POST", "/queues", { name: "seed-frame" });
  const socket = await open();
  socket.send(JSON.stringify({ Type: "SUBSCRIBE", Payload: { Queue_Name: "seed-frame" } }));
  const other = await open();
  other.send(JSON.stringify({ type: "SUBSCRIBE", Payload: { QUEUE_NAME: "seed-frame" } }));
  // A seed SUBSCRIBE has no reply; a PING behind it on the same socket is answered after it took effect.
  for (const s of [socket, other]) {
    s.send({ type: "PING", payload: { id: "sync" } });
    await s.until((frames) => frames.some((f) => f.type === "PONG"));
  }
  await api(broker.url, "POST", "/publish", { exchange_name: "", key: "seed-frame", payload: { n: 1 } });
  await socket.untilMessages(1);
  await other.untilMessages(1);
  expect(socket.messages()[0].body).toEqual({ n: 1 });
});

test("[STRICT-2] a misspelt field in any frame is an ERROR naming it, never ignored (NACK reqeue:false used to requeue)", async () => {
  await api(broker.url, "POST", "/queues", { name: "strict-frames" });
  const socket = await open();
  const frames: Array<[string, Record<string, unknown>, string]> = [
    ["NACK", { delivery_tag: 1, reqeue: false, id: "n" }, 'NACK: unknown field "reqeue" (did you mean "requeue"?)'],
    ["CONSUME", { queue_name: "strict-frames", prefech: 1, id: "c" }, 'CONSUME: unknown field "prefech" (did you mean "prefetch"?)'],
    ["SUBSCRIBE", { queue_name: "strict-frames", sinse: 3, id: "s" }, 'SUBSCRIBE: unknown field "sinse" (did you mean "since"?)'],
    ["ACK", { delivery_tag: "1", id: "a" }, 'ACK: delivery_tag must be a whole number of at least 0, got "1"'],
    ["CANCEL", { queue: "strict-frames", id: "x" }, "CANCEL: queue_name is required"],
  ];
  for (const [type, payload] of frames) socket.send({ type, payload });
  await socket.until((got) => got.filter((f) => f.type === "ERROR").length === frames.length);
  for (const [type, payload, message] of frames) {
    const error = socket.frames.find((f) => f.type === "ERROR" && f.payload.id === payload.id);
    expect({ type, error: error?.payload }).toEqual({ type, error: { code: "VALIDATION", message, id: payload.id } });
  }
  expect((await api(broker.url, "GET", "/queues/strict-frames")).body.consumers).toBe(0);
});
