/**
 * Fuzz: hostile request bodies on every JSON route of a real broker. Every answer keeps the
 * contract (no 5xx, no INTERNAL, documented code and status, within the bound); wrong types,
 * stand-in strings and unknown fields are refused; invalid UTF-8 is refused; after each batch the
 * broker still routes and delivers.
 */
import { beforeAll, test } from "bun:test";
import fc from "fast-check";
import { fail, httpCall } from "./contract.ts";
import { expectHealthy, expectMemoryBounded, fuzzBroker } from "./fuzz-broker.ts";
import { depthBomb, hostileBodyBytes, hostileJsonText, invalidUtf8, withInvalidUtf8 } from "./hostile.ts";
import { anyValueFor, applyMutation, hasWrongField, ROUTES, spliceField, STRINGLY, unknownFieldName, WRONG, wrongField, type Route } from "./routes.ts";
import { fuzz, seed } from "./settings.ts";

const target = fuzzBroker();
let serial = 0;
const fresh = (): string => `${seed}-${++serial}`;

beforeAll(async () => {
  for (const [path, body] of [
    ["/exchanges", { name: "fz-x", type: "direct", durable: false }],
    ["/queues", { name: "fz-q" }],
    ["/bindings", { exchange_name: "fz-x", queue_name: "fz-q", key: "k" }],
  ] as const) {
    const answer = await httpCall(target.broker.url, "POST", path, JSON.stringify(body));
    if (answer.status !== 200) throw new Error(`setup ${path}: ${answer.status} ${answer.text}`);
  }
});

const anyRoute = fc.constantFrom(...ROUTES);
const routeAnd = <T>(other: (route: Route) => fc.Arbitrary<T>, routes = ROUTES) =>
  fc.constantFrom(...routes).chain((route) => fc.tuple(fc.constant(route), other(route)));
const CONTENT_TYPES = [
  "application/json", "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
  "application/json; charset=utf-16", "application/json; charset=latin1", "application/octet-stream", "", "application/json, text/plain",
];
const REFUSED = new Set([400, 422]);

test("every route, hostile bodies (random bytes, depth bombs, wide objects, huge and odd strings): answers keep the contract", async () => {
  await fuzz(
    "http-hostile-bodies",
    fc.record({ route: anyRoute, body: fc.oneof(hostileJsonText, hostileBodyBytes), contentType: fc.constantFrom(...CONTENT_TYPES) }),
    async ({ route, body, contentType }) => {
      await httpCall(target.broker.url, route.method, route.path, body, { "content-type": contentType });
    },
    0.077,
  );
  await expectHealthy(target.broker, "hostile bodies");
});

test("every route, hostile JSON text (depth bombs, wide objects, 1e400, truncations) in any field: answers keep the contract", async () => {
  await fuzz(
    "http-hostile-json-in-fields",
    routeAnd((route) => fc.tuple(fc.constantFrom(...Object.keys(route.shape)), hostileJsonText)),
    async ([route, [field, raw]]) => {
      await httpCall(target.broker.url, route.method, route.path, spliceField(route.valid(fresh()), field, raw));
    },
    0.065,
  );
  await expectHealthy(target.broker, "hostile JSON in fields");
});

// Guards [DEPTH-1]; [FUZZ-1] and [FUZZ-2] are its cases in validated fields.
test("every route, a depth bomb (100 to 100,000 levels) in any field: refused or accepted within the bound, never 5xx", async () => {
  await fuzz(
    "http-depth-bombs",
    routeAnd((route) => fc.tuple(fc.constantFrom(...Object.keys(route.shape)), depthBomb)),
    async ([route, [field, raw]]) => {
      await httpCall(target.broker.url, route.method, route.path, spliceField(route.valid(fresh()), field, raw));
    },
    0.032,
  );
  await expectHealthy(target.broker, "depth bombs in fields");
});

