/**
 * Fuzz: request targets, methods, query strings and headers sent raw over TCP (fetch would
 * normalise them). Every answer keeps the contract, and no request reaches a resource its path
 * does not name: sentinel queues and an exchange are checked after every case.
 */
import { beforeAll, test } from "bun:test";
import fc from "fast-check";
import { fail, httpCall } from "./contract.ts";
import { expectHealthy, expectMemoryBounded, fuzzBroker } from "./fuzz-broker.ts";
import { FuzzSocket } from "./fuzz-socket.ts";
import { ODD_PIECES } from "./hostile.ts";
import { rawCall } from "./raw-call.ts";
import { fuzz, seed } from "./settings.ts";

const target = fuzzBroker();
const port = () => target.broker.port;
let serial = 0;
const fresh = (): string => `${seed}-${++serial}`;

const SENTINEL_QUEUES = ["messages", "sentinel"] as const;
const SENTINEL_EXCHANGE = "sentinel-x";

async function plantSentinels(): Promise<void> {
  const url = target.broker.url;
  await httpCall(url, "POST", "/exchanges", JSON.stringify({ name: SENTINEL_EXCHANGE, type: "fanout", durable: true }));
  for (const name of SENTINEL_QUEUES) {
    await httpCall(url, "POST", "/queues", JSON.stringify({ name, durable: true }));
    await httpCall(url, "POST", "/bindings", JSON.stringify({ exchange_name: SENTINEL_EXCHANGE, queue_name: name }));
    const queue = await httpCall(url, "GET", `/queues/${name}`);
    if (queue.body?.messages === 0) await httpCall(url, "POST", "/publish", JSON.stringify({ exchange_name: "", key: name, payload: "keep" }));
  }
}

/** Strict percent-decoding of a path segment (null when malformed). */
const decodeSegment = (segment: string): string | null => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
};

/**
 * The path's segments as RFC 3986 resolves them: dot segments removed (`%2e` is `.`, since
 * percent-encoded unreserved characters are equivalent to themselves, 6.2.2.2), each segment
 * percent-decoded, a trailing empty segment dropped. `\\` is no separator in RFC 3986: a path that
 * reaches a resource only by reading `\\` as `/` did not name it.
 */
function resolvedSegments(path: string): (string | null)[] {
  const out: (string | null)[] = [];
  const raw = path.split("/").slice(1);
  raw.forEach((segment, i) => {
    const dots = segment.replace(/%2e/gi, ".");
    if (dots === ".") return void (i === raw.length - 1 && out.push(""));
    if (dots === "..") {
      out.pop();
      if (i === raw.length - 1) out.push("");
      return;
    }
    out.push(decodeSegment(segment));
  });
  if (out.length > 1 && out[out.length - 1] === "") out.pop();
  return out;
}

/**
 * After a case: the sentinels are intact, unless the request named them exactly (a DELETE of
 * /queues/messages, /queues/messages/messages, /exchanges/sentinel-x, percent-encoded or not).
 */
async function expectSentinels(method: string, target_: string, request: string): Promise<void> {
  const url = target.broker.url;
  const segments = resolvedSegments(target_.split("?")[0]!);
  const named = (expected: string[]) => method === "DELETE" && segments.length === expected.length && expected.every((s, i) => segments[i] === s);
  const damaged: string[] = [];
  for (const name of SENTINEL_QUEUES) {
    const queue = await httpCall(url, "GET", `/queues/${name}`);
    if (queue.status !== 200 || queue.body.messages < 1) {
      if (!named(["queues", name]) && !named(["queues", name, "messages"])) damaged.push(`queue "${name}": ${queue.text.slice(0, 200)}`);
    }
  }
  const exchange = await httpCall(url, "GET", `/exchanges/${SENTINEL_EXCHANGE}`);
  if (exchange.status !== 200 && !named(["exchanges", SENTINEL_EXCHANGE])) damaged.push(`exchange "${SENTINEL_EXCHANGE}": ${exchange.text}`);
  if (damaged.length > 0) {
    await plantSentinels();
    fail(request, `reached a resource its path does not name: ${damaged.join("; ")}`);
  }
  await plantSentinels();
}

