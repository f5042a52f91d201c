import { describe, expect, test } from "bun:test";
import { ErrorCodes } from "../../src/core/errors.ts";
import { direct } from "../../src/core/exchanges/direct.ts";
import { fanout } from "../../src/core/exchanges/fanout.ts";
import { headers } from "../../src/core/exchanges/headers.ts";
import { exchangeTypes, isExchangeKind } from "../../src/core/exchanges/index.ts";
import { topic, topicMatches } from "../../src/core/exchanges/topic.ts";
import type { Binding, BindingArgs, ExchangeType, MessageHeaders } from "../../src/core/exchanges/types.ts";

/** [queue, key, args]: a binding on exchange "x". */
type BindSpec = readonly [queue: string, key: string, args?: BindingArgs];

type Case = {
  readonly name: string;
  readonly bind: readonly BindSpec[];
  readonly unbind?: readonly BindSpec[];
  readonly message: { readonly key?: string; readonly headers?: MessageHeaders };
  readonly expected: readonly string[];
};

const toBinding = ([queue, key, args = {}]: BindSpec): Binding => ({ exchange: "x", queue, key, args });

/** The one case-table runner every exchange type goes through. */
const runCases = (type: ExchangeType, cases: readonly Case[]) =>
  describe(`${type.kind} routing`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const router = type.createRouter();
        for (const spec of c.bind) router.bind(toBinding(spec));
        for (const spec of c.unbind ?? []) expect(router.unbind(toBinding(spec))).toBe(true);
        const routed = router.route({ routingKey: c.message.key ?? "", headers: c.message.headers ?? {} });
        expect(routed.length).toBe(new Set(routed).size);
        expect([...routed].sort()).toEqual([...c.expected].sort());
      });
    }
  });

/**
 * The Router contract, for every type: `same` are two different bindings of queue "q" that both
 * match `message`.
 */
const routerContract = (type: ExchangeType, same: readonly [BindSpec, BindSpec], message: Case["message"]) =>
  describe(`${type.kind} router contract`, () => {
    const routable = { routingKey: message.key ?? "", headers: message.headers ?? {} };
    const [first, second] = same.map(toBinding) as [Binding, Binding];

    test("a duplicate bind changes nothing: one unbind removes it", () => {
      const router = type.createRouter();
      router.bind(first);
      router.bind({ ...first, args: { ...first.args } });
      expect(router.route(routable)).toEqual(["q"]);
      expect(router.unbind(first)).toBe(true);
      expect(router.route(routable)).toEqual([]);
      expect(router.unbind(first)).toBe(false);
    });

    test("unbinding an absent binding returns false", () => {
      const router = type.createRouter();
      expect(router.unbind(first)).toBe(false);
      router.bind(first);
      expect(router.unbind({ ...first, queue: "other" })).toBe(false);
      expect(router.route(routable)).toEqual(["q"]);
    });

    test("two bindings to one queue route it once; it stays until both are gone", () => {
      const router = type.createRouter();
      router.bind(first);
      router.bind(second);
      router.bind({ ...first, queue: "r" });
      expect([...router.route(routable)].sort()).toEqual(["q", "r"]);
      expect(router.unbind(first)).toBe(true);
      expect([...router.route(routable)].sort()).toEqual(["q", "r"]);
      expect(router.unbind(second)).toBe(true);
      expect(router.route(routable)).toEqual(["r"]);
      // Routed between changes: a router that remembers its answer forgets it when a binding changes.
      router.bind({ ...first, queue: "s" });
      expect([...router.route(routable)].sort()).toEqual(["r", "s"]);
      router.unbind({ ...first, queue: "r" });
      expect(router.route(routable)).toEqual(["s"]);
    });

    test("keys up to 255 bytes are valid, longer ones are B002", () => {
      const valid = (key: string) => type.validateBinding({ ...first, key });
      expect(valid("")).toBeNull();
      expect(valid("€".repeat(85))).toBeNull(); // 255 bytes
      expect(valid(`${"€".repeat(85)}a`)?.code).toBe(ErrorCodes.BINDING_INVALID);
      expect(valid("k".repeat(256))?.code).toBe(ErrorCodes.BINDING_INVALID);
    });

    test("is registered under its kind", () => {
      expect(exchangeTypes[type.kind]).toBe(type);
      expect(isExchangeKind(type.kind)).toBe(true);
    });
  });

