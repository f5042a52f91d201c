/**
 * Defects the fuzzer found, each kept as its shrunk case with an id. Each test states the request,
 * what the broker answered when it was found, and what it must answer.
 */
import { beforeAll, expect, test } from "bun:test";
import { httpCall } from "./contract.ts";
import { expectHealthy, fuzzBroker, processMemory } from "./fuzz-broker.ts";
import { FuzzSocket } from "./fuzz-socket.ts";
import { concatBytes, nested, utf8 } from "./hostile.ts";
import { rawCall } from "./raw-call.ts";
import { ANSWER_BOUND_MS } from "./settings.ts";

const target = fuzzBroker();
const url = () => target.broker.url;
const ok = async (method: string, path: string, body: unknown) => {
  const answer = await httpCall(url(), method, path, JSON.stringify(body));
  expect(answer.status).toBe(200);
};

beforeAll(async () => {
  await ok("POST", "/exchanges", { name: "fz-x", type: "direct", durable: false });
  await ok("POST", "/queues", { name: "fz-q" });
  await ok("POST", "/bindings", { exchange_name: "fz-x", queue_name: "fz-q", key: "k" });
});

/** Answers within the bound, keeps the contract (httpCall throws otherwise), and is a refusal. */
async function refused(method: string, path: string, body: string): Promise<string | undefined> {
  const answer = await httpCall(url(), method, path, body);
  expect(answer.status).toBeGreaterThanOrEqual(400);
  expect(answer.status).toBeLessThan(500);
  return answer.code;
}

// Found: 500 INTERNAL in ~5 ms for a 9 KB body (4,000 levels still answer 422). Issue 9 item 4's
// class, but far below its 100,000 levels and in a schema-validated field, not in JSON.parse.
test("[FUZZ-1] POST /queues with 4,500 nested arrays as the name: refused with a documented 4xx, not 500", async () => {
  for (const [path, field] of [["/queues", "name"], ["/exchanges", "type"], ["/bindings", "queue_name"], ["/publish", "key"]] as const) {
    const body = `{"name":"x","type":"fanout","exchange_name":"fz-x","queue_name":"fz-q","payload":1,${JSON.stringify(field)}:${nested(4_500, "array")}}`;
    await refused("POST", path, body);
  }
});

// Found: 10,000 nested objects (a 60 KB body) in a wrongly typed field answered 422 after ~1.25 s
// and took the broker from ~70 MB to ~770 MB RSS; 100,000 levels: 500 after 10.5 s at 2.5 GB.
// Time and memory grow with the square of the depth on the validation error path.
test("[FUZZ-2] DELETE /bindings with 10,000 nested objects as the key: refused within the bound, memory flat", async () => {
  const before = processMemory(target.broker.proc.pid).rss;
  const body = `{"exchange_name":"fz-x","queue_name":"fz-q","key":${nested(10_000, "object")}}`;
  const started = performance.now();
  await refused("DELETE", "/bindings", body);
  expect(performance.now() - started).toBeLessThan(ANSWER_BOUND_MS);
  const grown = processMemory(target.broker.proc.pid).rss - before;
  expect(grown).toBeLessThan(100 * 1024 * 1024);
});

// Found: `\` in a raw request target is read as `/` and the dot segments it forms are resolved, so
// DELETE /queues/x\..\victim deleted the durable queue "victim" with its message (200
// {"messages":1}). Issue 9 item 2's class; `\` is a form the issue did not list.
test("[FUZZ-3] DELETE /queues/x\\..\\victim and /queues\\victim do not reach the queue victim", async () => {
  for (const path of ["/queues/x\\..\\fz-victim", "/queues\\fz-victim", "/queues/x\\..\\fz-victim\\messages"]) {
    await ok("POST", "/queues", { name: "fz-victim", durable: true });
    await ok("POST", "/publish", { exchange_name: "", key: "fz-victim", payload: "keep" });
    const before = (await httpCall(url(), "GET", "/queues/fz-victim")).body?.messages;
    const answer = await rawCall(target.broker.port, { method: "DELETE", target: path }, true);
    expect({ path, status: answer.status }).not.toEqual({ path, status: 200 });
    const victim = await httpCall(url(), "GET", "/queues/fz-victim");
    expect({ path, status: victim.status, messages: victim.body?.messages }).toEqual({ path, status: 200, messages: before });
  }
});

// Found: 200 {"routed":1}, and the subscriber got "body":null; over WebSocket the same (CONFIRM,
// then null). A number out of double range was silently replaced, like invalid UTF-8 (item 7).
test("[FUZZ-4] a publish whose payload holds 1e400 is refused, not delivered as null", async () => {
  await ok("POST", "/queues", { name: "fz-big" });
  const socket = await FuzzSocket.open(target.broker.wsUrl);
  try {
    socket.send({ type: "SUBSCRIBE", payload: { queue_name: "fz-big", id: "s" } });
    await socket.next((f) => f.type === "SUBSCRIBED");
    for (const payload of ["1e400", "-1e400", '{"n":1e400}']) {
      const answer = await httpCall(url(), "POST", "/publish", `{"exchange_name":"","key":"fz-big","payload":${payload}}`);
      expect({ payload, refused: answer.status === 400 || answer.status === 422 }).toEqual({ payload, refused: true });
      socket.send(`{"type":"PUBLISH","payload":{"exchange_name":"","key":"fz-big","payload":${payload},"id":"p"}}`);
      const frame = await socket.next((f) => f.payload?.id === "p", socket.frames.length - 1);
      expect({ payload, type: frame?.type }).toEqual({ payload, type: "ERROR" });
    }
    expect(socket.frames.filter((f) => f.type === "MESSAGE")).toEqual([]);
  } finally {
    socket.close();
  }
});

