/**
 * Names in URL paths: Bun.serve resolves dot segments (`.`, `..`, `%2e`, `%2E%2e` …) before any
 * handler sees the request, so `.` and `..` cannot name anything, and every other valid name must
 * reach exactly its own resource once encoded with encodeURIComponent. Raw requests (no client
 * library that could normalise first). Runs on SQLite and, with PUBSUB_TEST_BACKEND=postgres, on
 * Postgres.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { rawRequest } from "../support/raw-http.ts";
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

const call = (method: string, path: string, body?: unknown) => api(broker.url, method, path, body);
/** `path` exactly as written, over a plain TCP socket. */
const raw = async (method: string, path: string) => {
  const res = await rawRequest(broker.port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  return { status: res.status, body: res.body === "" ? null : JSON.parse(res.body) };
};
const publish = (queue: string, payload: unknown) => call("POST", "/publish", { exchange_name: "", key: queue, payload });

describe("[NAME-1] names no URL path can carry", () => {
  test('[NAME-1] "." and ".." are refused as queue, exchange and dead-letter exchange names, over HTTP and WebSocket', async () => {
    for (const name of [".", ".."]) {
      for (const [path, body] of [
        ["/queues", { name }],
        ["/queues", { name, durable: true }],
        ["/exchanges", { name, type: "direct" }],
        ["/queues", { name: "n-dlx", dead_letter_exchange: name }],
      ] as const) {
        const res = await call("POST", path, body);
        expect({ path, body, status: res.status, code: res.body.error?.code }).toEqual({ path, body, status: 422, code: "INVALID_NAME" });
      }
      expect((await call("POST", "/bindings", { exchange_name: "amq.direct", queue_name: name })).status).toBe(422);
    }
    const socket = await TestSocket.open(broker.wsUrl);
    sockets.push(socket);
    socket.send({ type: "DECLARE_QUEUE", payload: { name: ".", id: "d" } });
    socket.send({ type: "DECLARE_QUEUE", payload: { name: "..", id: "dd", durable: true } });
    await socket.until((frames) => frames.filter((f) => f.type === "ERROR").length === 2);
    expect(socket.frames.map((f) => [f.payload.id, f.payload.code])).toEqual([
      ["d", "INVALID_NAME"],
      ["dd", "INVALID_NAME"],
    ]);
    expect((await call("GET", "/queues")).body.map((q: { name: string }) => q.name)).not.toContain(".");
  });

  test("[NAME-1] [PATH-2] the purge that used to hit another queue: no \".\" exists, and /queues/./messages is refused as sent", async () => {
    await call("POST", "/queues", { name: "messages", durable: true });
    await publish("messages", "keep me");
    expect((await call("POST", "/queues", { name: "." })).status).toBe(422);
    // Bun resolves every spelling of the dot segment before the broker sees the URL; the broker
    // compares it with the raw segments and refuses the request [PATH-2].
    for (const spelling of ["./messages", "%2e/messages", "%2E/messages"]) {
      for (const method of ["GET", "DELETE"]) {
        const res = await raw(method, `/queues/${spelling}`);
        expect({ spelling, method, status: res.status, code: res.body.error?.code }).toEqual({ spelling, method, status: 400, code: "BAD_PATH" });
      }
    }
    for (const spelling of ["..", "%2e%2e", ".%2E", "%2E."]) {
      const res = await raw("GET", `/queues/x/${spelling}`);
      expect({ spelling, status: res.status }).toEqual({ spelling, status: 400 });
    }
    expect((await call("GET", "/queues/messages")).body.messages).toBe(1);
  });
});

describe("[NAME-3] every other valid name reaches exactly its own queue once encoded", () => {
  /** Names that look like path syntax, escapes or dot segments, but are none once encoded. */
  const TRICKY = [
    "...", ".a", "a.", ". .", "%2e", "%2E%2e", ".%2e", "%", "%25", "%zz", "a%2fb", "a/b", "/", "./..", "../x",
    "a\\b", "\\", "..\\", "?", "a?b", "#", "a#b", ";", "a;b", "+", "a+b", "&", "=", "~", "*", "@", ":", "a b",
    "é", "日本", "🐇", "\uff0e", "\uff0e\uff0e", "\u2024", "\u3002", "a\u0301",
  ];
  /** One name per printable ASCII character in each position, with dots around it. */
  const ASCII: string[] = [];
  for (let cp = 0x21; cp < 0x7f; cp++) {
    const ch = String.fromCharCode(cp);
    ASCII.push(`${ch}`, `.${ch}`, `${ch}.`, `a${ch}b`);
  }
  const names = [...new Set([...TRICKY, ...ASCII])].filter((name) => name !== "." && name !== "..");

  test("[NAME-3] declared, then GET and purge over raw HTTP with the encoded name: its own queue, nobody else's", async () => {
    await call("POST", "/queues", { name: "n-bystander" });
    await publish("n-bystander", "untouched");
    for (const name of names) {
      const declared = await call("POST", "/queues", { name });
      expect({ name, status: declared.status }).toEqual({ name, status: 200 });
      await publish(name, 1);
      const path = `/queues/${encodeURIComponent(name)}`;
      const got = await raw("GET", path);
      expect({ name, got: got.body?.name, messages: got.body?.messages }).toEqual({ name, got: name, messages: 1 });
      expect({ name, purged: (await raw("DELETE", `${path}/messages`)).body }).toEqual({ name, purged: { messages: 1 } });
      expect({ name, deleted: (await raw("DELETE", path)).status }).toEqual({ name, deleted: 200 });
    }
    expect((await call("GET", "/queues/n-bystander")).body.messages).toBe(1);
  }, 60_000);

  test("[NAME-3] with the WHATWG parser Bun uses: for every code point c, only \".\" and \"..\" of c, .c, c., acb fail to survive", () => {
    const lost: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are refused; encodeURIComponent throws on them
      const c = String.fromCodePoint(cp);
      for (const name of [c, `.${c}`, `${c}.`, `a${c}b`]) {
        const segment = /^\/queues\/([^/]*)\/messages$/.exec(new URL(`http://h/queues/${encodeURIComponent(name)}/messages`).pathname)?.[1];
        if (segment === undefined || decodeURIComponent(segment) !== name) lost.push(name);
      }
    }
    expect([...new Set(lost)]).toEqual([".", ".."]);
  }, 60_000);

  test("[NAME-3] the broker agrees with that parser: a raw backslash is a slash (so \"a\\\\b\" must go as a%5Cb), %5C is kept", async () => {
    await call("POST", "/queues", { name: "a\\b" });
    expect((await raw("GET", "/queues/a%5Cb")).body.name).toBe("a\\b");
    expect((await raw("GET", "/queues/a%5cb")).body.name).toBe("a\\b");
    // Unencoded, Bun rewrites the backslash to "/" before the broker sees the URL: refused [PATH-2].
    expect((await raw("GET", "/queues/a\\b")).status).toBe(400);
    await call("DELETE", "/queues/a%5Cb");
  });
});