beforeAll(plantSentinels);

const ROUTE_WORDS = ["queues", "exchanges", "bindings", "publish", "messages", "ping", "metrics", "swagger", "json", "ws", "sentinel", "sentinel-x", ""];
const percentAll = (s: string) => [...new TextEncoder().encode(s)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
const encodings = fc.constantFrom<(s: string) => string>(
  (s) => s,
  (s) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return s;
    }
  },
  percentAll,
  (s) => percentAll(s).toUpperCase(),
);
const segment = fc.tuple(fc.oneof(fc.constantFrom(...ROUTE_WORDS), fc.constantFrom(...ODD_PIECES)), encodings).map(([s, encode]) => encode(s));
const query = fc.option(
  fc.array(fc.tuple(fc.constantFrom("if_unused", "if_empty", "exchange", "queue", "x", ""), fc.oneof(fc.constantFrom("true", "false", "", "1", "%zz", "%"), segment)), { maxLength: 3 }).map(
    (pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`,
  ),
  { nil: "" },
);
const requestTarget = fc
  .tuple(fc.constantFrom("queues", "exchanges", "bindings", "publish", "ping", "metrics", "swagger"), fc.array(segment, { maxLength: 3 }), query)
  .chain(([first, rest, q]) => fc.constantFrom("/", "\\", "//").map((sep) => `/${[first, ...rest].join(sep)}${q}`));
const METHODS = ["GET", "DELETE", "POST", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "get", "CONNECT", "PROPFIND"];
/** Visible ASCII only: anything else is no valid HTTP/1.1 request target (Bun's parser may refuse it bare). */
const isWellFormedTarget = (t: string) => /^[\x21-\x7e]+$/.test(t);

test("raw request targets (odd segments, %2e, %, %zz, //, encodings), any method: contract, and no other resource is reached", async () => {
  await fuzz(
    "http-raw-targets",
    fc.record({ method: fc.constantFrom(...METHODS), path: requestTarget, withBody: fc.boolean() }),
    async ({ method, path, withBody }) => {
      const wellFormed = isWellFormedTarget(path) && /^[A-Z]+$/.test(method) && method !== "CONNECT" && method !== "TRACE";
      const body = withBody ? JSON.stringify({ exchange_name: "sentinel-x", queue_name: "messages", name: "messages", type: "fanout", payload: 1 }) : undefined;
      const answer = await rawCall(port(), { method, target: path, body, headers: body === undefined ? [] : ["Content-Type: application/json"] }, wellFormed);
      await expectSentinels(method, path, `${method} ${path} → ${answer.status} ${answer.text.slice(0, 200)}`);
    },
    0.052,
  );
  await expectHealthy(target.broker, "raw request targets");
});

// Dot segments (`/./`, `%2e%2e`) resolve as RFC 3986 says and may name a resource; `\\` may not.
// Guards [FUZZ-3]/[PATH-2]: a raw `\\` was read as `/`.
test("dot segments and separators in any encoding (/./, %2e%2e, \\..\\): a DELETE never reaches the queue they point at", async () => {
  const dots = fc.constantFrom(".", "..", "%2e", "%2E", "%2e%2e", ".%2e", "%2e.", "%2E%2E");
  const sep = fc.constantFrom("/", "\\", "%2f", "%5c", "//");
  const traversal = fc
    .tuple(fc.constantFrom("/queues/", "/queues"), fc.constantFrom("", "x", "fz"), fc.array(fc.tuple(sep, dots), { minLength: 1, maxLength: 3 }), sep, fc.constantFrom("", "queues/", "queues\\"), fc.constantFrom("sentinel", "messages"), fc.constantFrom("", "/messages", "\\messages"))
    .map(([start, junk, hops, last, again, victim, tail]) => `${start}${junk}${hops.map(([s, d]) => s + d).join("")}${last}${again}${victim}${tail}`);
  await fuzz(
    "http-path-traversal",
    traversal,
    async (path) => {
      const answer = await rawCall(port(), { method: "DELETE", target: path }, true);
      await expectSentinels("DELETE", path, `DELETE ${path} → ${answer.status} ${answer.text.slice(0, 200)}`);
    },
    0.019,
  );
});

// Guards [PATH-1]: a malformed % escape was a 404 for `queue "null"`.
test("a malformed % escape in a path name: 400", async () => {
  const malformed = fc.tuple(fc.constantFrom("", "a", "q%", "%2"), fc.constantFrom("%", "%z", "%zz", "%g0", "%%", "%2", "%u002e", "%e%"), fc.constantFrom("", "b", "%41")).map((p) => p.join("")).filter((name) => decodeSegment(name) === null);
  const paths = fc.tuple(fc.constantFrom("GET /queues/", "DELETE /queues/", "DELETE /queues/{}/messages", "GET /exchanges/", "DELETE /exchanges/"), malformed).map(([route, name]) => {
    const [method, path] = route.split(" ") as [string, string];
    return { method, path: path.includes("{}") ? path.replace("{}", name) : path + name };
  });
  await fuzz(
    "http-malformed-escapes",
    paths,
    async ({ method, path }) => {
      const answer = await rawCall(port(), { method, target: path }, true);
      if (answer.status !== 400) fail(`${method} ${path}`, `answered ${answer.status} ${answer.text}, not 400`);
    },
    0.013,
  );
});

// Guards [METHOD-1]: a wrong method was a 404, not a 405.
test("a method a route does not have: 405 with a documented code", async () => {
  const ROUTES: [string, string[]][] = [
    ["/ping", ["GET"]], ["/metrics", ["GET"]], ["/metrics/json", ["GET"]], ["/readyz", ["GET"]], ["/exchanges", ["GET", "POST"]], ["/exchanges/sentinel-x", ["GET", "DELETE"]],
    ["/queues", ["GET", "POST"]], ["/queues/sentinel", ["GET", "DELETE"]], ["/queues/sentinel/messages", ["GET", "DELETE"]], ["/queues/sentinel/move", ["POST"]],
    ["/healthz", ["GET"]], ["/overview", ["GET"]], ["/overview/history", ["GET"]], ["/overview/stream", ["GET"]], ["/connections", ["GET"]], ["/connections/c-none", ["DELETE"]],
    ["/bindings", ["GET", "POST", "DELETE"]], ["/publish", ["POST"]],
  ];
  const cases = fc.constantFrom(...ROUTES).chain(([path, allowed]) =>
    fc.constantFrom(...["GET", "POST", "PUT", "PATCH", "DELETE"].filter((m) => !allowed.includes(m))).map((method) => ({ method, path })),
  );
  await fuzz(
    "http-wrong-method",
    cases,
    async ({ method, path }) => {
      const answer = await rawCall(port(), { method, target: path, body: "{}", headers: ["Content-Type: application/json"] }, true);
      if (answer.status !== 405) fail(`${method} ${path}`, `answered ${answer.status} ${answer.text}, not 405`);
      await expectSentinels(method, path, `${method} ${path}`);
    },
    0.013,
  );
});

/**
 * A guard (if_empty, if_unused) that is given, misspelled or with an odd value must never let a
 * DELETE through: it is honoured or the request is refused. Only `false` (never generated) may delete.
 */
test("DELETE guards with odd values or odd spellings (yes, 1, empty, repeated, If_Empty, if_empty[]): never a delete past the guard", async () => {
  const value = fc.oneof(fc.constantFrom("true", "TRUE", "True", "yes", "1", "on", "", "%zz", "%", "tru%65", "true%00", "true ", "[true]", "null"), segment);
  const guardNames = { queue: ["if_empty", "if_unused", "If_Empty", "if_empty[]", "ifEmpty", "if-empty", "if_emtpy", "IF_UNUSED"], exchange: ["if_unused", "If_Unused", "if_unused[]", "ifUnused", "if-unused", "if_empty"] };
  const cases = fc.constantFrom("queue" as const, "exchange" as const).chain((kind) =>
    fc.record({ kind: fc.constant(kind), guards: fc.array(fc.tuple(fc.constantFrom(...guardNames[kind]), value), { minLength: 1, maxLength: 3 }) }),
  );
  await fuzz(
    "http-delete-guards",
    cases,
    async ({ kind, guards }) => {
            const url = target.broker.url;
      const name = `fz-g-${fresh()}`;
      let subscriber: FuzzSocket | undefined;
      if (kind === "queue") {
        // Not empty (a consumer holds its message unacked) and in use (the consumer): both guards refuse.
        await httpCall(url, "POST", "/queues", JSON.stringify({ name }));
        await httpCall(url, "POST", "/publish", JSON.stringify({ exchange_name: "", key: name, payload: 1 }));
        await httpCall(url, "POST", "/publish", JSON.stringify({ exchange_name: "", key: name, payload: 2 }));
        subscriber = await FuzzSocket.open(target.broker.wsUrl);
        subscriber.send({ type: "CONSUME", payload: { queue_name: name, prefetch: 1, id: "c" } });
        if (!(await subscriber.next((f) => f.type === "MESSAGE"))) fail(name, `the consumer got nothing: ${JSON.stringify(subscriber.frames)}`);
      } else {
        await httpCall(url, "POST", "/exchanges", JSON.stringify({ name, type: "fanout", durable: false }));
        await httpCall(url, "POST", "/bindings", JSON.stringify({ exchange_name: name, queue_name: "sentinel" }));
      }
      const path = `/${kind === "queue" ? "queues" : "exchanges"}/${name}?${guards.map(([k, v]) => `${k}=${v}`).join("&")}`;
      const answer = await rawCall(port(), { method: "DELETE", target: path }, isWellFormedTarget(path));
      const still = await httpCall(url, "GET", `/${kind === "queue" ? "queues" : "exchanges"}/${name}`);
      subscriber?.close();
      if (still.status !== 200) fail(`DELETE ${path}`, `deleted despite its guards: ${answer.status} ${answer.text}`);
    },
    0.026,
  );
  await expectHealthy(target.broker, "delete guards");
});

const HOSTS = ["mq", "a", "abc", "q.b", "127.0.0.1", "127.0.0.1:1", "localhost", "[::1]", "[::1]:80", "", " ", "a b", "exa%6dple.com", "xn--80ak6aa92e.com", "example.com.", "*", "::1", "1.1.1.1:99999", "localhost:65536", "[::1]:99999", "a:00080", "h:", ":80"];
test("raw headers (odd Host, Content-Length, chunked bodies of odd sizes): contract; short Host headers reach the routes", async () => {
  const body = fc.constantFrom('{"name":"sentinel"}', '{"exchange_name":"","key":"sentinel","payload":1}', "", "{", '{"name":"fz-h"}');
  await fuzz(
    "http-raw-headers",
    fc.record({
      host: fc.oneof(fc.constantFrom(...HOSTS), fc.constantFrom(...ODD_PIECES)),
      path: fc.constantFrom("/queues", "/ping", "/publish", "/queues/sentinel"),
      method: fc.constantFrom("GET", "POST"),
      body: fc.option(body, { nil: undefined }),
      chunked: fc.option(fc.constantFrom(1, 2, 7, 4096), { nil: undefined }),
      extra: fc.subarray(["Content-Type: application/json", "Content-Type: text/plain", "Expect: 100-continue", "Accept-Encoding: gzip", "Content-Encoding: gzip", "Content-Type: application/json; charset=utf-16"]),
    }),
    async ({ host, path, method, body, chunked, extra }) => {
      const wellFormed = /^[\x21-\x7e]+$/.test(host) && !extra.includes("Content-Encoding: gzip");
      const answer = await rawCall(port(), { method, target: path, host, body, chunked, headers: extra }, wellFormed);
      // Issue 9 item 6: a Host of 1-3 characters made every route answer 404.
      if (wellFormed && answer.status === 404 && answer.code === "NOT_FOUND") fail(`${method} ${path} Host: ${host}`, `the route was not found: ${answer.text}`);
      await expectSentinels(method, path, `${method} ${path} Host: ${host}`);
    },
    0.026,
  );
  await expectHealthy(target.broker, "raw headers");
});

test("the broker's memory stays bounded after the run", () => {
  expectMemoryBounded(target.broker);
});