test("every route, hostile values in every field: answers keep the contract", async () => {
  const bodies = routeAnd((route) =>
    fc.record(Object.fromEntries(Object.entries(route.shape).map(([field, { kind }]) => [field, fc.option(anyValueFor(kind), { nil: undefined, freq: 3 })]))),
  );
  await fuzz(
    "http-hostile-fields",
    bodies,
    async ([route, fields]) => {
      const body = { ...route.valid(fresh()), ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) };
      await httpCall(target.broker.url, route.method, route.path, JSON.stringify(body));
    },
    0.065,
  );
  await expectHealthy(target.broker, "hostile fields");
});

test("every route, a wrong type in any field (or a required one missing): refused with 400/422", async () => {
  await fuzz(
    "http-wrong-types",
    routeAnd((route) => wrongField(route.shape, WRONG)),
    async ([route, mutation]) => {
      const body = JSON.stringify(applyMutation(route.valid(fresh()), mutation));
      const answer = await httpCall(target.broker.url, route.method, route.path, body);
      if (!REFUSED.has(answer.status)) fail(`${route.method} ${route.path} ${body}`, `${mutation.field}=${JSON.stringify(mutation.value)} not refused: ${answer.status} ${answer.text}`);
    },
    0.039,
  );
  await expectHealthy(target.broker, "wrong types");
});

// Guards [STRICT-1]: "5" was coerced to 5 for integer fields.
test("every route, a string standing in for a number or boolean: refused with 400/422 (no coercion)", async () => {
  await fuzz(
    "http-no-coercion",
    routeAnd((route) => wrongField(route.shape, STRINGLY), ROUTES.filter((route) => hasWrongField(route.shape, STRINGLY))),
    async ([route, mutation]) => {
      const body = JSON.stringify(applyMutation(route.valid(fresh()), mutation));
      const answer = await httpCall(target.broker.url, route.method, route.path, body);
      if (!REFUSED.has(answer.status)) fail(`${route.method} ${route.path} ${body}`, `${mutation.field}=${JSON.stringify(mutation.value)} was coerced: ${answer.status} ${answer.text}`);
    },
    0.019,
  );
});

// Guards [STRICT-1]: unknown fields were accepted and dropped.
test("every route, an unknown field: refused with 422", async () => {
  await fuzz(
    "http-unknown-fields",
    routeAnd((route) => fc.tuple(unknownFieldName(route.shape), fc.constantFrom(1, "x", true, null, {}, []))),
    async ([route, [field, value]]) => {
      // Written by hand: an object literal would turn "__proto__" into a prototype.
      const valid = JSON.stringify(route.valid(fresh()));
      const body = `${valid.slice(0, -1)},${JSON.stringify(field)}:${JSON.stringify(value)}}`;
      const answer = await httpCall(target.broker.url, route.method, route.path, body);
      if (answer.status !== 422) fail(`${route.method} ${route.path} ${body}`, `unknown field ${JSON.stringify(field)} not refused with 422: ${answer.status} ${answer.text}`);
    },
    0.019,
  );
});

// Guards [UTF8-1]: invalid UTF-8 was replaced by U+FFFD.
test("every route, a body that is not valid UTF-8: refused with 400 BAD_JSON", async () => {
  const cases = routeAnd((route) => fc.tuple(fc.constantFrom(...Object.keys(route.shape).filter((f) => ["name", "key", "string", "messageId", "payload"].includes(route.shape[f]!.kind))), invalidUtf8));
  await fuzz(
    "http-invalid-utf8",
    cases,
    async ([route, [field, bad]]) => {
      const marker = "\u0001MARK\u0001";
      const text = JSON.stringify({ ...route.valid(fresh()), [field]: `fz${marker}` });
      const [before, after] = text.split(JSON.stringify(marker).slice(1, -1)) as [string, string];
      const body = withInvalidUtf8(before, bad, after);
      const answer = await httpCall(target.broker.url, route.method, route.path, body);
      if (answer.status !== 400 || answer.code !== "BAD_JSON") {
        fail(`${route.method} ${route.path} ${Buffer.from(body).toString("latin1")}`, `bytes ${bad.map((b) => b.toString(16))} in ${field} not refused as BAD_JSON: ${answer.status} ${answer.text}`);
      }
    },
    0.019,
  );
});

test("the broker's memory stays bounded after the run", () => {
  expectMemoryBounded(target.broker);
});
