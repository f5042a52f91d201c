import { describe, expect, test } from "bun:test";
import { backoffDelay, DEFAULT_RECONNECT } from "../../src/client/index.ts";

const policy = { initialDelayMs: 100, maxDelayMs: 5_000, maxAttempts: Infinity };

describe("backoffDelay", () => {
  test.each([
    // attempt, random, delay: half the step fixed, half jittered; the step doubles up to the cap
    [0, 0, 50],
    [0, 1, 100],
    [1, 0.5, 150],
    [3, 0, 400],
    [6, 1, 5_000],
    [50, 0, 2_500],
    [50, 1, 5_000],
  ])("attempt %d with random %d waits %d ms", (attempt, random, delay) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(delay);
  });

  test("jitter spreads clients out: no two of a hundred wait alike", () => {
    const delays = new Set(Array.from({ length: 100 }, () => backoffDelay(4, policy)));
    expect(delays.size).toBeGreaterThan(50);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(800);
  });

  test("the default retries a restarting broker within a second, and never stops", () => {
    expect(backoffDelay(0, DEFAULT_RECONNECT, () => 1)).toBeLessThanOrEqual(100);
    expect(DEFAULT_RECONNECT.maxAttempts).toBe(Infinity);
  });
});
