import type { BrokerTotals } from "../broker/broker.ts";
import { deadLetteredTotal, totalsView } from "./observations.ts";

/** The counters the dashboard charts as rates. */
export const RATE_NAMES = ["published", "routed", "unroutable", "delivered", "acknowledged", "redelivered", "dead_lettered"] as const;
export type Rates = Record<(typeof RATE_NAMES)[number], number>;

/** One point of the overview's charts: rates per second over the interval before `t`, and gauges at `t`. */
export type Sample = { t: number; rates: Rates; connections: number; queued_bytes: number; max_stall_ms: number };
export type Gauges = { connections: number; queuedBytes: number; maxStallMs: number };

const counters = (t: BrokerTotals): Rates => {
  const totals = totalsView(t);
  return { ...totals, dead_lettered: deadLetteredTotal(totals) };
};

/**
 * The last `capacity` samples in memory (a ring: the oldest goes), for the dashboard's charts of
 * the last ten minutes. Time is passed in: the caller's timer says when.
 */
export class RateHistory {
  private readonly ring: Sample[] = [];
  private next = 0;
  private last: { t: number; counters: Rates } | undefined;

  constructor(readonly capacity: number) {}

  /** Records the counters at `t` (ms); the first call only sets the baseline. Returns the new sample, if any. */
  record(t: number, totals: BrokerTotals, gauges: Gauges): Sample | undefined {
    const now = counters(totals);
    const before = this.last;
    this.last = { t, counters: now };
    if (before === undefined || t <= before.t) return undefined;
    const seconds = (t - before.t) / 1000;
    const rates = {} as Rates;
    // A counter never goes down; max() keeps a rate from going negative if one ever did.
    for (const name of RATE_NAMES) rates[name] = Math.max(0, now[name] - before.counters[name]) / seconds;
    const sample: Sample = { t, rates, connections: gauges.connections, queued_bytes: gauges.queuedBytes, max_stall_ms: gauges.maxStallMs };
    if (this.ring.length < this.capacity) this.ring.push(sample);
    else this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
    return sample;
  }

  /** Oldest first. */
  samples(): Sample[] {
    return this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