routerContract(fanout, [["q", "a"], ["q", "b"]], { key: "c" });
routerContract(direct, [["q", "k"], ["q", "k", { note: 2 }]], { key: "k" });
routerContract(topic, [["q", "k.*"], ["q", "#"]], { key: "k.v" });
routerContract(headers, [["q", "", { a: 1 }], ["q", "", { b: "2" }]], { headers: { a: 1, b: "2" } });

test("isExchangeKind rejects anything else", () => {
  for (const x of ["Fanout", "x-delayed", "toString", "constructor", "", null, 1, {}]) {
    expect(isExchangeKind(x)).toBe(false);
  }
});

runCases(fanout, [
  { name: "no bindings, no queues", bind: [], message: { key: "a" }, expected: [] },
  { name: "every bound queue whatever the key", bind: [["q1", "a"], ["q2", "b"], ["q3", ""]], message: { key: "zzz" }, expected: ["q1", "q2", "q3"] },
  { name: "unbound queues drop out", bind: [["q1", ""], ["q2", ""]], unbind: [["q1", ""]], message: {}, expected: ["q2"] },
]);

runCases(direct, [
  { name: "exact key only", bind: [["q1", "a"], ["q2", "b"]], message: { key: "a" }, expected: ["q1"] },
  { name: "case-sensitive", bind: [["q1", "Order"]], message: { key: "order" }, expected: [] },
  { name: "no wildcards: * and # are plain keys", bind: [["q1", "*"], ["q2", "#"]], message: { key: "a" }, expected: [] },
  { name: "a literal * key matches itself", bind: [["q1", "*"]], message: { key: "*" }, expected: ["q1"] },
  { name: "several queues on one key", bind: [["q1", "a"], ["q2", "a"], ["q3", "b"]], message: { key: "a" }, expected: ["q1", "q2"] },
  { name: "empty key is a key", bind: [["q1", ""], ["q2", "a"]], message: { key: "" }, expected: ["q1"] },
  { name: "one queue under two keys", bind: [["q1", "a"], ["q1", "b"]], unbind: [["q1", "a"]], message: { key: "b" }, expected: ["q1"] },
  { name: "unbinding the last binding of a key", bind: [["q1", "a"]], unbind: [["q1", "a"]], message: { key: "a" }, expected: [] },
]);

/** [pattern, routing key, matches?] — checked against both the trie router and topicMatches. */
const TOPIC_TABLE: readonly (readonly [string, string, boolean])[] = [
  ["a.b", "a.b", true],
  ["a.b", "a.B", false],
  ["a.b", "a.b.c", false],
  ["*", "a", true],
  ["*", "a.b", false],
  ["*", "", false], // "" is zero words
  ["*", ".", false], // "." is two empty words
  ["", "", true],
  ["", "a", false],
  ["#", "", true],
  ["#", "a", true],
  ["#", "a.b.c", true],
  ["#", "..", true],
  ["#.#", "", true],
  ["#.#", "a.b", true],
  ["a.#", "a", true],
  ["a.#", "a.b.c", true],
  ["a.#", "b.a", false],
  ["a.#", "", false],
  ["#.b", "b", true],
  ["#.b", "a.b", true],
  ["#.b", "a.b.c", false],
  ["#.b", "ab", false],
  ["*.*", "a.b", true],
  ["*.*", "a", false],
  ["*.*", "a.b.c", false],
  ["*.*", ".", true],
  ["*.*", "a.", true],
  ["a.*.b", "a..b", true],
  ["a..b", "a..b", true],
  ["a..b", "a.b", false],
  ["a.*", "a.", true],
  ["a.*", "a", false],
  ["a.#.b", "a.b", true],
  ["a.#.b", "a.x.y.b", true],
  ["a.#.b", "a.x.y", false],
  ["#.a.#", "a", true],
  ["#.a.#", "x.a.y", true],
  ["#.a.#", "x.y", false],
  ["*.#", "", false],
  ["*.#", "a", true],
  ["#.*", "a.b", true],
  ["a*", "ab", false], // "*" is a wildcard only as a whole word
  ["a#", "a", false],
  ["#", "#", true],
  ["*", "*", true],
  ["a.b", "*.b", false], // a key's "*" is just a word
];

