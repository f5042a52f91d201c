/**
 * Errors are JSON `{"error":{"code","message"}}` with a stable code, over HTTP; over WebSocket an
 * ERROR frame, after which the socket keeps working. Run with a small MAX_PAYLOAD_BYTES.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { rawRequest } from "../support/raw-http.ts";
import { TestSocket } from "../support/ws-client.ts";

const MAX_PAYLOAD_BYTES = 4096;
/** What a WebSocket frame may carry beyond MAX_PAYLOAD_BYTES (documented in the README). */
const ENVELOPE_BYTES = 64 * 1024;

let broker: BrokerProcess;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  broker = await startBroker({ env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) } });
  await api(broker.url, "POST", "/queues", { name: "err-q" });
  await api(broker.url, "POST", "/exchanges", { name: "err-ex", type: "direct" });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

/** Sends the request and checks the error shape; returns [status, code]. */
async function errorOf(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<[number, string]> {
  const res = await fetch(`${broker.url}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body,
  });
  expect(res.headers.get("content-type") ?? "").toContain("application/json");
  const json = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(json)).toEqual(["error"]);
  expect(Object.keys(json.error).sort()).toEqual(["code", "message"]);
  expect(typeof json.error.message).toBe("string");
  return [res.status, json.error.code];
}

describe("HTTP errors", () => {
  test("400 BAD_JSON for a malformed body on every JSON route", async () => {
    for (const [method, path] of [["POST", "/exchanges"], ["POST", "/queues"], ["POST", "/bindings"], ["POST", "/publish"], ["DELETE", "/bindings"]]) {
      for (const body of ['{"name": "x"', "not json", "{'name':'x'}", ""]) {
        expect({ method, path, body, error: await errorOf(method!, path!, body) }).toEqual({ method, path, body, error: [400, "BAD_JSON"] });
      }
    }
  });

  test("422 VALIDATION when the body does not fit the schema", async () => {
    const cases: [string, unknown][] = [
      ["/queues", {}],
      ["/queues", { name: 5 }],
      ["/queues", { name: "x", durable: "yes" }],
      ["/queues", []],
      ["/exchanges", { name: "x" }],
      ["/bindings", { queue_name: "err-q" }],
      ["/publish", { key: "k", payload: 1 }],
      ["/publish", { exchange_name: "", key: "err-q" }],
      ["/publish", { exchange_name: "", key: "err-q", payload: 1, headers: ["x"] }],
      ["/publish", { exchange_name: "", key: "k".repeat(256), payload: 1 }],
      ["/publish", "null"],
    ];
    for (const [path, body] of cases) {
      const error = await errorOf("POST", path, typeof body === "string" ? body : JSON.stringify(body));
      expect({ path, body, error }).toEqual({ path, body, error: [422, "VALIDATION"] });
    }
    expect(await errorOf("DELETE", "/queues/err-q?if_empty=maybe")).toEqual([422, "VALIDATION"]);
    // Nothing was created by the refused requests.
    expect((await api(broker.url, "GET", "/queues/err-q")).body.published).toBe(0);
  });

  test("422 B002 for a binding key over 255 bytes", async () => {
    const body = JSON.stringify({ exchange_name: "err-ex", queue_name: "err-q", key: "k".repeat(256) });
    expect(await errorOf("POST", "/bindings", body)).toEqual([422, "B002"]);
  });

  test("[HEADERS-1] headers and binding arguments that are not objects are refused, not coerced; binding arguments are flat", async () => {
    await api(broker.url, "POST", "/exchanges", { name: "err-headers", type: "headers" });
    for (const value of ["str", ["x"], 5, true]) {
      const publish = JSON.stringify({ exchange_name: "", key: "err-q", payload: 1, headers: value });
      expect({ value, error: await errorOf("POST", "/publish", publish) }).toEqual({ value, error: [422, "VALIDATION"] });
    }
    // Message headers may hold structured values (AMQP field tables do: x-death); arguments may not.
    for (const value of ["str", ["x"], 5, true, { deep: { a: 1 } }, { list: [1] }]) {
      const bind = JSON.stringify({ exchange_name: "err-headers", queue_name: "err-q", arguments: value });
      expect({ value, error: await errorOf("POST", "/bindings", bind) }).toEqual({ value, error: [422, "VALIDATION"] });
    }
    // Elysia used to turn 5 into {}: a headers binding with no conditions, matching every message.
    expect((await api(broker.url, "GET", "/bindings?exchange=err-headers")).body).toEqual([]);
    expect((await api(broker.url, "GET", "/queues/err-q")).body.published).toBe(0);
  });

  test("404 NOT_FOUND for an unknown route", async () => {
    expect(await errorOf("GET", "/nope")).toEqual([404, "NOT_FOUND"]);
    expect(await errorOf("GET", "/queues/err-q/nope")).toEqual([404, "NOT_FOUND"]);
  });

  test("[METHOD-1] 405 METHOD_NOT_ALLOWED with Allow for a known route and another method", async () => {
    expect(await errorOf("PUT", "/queues")).toEqual([405, "METHOD_NOT_ALLOWED"]);
    const res = await fetch(`${broker.url}/publish`, { method: "GET" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect((await fetch(`${broker.url}/queues/err-q/messages`, { method: "POST" })).headers.get("allow")).toBe("DELETE, GET");
  });

  test("413 PAYLOAD_TOO_LARGE for a body over MAX_PAYLOAD_BYTES; a body at the limit is accepted", async () => {
    const envelope = JSON.stringify({ exchange_name: "", key: "err-q", payload: "" });
    const atLimit = JSON.stringify({ exchange_name: "", key: "err-q", payload: "x".repeat(MAX_PAYLOAD_BYTES - envelope.length) });
    expect(atLimit.length).toBe(MAX_PAYLOAD_BYTES);
    expect((await api(broker.url, "POST", "/publish", atLimit)).status).toBe(200);
    const overLimit = JSON.stringify({ exchange_name: "", key: "err-q", payload: "x".repeat(MAX_PAYLOAD_BYTES) });
    expect(await errorOf("POST", "/publish", overLimit)).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    const far = JSON.stringify({ exchange_name: "", key: "err-q", payload: "x".repeat(MAX_PAYLOAD_BYTES + 2 * ENVELOPE_BYTES) });
    expect(await errorOf("POST", "/publish", far)).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  });

  test("[BODY-1] a chunked body (no Content-Length) is held to the same limit, and answered in JSON", async () => {
    const chunked = (body: string) =>
      `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n` +
      `Connection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const small = await rawRequest(broker.port, chunked(JSON.stringify({ exchange_name: "", key: "err-q", payload: "chunked ok" })));
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body).routed).toBe(1);
    for (const size of [MAX_PAYLOAD_BYTES + 1, MAX_PAYLOAD_BYTES + 2 * ENVELOPE_BYTES]) {
      const res = await rawRequest(broker.port, chunked(JSON.stringify({ exchange_name: "", key: "err-q", payload: "x".repeat(size) })));
      expect({ size, status: res.status, body: res.body && JSON.parse(res.body).error?.code }).toEqual({
        size,
        status: 413,
        body: "PAYLOAD_TOO_LARGE",
      });
    }
  });
});

