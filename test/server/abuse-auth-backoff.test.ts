/** The backoff after failed authentications, on a fake clock (no sleeps). */
import { expect, test } from "bun:test";
import { AuthBackoff, type AuthBackoffOptions } from "../../src/server/abuse/auth-backoff.ts";
import { AbuseCodes } from "../../src/server/abuse/limits.ts";
import { FakeClock } from "../broker/support/manual-scheduler.ts";

const later = (clock: FakeClock, ms: number) => clock.set(clock.now() + ms);

const setup = (options: Partial<AuthBackoffOptions> = {}) => {
  const clock = new FakeClock();
  const backoff = new AuthBackoff({ clock, freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 60_000, ...options });
  return { clock, backoff };
};

test("the free failures cost nothing; the next one refuses the address for the base delay, to the millisecond", () => {
  const { clock, backoff } = setup();
  for (let i = 0; i < 3; i++) {
    expect(backoff.check("10.0.0.1")).toBe(true);
    expect(backoff.failed("10.0.0.1")).toBe(0);
  }
  expect(backoff.check("10.0.0.1")).toBe(true);
  expect(backoff.failed("10.0.0.1")).toBe(1000);
  expect(backoff.check("10.0.0.1")).toEqual({ code: AbuseCodes.RATE_LIMITED, reason: "auth_backoff", retryAfterMs: 1000 });
  later(clock, 999);
  expect(backoff.check("10.0.0.1")).toEqual({ code: AbuseCodes.RATE_LIMITED, reason: "auth_backoff", retryAfterMs: 1 });
  later(clock, 1);
  expect(backoff.check("10.0.0.1")).toBe(true);
  expect(backoff.check("10.0.0.2")).toBe(true); // other addresses are not touched
});

test("each further failure doubles the refusal, up to the cap", () => {
  const { clock, backoff } = setup();
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const delay = backoff.failed("10.0.0.1");
    delays.push(delay);
    const refusal = backoff.check("10.0.0.1");
    expect(refusal === true ? 0 : refusal.retryAfterMs).toBe(delay);
    later(clock, delay);
  }
  expect(delays).toEqual([0, 0, 0, 1000, 2000, 4000, 8000, 8000, 8000]);
});

test("delayAfter does not overflow for huge failure counts", () => {
  const { backoff } = setup({ maxDelayMs: Number.MAX_SAFE_INTEGER });
  expect(backoff.delayAfter(10_000)).toBe(Number.MAX_SAFE_INTEGER);
  expect(setup({ maxDelayMs: Number.MAX_VALUE }).backoff.delayAfter(10_000)).toBe(1000 * 2 ** 52);
  expect(Number.isFinite(backoff.delayAfter(1e9))).toBe(true);
});

test("a success resets the address to its free failures", () => {
  const { clock, backoff } = setup();
  for (let i = 0; i < 5; i++) backoff.failed("10.0.0.1");
  later(clock, 2000);
  expect(backoff.check("10.0.0.1")).toBe(true);
  backoff.succeeded("10.0.0.1");
  expect(backoff.stats().tracked).toBe(0);
  expect([backoff.failed("10.0.0.1"), backoff.failed("10.0.0.1"), backoff.failed("10.0.0.1"), backoff.failed("10.0.0.1")]).toEqual([0, 0, 0, 1000]);
});

test("an address with no failure for forgetAfterMs starts over", () => {
  const { clock, backoff } = setup();
  for (let i = 0; i < 6; i++) backoff.failed("10.0.0.1");
  later(clock, 59_999);
  expect(backoff.failed("10.0.0.1")).toBe(8000); // still remembered: the 7th failure
  later(clock, 60_000);
  expect(backoff.check("10.0.0.1")).toBe(true);
  expect(backoff.stats().tracked).toBe(0);
  expect(backoff.failed("10.0.0.1")).toBe(0);
});

test("old entries are forgotten as new failures come, without a check for them", () => {
  const { clock, backoff } = setup();
  for (let i = 0; i < 100; i++) backoff.failed(`10.0.0.${i}`);
  later(clock, 60_000);
  backoff.failed("10.0.1.1");
  expect(backoff.stats().tracked).toBe(1);
});

test("memory is capped under an address spray: the one failing least recently goes first", () => {
  const { backoff } = setup({ maxEntries: 1000 });
  for (let i = 0; i < 5; i++) backoff.failed("192.0.2.1"); // the real attacker, blocked
  for (let i = 0; i < 999; i++) backoff.failed(`2001:db8:${i.toString(16)}::1`);
  expect(backoff.stats().tracked).toBe(1000);
  expect(backoff.check("192.0.2.1")).not.toBe(true);
  backoff.failed("192.0.2.1"); // failing again makes it the newest
  for (let i = 0; i < 10_000; i++) backoff.failed(`2001:db8:${(1000 + i).toString(16)}::1`);
  expect(backoff.stats()).toMatchObject({ tracked: 1000, evicted_total: 10_000 });
  expect(backoff.check("192.0.2.1")).toBe(true); // pushed out by 1000 newer addresses: the cap's price
});

test("IPv6 is counted by /64 (one host can use all of it); IPv4-mapped as its IPv4", () => {
  const { backoff } = setup({ freeFailures: 1 });
  backoff.failed("2001:db8:1:2::1");
  expect(backoff.failed("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe(1000);
  expect(backoff.check("2001:db8:1:2::abcd")).not.toBe(true);
  expect(backoff.check("2001:db8:1:3::1")).toBe(true);
  backoff.failed("::ffff:10.0.0.1");
  backoff.failed("10.0.0.1");
  expect(backoff.check("10.0.0.1")).not.toBe(true);
  expect(backoff.check("::ffff:10.0.0.1")).not.toBe(true);

  const exact = setup({ freeFailures: 1, ipv6PrefixBits: 128 }).backoff;
  exact.failed("2001:db8:1:2::1");
  expect(exact.failed("2001:db8:1:2::2")).toBe(0);
});

test("an unknown address is never refused nor remembered", () => {
  const { backoff } = setup({ freeFailures: 0 });
  expect(backoff.failed(undefined)).toBe(0);
  expect(backoff.check(undefined)).toBe(true);
  expect(backoff.stats()).toEqual({ tracked: 0, failures_total: 0, refused_total: 0, evicted_total: 0 });
});

test("stats count failures, refusals and evictions", () => {
  const { backoff } = setup({ freeFailures: 0, maxEntries: 2 });
  backoff.failed("10.0.0.1");
  backoff.check("10.0.0.1");
  backoff.check("10.0.0.1");
  backoff.failed("10.0.0.2");
  backoff.failed("10.0.0.3");
  expect(backoff.stats()).toEqual({ tracked: 2, failures_total: 3, refused_total: 2, evicted_total: 1 });
});

test("options that make no sense are refused at construction", () => {
  expect(() => setup({ maxEntries: 0 })).toThrow(RangeError);
  expect(() => setup({ baseDelayMs: 2000, maxDelayMs: 1000 })).toThrow(RangeError);
});