// Found: 200 {"messages":1}: a misspelled or array-style guard is ignored and the non-empty queue
// is deleted; DELETE /exchanges/x?if_empty=true (no such guard on exchanges) deleted a bound
// exchange. Unknown query parameters, like unknown body fields (item 9), must be refused.
test("[FUZZ-5] DELETE with a misspelled guard (?if_empty[]=true, ?If_Empty=true, ?ifEmpty=true) is refused, nothing deleted", async () => {
  for (const query of ["if_empty[]=true", "If_Empty=true", "ifEmpty=true", "if_emtpy=true"]) {
    await ok("POST", "/queues", { name: "fz-guarded" });
    await ok("POST", "/publish", { exchange_name: "", key: "fz-guarded", payload: 1 });
    const answer = await rawCall(target.broker.port, { method: "DELETE", target: `/queues/fz-guarded?${query}` }, true);
    expect({ query, refused: answer.status === 400 || answer.status === 422 }).toEqual({ query, refused: true });
    expect((await httpCall(url(), "GET", "/queues/fz-guarded")).status).toBe(200);
  }
  await ok("POST", "/exchanges", { name: "fz-bound", type: "fanout", durable: false });
  await ok("POST", "/bindings", { exchange_name: "fz-bound", queue_name: "fz-q" });
  const answer = await rawCall(target.broker.port, { method: "DELETE", target: "/exchanges/fz-bound?if_empty=true" }, true);
  expect([400, 422]).toContain(answer.status);
  expect((await httpCall(url(), "GET", "/exchanges/fz-bound")).status).toBe(200);
});

// Found: 200 {"messages":1}: the byte 0xFF in the request target became U+FFFD, so the request
// deleted the queue named "a\uFFFDb". Issue 9 item 7's class (invalid UTF-8 replaced) in the path.
test("[FUZZ-6] a request target with bytes that are not UTF-8 (DELETE /queues/a\\xFFb) reaches no queue: U+FFFD, what Bun reads them as, is no valid name", async () => {
  const declared = await httpCall(url(), "POST", "/queues", JSON.stringify({ name: "a\ufffdb" }));
  expect({ status: declared.status, code: declared.body?.error?.code }).toEqual({ status: 422, code: "INVALID_NAME" });
  await ok("POST", "/queues", { name: "fz-ab" });
  await ok("POST", "/publish", { exchange_name: "", key: "fz-ab", payload: 1 });
  for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
    const targetBytes = concatBytes(utf8("/queues/a"), bytes, utf8("b"));
    const answer = await rawCall(target.broker.port, { method: "DELETE", target: targetBytes }, false);
    expect({ bytes, status: answer.status >= 400 && answer.status < 500 }).toEqual({ bytes, status: true });
  }
  expect((await httpCall(url(), "GET", "/queues/fz-ab")).body.messages).toBe(1);
});

// Found: 500 {"code":"INTERNAL"} on POST /queues, GET /publish and every route that reads a body
// or answers 405, with the log line "request failed: Failed to construct 'Request': Invalid URL
// "http://localhost:65536/queues"": the host guard lets a port of up to five digits through, the
// URL built from it throws. GET /queues and /ping answered 200.
test("[FUZZ-7] a Host header whose port is out of range (a:99999, localhost:65536, [::1]:99999): a 4xx, never 500", async () => {
  for (const host of ["a:99999", "localhost:65536", "[::1]:99999", "1.1.1.1:99999"]) {
    for (const [method, path, body] of [["POST", "/queues", '{"name":"fz-host"}'], ["GET", "/publish", undefined], ["POST", "/publish", '{"exchange_name":"","key":"fz-q","payload":1}']] as const) {
      const answer = await rawCall(target.broker.port, { method, target: path, host, body, headers: body ? ["Content-Type: application/json"] : [] }, true);
      expect({ host, method, path, status: answer.status < 500 }).toEqual({ host, method, path, status: true });
    }
  }
});

// Found by the differential property (transports.test.ts): POST /queues {"name":"q","delivery_limit":null}
// → 422 VALIDATION, while DECLARE_QUEUE {"name":"q","delivery_limit":null} → QUEUE_DECLARED (null read
// as "absent"). The same for every queue argument but durable: two rules for one field.
test("[FUZZ-8] a queue argument set to null gets the same verdict over HTTP and WebSocket", async () => {
  const socket = await FuzzSocket.open(target.broker.wsUrl);
  try {
    for (const arg of ["max_length", "max_bytes", "message_ttl", "overflow", "dead_letter_exchange", "dead_letter_routing_key", "delivery_limit", "history_size", "history_ttl", "auto_delete"]) {
      const http = await httpCall(url(), "POST", "/queues", JSON.stringify({ name: `fz-null-h-${arg}`, [arg]: null }));
      const from = socket.frames.length;
      socket.send({ type: "DECLARE_QUEUE", payload: { name: `fz-null-w-${arg}`, [arg]: null, id: arg } });
      const ws = await socket.next((f) => f.payload?.id === arg, from);
      expect({ arg, httpAccepted: http.status === 200, wsAccepted: ws?.type === "QUEUE_DECLARED" }).toEqual({ arg, httpAccepted: ws?.type === "QUEUE_DECLARED", wsAccepted: http.status === 200 });
    }
  } finally {
    socket.close();
  }
});

test("after the regressions the broker still routes and delivers", async () => {
  await expectHealthy(target.broker, "regressions");
});