describe("WebSocket errors", () => {
  async function open(): Promise<TestSocket> {
    const socket = await TestSocket.open(broker.wsUrl);
    sockets.push(socket);
    return socket;
  }
  const errors = (socket: TestSocket) => socket.frames.filter((f) => f.type === "ERROR").map((f) => f.payload);

  test("bad frames get an ERROR frame each, and the socket stays usable", async () => {
    const socket = await open();
    const bad: unknown[] = [
      "not json",
      "[1, 2]",
      { payload: {} },
      { type: "FLY", payload: {} },
      { type: "SUBSCRIBE", payload: {} },
      { type: "SUBSCRIBE", payload: { queue_name: 7 } },
      { type: "PUBLISH", payload: { exchange_name: "", key: "err-q" } },
      { type: "PUBLISH", payload: { key: "err-q", payload: 1 } },
      { type: "PUBLISH", payload: { exchange_name: "", key: "err-q", payload: 1, headers: ["not", "an", "object"] } },
      { type: "SUBSCRIBE", payload: { queue_name: "no-such-queue" } },
      { type: "UNSUBSCRIBE", payload: { queue_name: "err-q" } },
      { type: "PUBLISH", payload: { exchange_name: "no-such-exchange", key: "k", payload: 1 } },
    ];
    for (const frame of bad) socket.send(frame);
    await socket.until((frames) => frames.length >= bad.length);
    expect(errors(socket).map((e) => e.code)).toEqual([
      "BAD_JSON",
      "VALIDATION",
      "VALIDATION",
      "UNKNOWN_FRAME",
      "VALIDATION",
      "VALIDATION",
      "VALIDATION",
      "VALIDATION",
      "VALIDATION",
      "Q002",
      "S001",
      "E002",
    ]);
    for (const error of errors(socket)) expect(typeof error.message).toBe("string");

    socket.send({ type: "PING", id: "still-there" });
    socket.send({ type: "SUBSCRIBE", id: "sub", payload: { queue_name: "err-q" } });
    await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "err-q", payload: "after errors" });
    await socket.until((frames) => frames.some((f) => f.type === "MESSAGE" && f.body === "after errors"));
    expect(socket.frames.find((f) => f.type === "PONG")).toEqual({ type: "PONG", payload: { id: "still-there" } });
    expect(socket.closeCode).toBeUndefined();
  });

  test("an error answering a frame with an id names that id", async () => {
    const socket = await open();
    socket.send({ type: "SUBSCRIBE", id: "s1", payload: { queue_name: "no-such-queue" } });
    socket.send({ type: "PUBLISH", id: 42, payload: { exchange_name: "no-such-exchange", key: "k", payload: 1 } });
    await socket.until((frames) => frames.length >= 2);
    expect(errors(socket)).toContainEqual(expect.objectContaining({ code: "Q002", id: "s1" }));
    expect(errors(socket)).toContainEqual(expect.objectContaining({ code: "E002", id: 42 }));
  });

  test("a frame over MAX_PAYLOAD_BYTES + 64 KiB closes the socket with 1009; one under it is accepted", async () => {
    const socket = await open();
    const frame = (size: number) => {
      const empty = JSON.stringify({ type: "PUBLISH", id: size, payload: { exchange_name: "", key: "err-q", payload: "" } });
      return JSON.stringify({ type: "PUBLISH", id: size, payload: { exchange_name: "", key: "err-q", payload: "x".repeat(size - empty.length) } });
    };
    const limit = MAX_PAYLOAD_BYTES + ENVELOPE_BYTES;
    socket.send(frame(limit));
    await socket.until((frames) => frames.some((f) => f.type === "CONFIRM"));
    expect(socket.frames.find((f) => f.type === "CONFIRM").payload).toEqual({ id: limit, routed: 1 });
    socket.send(frame(limit + 1));
    expect(await socket.untilClosed()).toBe(1009);

    // Other clients are unaffected.
    const other = await open();
    other.send({ type: "PING", id: 1 });
    await other.until((frames) => frames.some((f) => f.type === "PONG"));
  });
});
