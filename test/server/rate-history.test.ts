/** The overview's ring of per-second rates, driven by a fake clock (times are passed in). */
import { expect, test } from "bun:test";
import type { BrokerTotals } from "../../src/broker/broker.ts";
import { RateHistory } from "../../src/server/rate-history.ts";

const totals = (published: number, extra: Partial<BrokerTotals> = {}): BrokerTotals => ({
  published,
  routed: published,
  unroutable: 0,
  delivered: 0,
  acked: 0,
  redelivered: 0,
  deadLettered: { expired: 0, rejected: 0, maxlen: 0, delivery_limit: 0 },
  confirmed: 0,
  ...extra,
});
const gauges = { connections: 2, queuedBytes: 100, maxStallMs: 1.5 };

test("the first record is the baseline; later ones are rates per second over their interval", () => {
  const history = new RateHistory(10);
  expect(history.record(0, totals(0), gauges)).toBeUndefined();
  expect(history.record(1000, totals(50), gauges)?.rates.published).toBe(50);
  // Two seconds later, 100 more: 50 per second.
  const sample = history.record(3000, totals(150, { deadLettered: { expired: 2, rejected: 2, maxlen: 0, delivery_limit: 0 } }), gauges)!;
  expect(sample).toEqual({
    t: 3000,
    rates: { published: 50, routed: 50, unroutable: 0, delivered: 0, acknowledged: 0, redelivered: 0, dead_lettered: 2 },
    connections: 2,
    queued_bytes: 100,
    max_stall_ms: 1.5,
  });
  expect(history.samples().map((s) => s.t)).toEqual([1000, 3000]);
});

test("a full ring drops the oldest; samples stay oldest first", () => {
  const history = new RateHistory(3);
  for (let t = 0; t <= 5000; t += 1000) history.record(t, totals(t), gauges);
  expect(history.samples().map((s) => s.t)).toEqual([3000, 4000, 5000]);
});

test("a clock that did not move, or a counter that went down, gives no sample and no negative rate", () => {
  const history = new RateHistory(5);
  history.record(1000, totals(10), gauges);
  expect(history.record(1000, totals(20), gauges)).toBeUndefined();
  expect(history.record(2000, totals(5), gauges)?.rates.published).toBe(0);
});
