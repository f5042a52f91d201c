import { describe, expect, test } from "bun:test";
import { ErrorCodes } from "../../src/core/errors.ts";
import { PERMISSION_CACHE_ENTRIES } from "../../src/auth/limits.ts";
import { compilePermissions, FULL_ACCESS, NO_ACCESS, parsePermissions, type Action, type PermissionSet, type Permissions } from "../../src/auth/permissions.ts";

const compiled = (set: PermissionSet, user = "alice"): Permissions => {
  const result = compilePermissions(set, user);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};

describe("permission patterns (RabbitMQ semantics)", () => {
  // [action, pattern, name, allowed]
  const cases: [Action, string, string, boolean][] = [
    ["configure", ".*", "anything", true],
    ["configure", "", "anything", false],
    ["write", "", "", false],
    ["read", "orders", "eu.orders.v2", true], // unanchored: a substring matches
    ["read", "^orders$", "eu.orders.v2", false],
    ["read", "^orders$", "orders", true],
    ["read", "^amq\\.gen-", "amq.gen-x1", true],
    ["read", "^(a|b)$", "c", false],
    ["read", "^.$", "🙂", true], // the u flag: a code point is one character
  ];
  for (const [action, pattern, name, allowed] of cases) {
    test(`${action} ${JSON.stringify(pattern)} on ${JSON.stringify(name)} → ${allowed}`, () => {
      const set = { configure: "", write: "", read: "", [action]: pattern };
      expect(compiled(set).can(action, name)).toBe(allowed);
    });
  }

  test("each action is checked against its own pattern", () => {
    const p = compiled({ configure: "^c$", write: "^w$", read: "^r$" });
    expect([p.can("configure", "c"), p.can("write", "c"), p.can("read", "c")]).toEqual([true, false, false]);
    expect([p.can("configure", "w"), p.can("write", "w"), p.can("read", "w")]).toEqual([false, true, false]);
    expect([p.can("configure", "r"), p.can("write", "r"), p.can("read", "r")]).toEqual([false, false, true]);
  });

  test("the default exchange is checked as amq.default, as in RabbitMQ", () => {
    expect(compiled({ configure: "", write: "^amq\\.default$", read: "" }).can("write", "")).toBe(true);
    expect(compiled({ configure: "", write: "^orders$", read: "" }).can("write", "")).toBe(false);
  });
});

describe("deny wins over allow", () => {
  const p = compiled({ configure: ".*", write: ".*", read: ".*", deny: { configure: "^prod\\.", read: "secret" } });
  test("a denied name is refused although .* allows it", () => {
    expect(p.can("configure", "prod.orders")).toBe(false);
    expect(p.can("read", "top-secret-queue")).toBe(false);
  });
  test("a deny applies to its action only", () => {
    expect(p.can("write", "prod.orders")).toBe(true);
    expect(p.can("configure", "dev.orders")).toBe(true);
  });
  test('a "" deny denies nothing', () => {
    expect(compiled({ configure: ".*", write: ".*", read: ".*", deny: { read: "" } }).can("read", "x")).toBe(true);
  });
});

describe("{user}", () => {
  test("expands to the user name", () => {
    const p = compiled({ configure: "^{user}\\.", write: "", read: "^user\\.{user}\\." }, "bob");
    expect(p.can("configure", "bob.tmp")).toBe(true);
    expect(p.can("configure", "alice.tmp")).toBe(false);
    expect(p.can("read", "user.bob.inbox")).toBe(true);
  });
  test("is regex-escaped: a user named a.b does not match axb", () => {
    const p = compiled({ configure: "^{user}$", write: "", read: "" }, "a.b");
    expect(p.can("configure", "a.b")).toBe(true);
    expect(p.can("configure", "axb")).toBe(false);
  });
  test("regex syntax in a name stays literal", () => {
    const name = "x+(y)|z*[1]{2}$^\\/?";
    const p = compiled({ configure: "^{user}$", write: "", read: "" }, name);
    expect(p.can("configure", name)).toBe(true);
    expect(p.can("configure", "xx(y)")).toBe(false);
  });
});

describe("topic permissions (routing keys)", () => {
  const p = compiled({
    configure: "",
    write: ".*",
    read: ".*",
    topics: [
      { exchange: "events", write: "^user\\.{user}\\.", read: "^user\\.{user}\\." },
      { exchange: "logs", read: "^error\\." }, // write omitted: unrestricted
      { exchange: "closed", write: "", read: "" },
    ],
  });
  test("write = publish with the key, read = bind with the key", () => {
    expect(p.canRoute("events", "user.alice.login", "write")).toBe(true);
    expect(p.canRoute("events", "user.bob.login", "write")).toBe(false);
    expect(p.canRoute("events", "user.alice.#", "read")).toBe(true);
    expect(p.canRoute("events", "#", "read")).toBe(false);
  });
  test("an omitted pattern leaves that access unrestricted; \"\" refuses every key", () => {
    expect(p.canRoute("logs", "anything", "write")).toBe(true);
    expect(p.canRoute("logs", "info.x", "read")).toBe(false);
    expect(p.canRoute("closed", "a", "write")).toBe(false);
    expect(p.canRoute("closed", "", "read")).toBe(false);
  });
  test("an exchange without a topics entry is unrestricted", () => {
    expect(p.canRoute("other", "any.key", "write")).toBe(true);
    expect(p.canRoute("other", "any.key", "read")).toBe(true);
  });
  test("an exchange listed twice is an error naming the entry", () => {
    const result = compilePermissions({ configure: "", write: "", read: "", topics: [{ exchange: "x" }, { exchange: "x" }] }, "u");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain("permissions.topics[1]");
  });
});

