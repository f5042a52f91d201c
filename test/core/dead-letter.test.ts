import { describe, expect, test } from "bun:test";
import { deadLetteredMessage, deathsOf, isDeathCycle } from "../../src/core/dead-letter.ts";
import type { MessageHeaders } from "../../src/core/exchanges/types.ts";
import type { PublishedMessage } from "../../src/core/message.ts";
import type { DeathReason } from "../../src/core/queue.ts";

const published: PublishedMessage = { id: "m1", exchange: "orders", routingKey: "eu", headers: { tenant: "acme" }, body: "1", timestamp: 0 };

/** The message after dying in each [queue, reason] in turn, dead-lettered to `dlx` with its own key. */
const diedIn = (steps: readonly (readonly [string, DeathReason])[], start: PublishedMessage = published): PublishedMessage =>
  steps.reduce((m, [queue, reason], i) => deadLetteredMessage(m, reason, queue, { exchange: "dlx", routingKey: undefined }, 1_000 * (i + 1)), start);

describe("[DLX-4] x-death, as RabbitMQ writes it", () => {
  test("the first death: one record, x-first-death-* and x-last-death-*, and our flat headers", () => {
    const dead = diedIn([["work", "rejected"]]);
    expect(dead).toMatchObject({ id: "m1", body: "1", exchange: "dlx", routingKey: "eu", timestamp: 1_000 });
    expect(dead.headers).toEqual({
      tenant: "acme",
      "x-death": [{ count: 1, reason: "rejected", queue: "work", time: 1_000, exchange: "orders", "routing-keys": ["eu"] }],
      "x-first-death-queue": "work",
      "x-first-death-reason": "rejected",
      "x-first-death-exchange": "orders",
      "x-last-death-queue": "work",
      "x-last-death-reason": "rejected",
      "x-last-death-exchange": "orders",
      "x-death-reason": "rejected",
      "x-death-queue": "work",
      "x-death-exchange": "orders",
      "x-death-routing-key": "eu",
      "x-death-time": 1_000,
      "x-death-count": 1,
    });
  });

  test("one record per queue and reason, most recent first; dying again counts up and moves it to the front", () => {
    const dead = diedIn([
      ["work", "rejected"],
      ["retry", "expired"],
      ["work", "rejected"],
    ]);
    expect(deathsOf(dead.headers)).toEqual([
      // time, exchange and routing-keys stay those of the first death in that queue for that reason
      { count: 2, reason: "rejected", queue: "work", time: 1_000, exchange: "orders", "routing-keys": ["eu"] },
      { count: 1, reason: "expired", queue: "retry", time: 2_000, exchange: "dlx", "routing-keys": ["eu"] },
    ]);
    expect(dead.headers).toMatchObject({
      "x-first-death-queue": "work",
      "x-first-death-exchange": "orders",
      "x-last-death-queue": "work",
      "x-last-death-reason": "rejected",
      "x-last-death-exchange": "dlx",
      "x-death-count": 3,
    });
  });

  test("the same queue for another reason is another record", () => {
    const dead = diedIn([
      ["work", "rejected"],
      ["work", "expired"],
    ]);
    expect(deathsOf(dead.headers).map((d) => [d.queue, d.reason, d.count])).toEqual([
      ["work", "expired", 1],
      ["work", "rejected", 1],
    ]);
  });

  test("a malformed x-death a publisher sent is replaced, not trusted", () => {
    for (const junk of ["text", 5, [1, "a", null], [{ count: "1", reason: "expired", queue: "q" }]] as const) {
      const start: PublishedMessage = { ...published, headers: { "x-death": junk as MessageHeaders[string] } };
      expect(deathsOf(start.headers)).toEqual([]);
      expect(deathsOf(diedIn([["work", "expired"]], start).headers)).toHaveLength(1);
    }
  });

  test("[DLX-6] forged x-first-death-* and x-death-count with no valid x-death are set afresh at the first death", () => {
    const start: PublishedMessage = {
      ...published,
      headers: { "x-death": "forged", "x-first-death-queue": "forged", "x-first-death-reason": "forged", "x-death-count": 41 },
    };
    const dead = deadLetteredMessage(start, "rejected", "dlA", { exchange: "dlx", routingKey: undefined }, 9);
    expect(dead.headers).toMatchObject({
      "x-first-death-queue": "dlA",
      "x-first-death-reason": "rejected",
      "x-first-death-exchange": "orders",
      "x-death-count": 1,
    });
    // A second death keeps the first one.
    const again = deadLetteredMessage(dead, "expired", "dlB", { exchange: "dlx", routingKey: undefined }, 10);
    expect(again.headers).toMatchObject({ "x-first-death-queue": "dlA", "x-last-death-queue": "dlB", "x-death-count": 2 });
  });

  test("a dead-letter routing key replaces the key; routing-keys keeps the one it died with", () => {
    const dead = deadLetteredMessage(published, "expired", "work", { exchange: "", routingKey: "parking" }, 5);
    expect(dead).toMatchObject({ exchange: "", routingKey: "parking" });
    expect(deathsOf(dead.headers)[0]).toMatchObject({ "routing-keys": ["eu"], exchange: "orders" });
  });
});

describe("[DLX-3] isDeathCycle: RabbitMQ's rule", () => {
  // [deaths so far, most recent last] → target → dropped?
  const cases: readonly (readonly [string, readonly (readonly [string, DeathReason])[], string, boolean])[] = [
    ["never died there", [["a", "expired"]], "b", false],
    ["expired back into its own queue", [["a", "expired"]], "a", true],
    ["a → b → a, all expiries", [["a", "expired"], ["b", "expired"]], "a", true],
    ["a → b → a, b by overflow", [["a", "expired"], ["b", "maxlen"]], "a", true],
    ["delivery_limit is no decision either", [["a", "delivery_limit"]], "a", true],
    ["the latest death a rejection", [["a", "expired"], ["b", "rejected"]], "a", false],
    ["rejected back into its own queue", [["a", "rejected"]], "a", false],
    ["a rejection between: a rejected, b expired, back to a", [["a", "rejected"], ["b", "expired"]], "a", false],
    ["a rejection before the earlier death in the target does not count", [["x", "rejected"], ["a", "expired"], ["b", "expired"]], "a", true],
    ["a rejection in the target, then expiries elsewhere", [["b", "rejected"], ["a", "expired"]], "b", false],
    // once its record moves to the front, the rejection further back no longer separates it
    ["a rejected, b expired, a expired: to b", [["a", "rejected"], ["b", "expired"], ["a", "expired"]], "b", true],
  ];
  for (const [name, steps, target, dropped] of cases) {
    test(`${name}: ${dropped ? "dropped" : "delivered"}`, () => {
      expect(isDeathCycle(target, diedIn(steps).headers)).toBe(dropped);
    });
  }

  test("a message that never died never cycles", () => {
    expect(isDeathCycle("a", published.headers)).toBe(false);
  });
});