describe("topicMatches (reference)", () => {
  for (const [pattern, key, matches] of TOPIC_TABLE) {
    test(`${JSON.stringify(pattern)} ${matches ? "matches" : "does not match"} ${JSON.stringify(key)}`, () => {
      expect(topicMatches(pattern, key)).toBe(matches);
    });
  }
});

runCases(topic, [
  ...TOPIC_TABLE.map(([pattern, key, matches]): Case => ({
    name: `${JSON.stringify(pattern)} ${matches ? "routes" : "does not route"} ${JSON.stringify(key)}`,
    bind: [["q", pattern]],
    message: { key },
    expected: matches ? ["q"] : [],
  })),
  {
    name: "overlapping patterns name a queue once",
    bind: [["q1", "a.*"], ["q1", "#"], ["q1", "a.b"], ["q2", "*.b"], ["q3", "c.#"]],
    message: { key: "a.b" },
    expected: ["q1", "q2"],
  },
  {
    name: "#.# and # are distinct bindings; unbinding one keeps the other",
    bind: [["q1", "#.#"], ["q1", "#"]],
    unbind: [["q1", "#"]],
    message: { key: "x" },
    expected: ["q1"],
  },
  {
    name: "unbinding prunes without disturbing a longer sibling",
    bind: [["q1", "a"], ["q2", "a.b"]],
    unbind: [["q1", "a"]],
    message: { key: "a.b" },
    expected: ["q2"],
  },
]);

test("topic: many # in one pattern stay fast against a long key", () => {
  const router = topic.createRouter();
  router.bind(toBinding(["q", Array(60).fill("#.a").join(".") + ".b"]));
  const started = performance.now();
  expect(router.route({ routingKey: Array(120).fill("a").join("."), headers: {} })).toEqual([]);
  expect(performance.now() - started).toBeLessThan(1000);
});