describe("narrow: the intersection", () => {
  const user = compiled({ configure: "^alice\\.", write: ".*", read: ".*", deny: { read: "^audit$" } });
  const token = compiled({ configure: "", write: "", read: "^user\\.alice\\.|^audit$|^alice\\." });
  const both = user.narrow(token);
  test("only what both allow", () => {
    expect(both.can("read", "user.alice.inbox")).toBe(true);
    expect(both.can("read", "orders")).toBe(false); // the user may, the token may not
    expect(both.can("read", "audit")).toBe(false); // the token may, the user's deny refuses
    expect(both.can("configure", "alice.tmp")).toBe(false);
    expect(both.can("write", "orders")).toBe(false);
  });
  test("routing keys too", () => {
    const keys = compiled({ configure: "", write: ".*", read: ".*", topics: [{ exchange: "e", write: "^a\\." }] });
    const more = compiled({ configure: "", write: ".*", read: ".*", topics: [{ exchange: "e", write: "\\.b$" }] });
    const n = keys.narrow(more);
    expect([n.canRoute("e", "a.b", "write"), n.canRoute("e", "a.c", "write"), n.canRoute("e", "x.b", "write")]).toEqual([true, false, false]);
  });
  test("FULL_ACCESS is the identity, NO_ACCESS absorbs", () => {
    expect(user.narrow(FULL_ACCESS)).toBe(user);
    expect(FULL_ACCESS.narrow(user)).toBe(user);
    expect(user.narrow(NO_ACCESS).can("read", "x")).toBe(false);
    expect(NO_ACCESS.narrow(user).can("read", "x")).toBe(false);
  });
  test("FULL_ACCESS allows everything", () => {
    expect(FULL_ACCESS.can("configure", "x") && FULL_ACCESS.can("write", "") && FULL_ACCESS.canRoute("e", "k", "read")).toBe(true);
  });
});

describe("the cache", () => {
  test("answers stay right past the bound (the oldest entries go)", () => {
    const p = compiled({ configure: "", write: "", read: "^even-[0-9]*[02468]$" });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < PERMISSION_CACHE_ENTRIES * 3; i++) expect(p.can("read", `even-${i}`)).toBe(i % 2 === 0);
    }
  });
  test("two actions on one name do not share an answer", () => {
    const p = compiled({ configure: "^x$", write: "", read: "" });
    expect(p.can("configure", "x")).toBe(true);
    expect(p.can("write", "x")).toBe(false);
  });
  test("(exchange, key) pairs that concatenate alike do not share an answer", () => {
    const p = compiled({ configure: "", write: ".*", read: ".*", topics: [{ exchange: "ab", write: "^c$" }, { exchange: "a", write: "^bc$" }] });
    expect(p.canRoute("ab", "c", "write")).toBe(true);
    expect(p.canRoute("a", "bc", "write")).toBe(true);
    expect(p.canRoute("a", "b", "write")).toBe(false);
    expect(p.canRoute("ab", "bc", "write")).toBe(false);
  });
});

describe("errors name the field", () => {
  const invalid: [unknown, string][] = [
    [{ configure: "(", write: "", read: "" }, "permissions.configure: invalid regular expression"],
    [{ configure: "", write: "", read: "", deny: { write: "[" } }, "permissions.deny.write: invalid regular expression"],
    [{ configure: "", write: "", read: "", topics: [{ exchange: "e", read: "a{" }] }, "permissions.topics[0].read: invalid regular expression"],
    [{ configure: "", write: 1, read: "" }, "permissions.write must be a string"],
    [{ configure: "", write: "", reed: "" }, "permissions.reed: unknown field"],
    [{ configure: "", deny: { raed: "x" } }, "permissions.deny.raed: unknown field"],
    [{ topics: [{ exchange: "e", writ: "x" }] }, "permissions.topics[0].writ: unknown field"],
    [{ topics: [{ write: "x" }] }, "permissions.topics[0] must be an object with an exchange name"],
    ["all", "permissions must be an object"],
  ];
  for (const [raw, message] of invalid) {
    test(message, () => {
      const result = parsePermissions(raw, "alice");
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe(ErrorCodes.VALIDATION);
        expect(result.error.message).toContain(message);
      }
    });
  }
  test("omitted configure/write/read mean nothing", () => {
    const result = parsePermissions({ read: ".*" }, "alice");
    expect(result.ok && [result.value.permissions.can("read", "q"), result.value.permissions.can("write", "q")]).toEqual([true, false]);
  });
});
