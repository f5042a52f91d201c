/** PUBLISH_RATE_PER_CONNECTION: the token bucket on a fake clock (no sleeps). */
import { expect, test } from "bun:test";
import { AbuseCodes } from "../../src/server/abuse/limits.ts";
import { PublishRate, type PublishRateTotals } from "../../src/server/abuse/publish-rate.ts";
import { FakeClock } from "../broker/support/manual-scheduler.ts";

const later = (clock: FakeClock, ms: number) => clock.set(clock.now() + ms);

test("a new connection may publish its burst at once; the next one is refused with when a token is back", () => {
  const clock = new FakeClock();
  const rate = new PublishRate({ ratePerSecond: 10, burst: 5, clock });
  for (let i = 0; i < 5; i++) expect(rate.take()).toBe(true);
  expect(rate.take()).toEqual({ code: AbuseCodes.RATE_LIMITED, reason: "publish_rate", retryAfterMs: 100 });
  expect(rate.refused_total).toBe(1);
});

test("retryAfterMs is exact: one millisecond early is still refused, on time succeeds", () => {
  const clock = new FakeClock();
  const rate = new PublishRate({ ratePerSecond: 10, burst: 1, clock });
  expect(rate.take()).toBe(true);
  const refusal = rate.take();
  expect(refusal).toMatchObject({ retryAfterMs: 100 });
  later(clock, 99);
  expect(rate.take()).toMatchObject({ retryAfterMs: 1 });
  later(clock, 1);
  expect(rate.take()).toBe(true);
});

test("rates that do not divide a second round retryAfterMs up, never down", () => {
  const clock = new FakeClock();
  const rate = new PublishRate({ ratePerSecond: 3, burst: 1, clock });
  expect(rate.take()).toBe(true);
  const refusal = rate.take();
  if (refusal === true) throw new Error("expected a refusal");
  expect(refusal.retryAfterMs).toBe(334); // a token every 333.3 ms
  later(clock, 333);
  expect(rate.take()).not.toBe(true);
  later(clock, 1);
  expect(rate.take()).toBe(true);
});

test("the bucket refills at the rate and never above the burst", () => {
  const clock = new FakeClock();
  const rate = new PublishRate({ ratePerSecond: 100, burst: 20, clock });
  for (let i = 0; i < 20; i++) expect(rate.take()).toBe(true);
  later(clock, 50); // 5 tokens
  for (let i = 0; i < 5; i++) expect(rate.take()).toBe(true);
  expect(rate.take()).not.toBe(true);
  later(clock, 3_600_000); // an hour idle: still only the burst
  for (let i = 0; i < 20; i++) expect(rate.take()).toBe(true);
  expect(rate.take()).toMatchObject({ retryAfterMs: 10 });
});

test("sustained, the bucket lets through the rate and no more", () => {
  const clock = new FakeClock();
  const rate = new PublishRate({ ratePerSecond: 1000, burst: 100, clock });
  let accepted = 0;
  for (let ms = 0; ms < 10_000; ms++) {
    for (let i = 0; i < 5; i++) if (rate.take() === true) accepted++;
    later(clock, 1);
  }
  expect(accepted).toBe(100 + 10_000 - 1); // the burst, then one a millisecond after the first
});

test("take(n) takes n tokens; a refused take costs nothing; a batch above the burst goes once the bucket is full, leaving a debt", () => {
  const clock = new FakeClock();
  const rate = new PublishRate({ ratePerSecond: 10, burst: 10, clock });
  expect(rate.take(4)).toBe(true);
  expect(rate.take(7)).toMatchObject({ retryAfterMs: 100 }); // 6 left, 1 short
  expect(rate.take(6)).toBe(true); // the refusal took nothing
  expect(rate.take(25)).toMatchObject({ retryAfterMs: 1000 }); // needs a full bucket, not 25 tokens
  later(clock, 1000);
  expect(rate.take(25)).toBe(true);
  expect(rate.take()).toMatchObject({ retryAfterMs: 1600 }); // 15 in debt, then 1
  later(clock, 1600);
  expect(rate.take()).toBe(true);
});

test("0 is no limit: every take succeeds and nothing is counted", () => {
  const clock = new FakeClock();
  const totals: PublishRateTotals = { refused_total: 0 };
  const rate = new PublishRate({ ratePerSecond: 0, burst: 1, clock, totals });
  for (let i = 0; i < 100_000; i++) expect(rate.take()).toBe(true);
  expect(rate.take(1e9)).toBe(true);
  expect(rate.refused_total).toBe(0);
  expect(totals.refused_total).toBe(0);
});

test("buckets sharing totals add their refusals to them", () => {
  const clock = new FakeClock();
  const totals: PublishRateTotals = { refused_total: 0 };
  const a = new PublishRate({ ratePerSecond: 1, burst: 1, clock, totals });
  const b = new PublishRate({ ratePerSecond: 1, burst: 2, clock, totals });
  a.take();
  a.take();
  a.take();
  b.take();
  b.take();
  b.take();
  expect([a.refused_total, b.refused_total, totals.refused_total]).toEqual([2, 1, 3]);
});

test("a clock that goes back refills nothing (and does not lose what was there)", () => {
  let now = 10_000;
  const clock = { now: () => now };
  const rate = new PublishRate({ ratePerSecond: 1, burst: 2, clock });
  expect(rate.take()).toBe(true);
  now -= 5_000;
  expect(rate.take()).toBe(true);
  expect(rate.take()).toMatchObject({ retryAfterMs: 1000 });
  now += 1000;
  expect(rate.take()).toBe(true);
});

test("the refusal is one object, reused: take() allocates nothing", () => {
  const clock = new FakeClock();
  const rate = new PublishRate({ ratePerSecond: 1, burst: 1, clock });
  rate.take();
  const first = rate.take();
  const second = rate.take();
  expect(second).toBe(first);
});

test("a rate or burst that is no whole number is refused at construction", () => {
  const clock = new FakeClock();
  expect(() => new PublishRate({ ratePerSecond: 0.5, burst: 1, clock })).toThrow(RangeError);
  expect(() => new PublishRate({ ratePerSecond: -1, burst: 1, clock })).toThrow(RangeError);
  expect(() => new PublishRate({ ratePerSecond: 1, burst: 0, clock })).toThrow(RangeError);
});