runCases(headers, [
  { name: "all (default): every argument must equal", bind: [["q1", "", { a: 1, b: "x" }]], message: { headers: { a: 1, b: "x", c: true } }, expected: ["q1"] },
  { name: "all: one differing value fails", bind: [["q1", "", { "x-match": "all", a: 1, b: "x" }]], message: { headers: { a: 1, b: "y" } }, expected: [] },
  { name: "all: one missing header fails", bind: [["q1", "", { a: 1, b: "x" }]], message: { headers: { a: 1 } }, expected: [] },
  { name: "strict equality: 1 is not \"1\"", bind: [["q1", "", { a: 1 }]], message: { headers: { a: "1" } }, expected: [] },
  { name: "strict equality: true is not 1", bind: [["q1", "", { a: true }]], message: { headers: { a: 1 } }, expected: [] },
  { name: "null matches a null header", bind: [["q1", "", { a: null }]], message: { headers: { a: null } }, expected: ["q1"] },
  { name: "null does not match an absent header", bind: [["q1", "", { a: null }]], message: { headers: {} }, expected: [] },
  { name: "[HEADERS-3] null (AMQP void) matches any present value", bind: [["q1", "", { a: null }], ["q2", "", { a: null, b: 2 }]], message: { headers: { a: "anything" } }, expected: ["q1"] },
  { name: "[HEADERS-3] null matches false, 0 and the empty string: present is present", bind: [["q1", "", { a: null, b: null, c: null }]], message: { headers: { a: false, b: 0, c: "" } }, expected: ["q1"] },
  { name: "[HEADERS-3] any: one present null argument is enough", bind: [["q1", "", { "x-match": "any", a: null, b: 1 }]], message: { headers: { a: 7 } }, expected: ["q1"] },
  {
    name: "[HEADERS-2] an array header (x-death) is present for null with -with-x, and equals no scalar",
    bind: [["q1", "", { "x-match": "all-with-x", "x-death": null }], ["q2", "", { "x-match": "any-with-x", "x-death": "[]" }], ["q3", "", { "x-death": null }]],
    message: { headers: { "x-death": [{ count: 1, reason: "expired", queue: "a", time: 1, exchange: "", "routing-keys": ["a"] }] } },
    expected: ["q1", "q3"],
  },
  { name: "all with no arguments matches every message", bind: [["q1", "", {}], ["q2", "", { "x-match": "all" }]], message: { headers: { z: 1 } }, expected: ["q1", "q2"] },
  { name: "any: one equal argument is enough", bind: [["q1", "", { "x-match": "any", a: 1, b: 2 }]], message: { headers: { b: 2 } }, expected: ["q1"] },
  { name: "any: none equal fails", bind: [["q1", "", { "x-match": "any", a: 1, b: 2 }]], message: { headers: { a: 2, b: 1 } }, expected: [] },
  { name: "any with no arguments matches nothing", bind: [["q1", "", { "x-match": "any" }]], message: { headers: { a: 1 } }, expected: [] },
  { name: "all ignores x- arguments", bind: [["q1", "", { "x-tenant": "t1", a: 1 }]], message: { headers: { a: 1 } }, expected: ["q1"] },
  { name: "any ignores x- arguments", bind: [["q1", "", { "x-match": "any", "x-tenant": "t1" }]], message: { headers: { "x-tenant": "t1" } }, expected: [] },
  { name: "all-with-x matches x- arguments", bind: [["q1", "", { "x-match": "all-with-x", "x-tenant": "t1", a: 1 }]], message: { headers: { "x-tenant": "t2", a: 1 } }, expected: [] },
  { name: "all-with-x passes when x- arguments equal", bind: [["q1", "", { "x-match": "all-with-x", "x-tenant": "t1" }]], message: { headers: { "x-tenant": "t1" } }, expected: ["q1"] },
  { name: "any-with-x matches on an x- argument", bind: [["q1", "", { "x-match": "any-with-x", "x-tenant": "t1", a: 1 }]], message: { headers: { "x-tenant": "t1" } }, expected: ["q1"] },
  { name: "x-match itself is never matched, even with-x", bind: [["q1", "", { "x-match": "all-with-x" }]], message: { headers: {} }, expected: ["q1"] },
  { name: "the routing key is ignored", bind: [["q1", "k", { a: 1 }]], message: { key: "other", headers: { a: 1 } }, expected: ["q1"] },
  { name: "inherited names are not headers", bind: [["q1", "", { "x-match": "any", toString: "x" }]], message: { headers: {} }, expected: [] },
]);

describe("headers validateBinding", () => {
  const binding = (args: Record<string, unknown>): Binding => ({ exchange: "x", queue: "q", key: "", args: args as BindingArgs });
  const cases: readonly (readonly [string, Record<string, unknown>, boolean])[] = [
    ["no x-match", { a: 1 }, true],
    ["all", { "x-match": "all" }, true],
    ["any", { "x-match": "any" }, true],
    ["all-with-x", { "x-match": "all-with-x" }, true],
    ["any-with-x", { "x-match": "any-with-x" }, true],
    ["scalar values", { a: "s", b: 1.5, c: false, d: null }, true],
    ["unknown x-match", { "x-match": "some" }, false],
    ["x-match in another case", { "x-match": "ALL" }, false],
    ["non-string x-match", { "x-match": 1 }, false],
    ["object value", { a: { b: 1 } }, false],
    ["array value", { a: [1] }, false],
    ["undefined value", { a: undefined }, false],
  ];
  for (const [name, args, valid] of cases) {
    test(`${name}: ${valid ? "accepted" : "B002"}`, () => {
      const error = headers.validateBinding(binding(args));
      if (valid) expect(error).toBeNull();
      else expect(error?.code).toBe(ErrorCodes.BINDING_INVALID);
    });
  }
});
