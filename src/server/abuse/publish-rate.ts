/**
 * One connection's publish rate: a token bucket of `burst` tokens refilled at `ratePerSecond`,
 * read from the clock when asked (no timer). It runs per publish, so take() allocates nothing:
 * integer arithmetic in thousandths of a token, and the refusal is one object reused.
 */
import type { Clock } from "../../broker/scheduler.ts";
import { AbuseCodes } from "./limits.ts";

export type PublishRateOptions = {
  /** Messages a second, a whole number; 0: no limit (take() always succeeds, at no cost). */
  readonly ratePerSecond: number;
  /** The bucket's size: messages that may go at once after a quiet spell (at least 1). */
  readonly burst: number;
  readonly clock: Clock;
  /** Shared by every connection's bucket, for /metrics: refusals in all. */
  readonly totals?: PublishRateTotals;
};

/** Counters several buckets add to; never go down. */
export type PublishRateTotals = { refused_total: number };

/** Reused by the bucket's next take(): read retryAfterMs before taking again. */
export type PublishRateRefusal = {
  readonly code: typeof AbuseCodes.RATE_LIMITED;
  readonly reason: "publish_rate";
  readonly retryAfterMs: number;
};

export class PublishRate {
  /** This bucket's refusals; never goes down. */
  refused_total = 0;
  private readonly rate: number;
  /** Tokens are kept ×1000 (token-milliseconds), so a refill of `elapsedMs × rate` is exact. */
  private readonly capacity: number;
  private credit: number;
  private last: number;
  private readonly clock: Clock;
  private readonly totals: PublishRateTotals | undefined;
  private readonly refusal: { code: typeof AbuseCodes.RATE_LIMITED; reason: "publish_rate"; retryAfterMs: number } = {
    code: AbuseCodes.RATE_LIMITED,
    reason: "publish_rate",
    retryAfterMs: 0,
  };

  constructor({ ratePerSecond, burst, clock, totals }: PublishRateOptions) {
    if (!Number.isSafeInteger(ratePerSecond) || ratePerSecond < 0) throw new RangeError(`ratePerSecond must be a whole number ≥ 0, got ${ratePerSecond}`);
    if (!Number.isSafeInteger(burst) || burst < 1) throw new RangeError(`burst must be a whole number ≥ 1, got ${burst}`);
    this.rate = ratePerSecond;
    this.capacity = burst * 1000;
    this.credit = this.capacity; // a new connection starts with a full bucket
    this.clock = clock;
    this.last = clock.now();
    this.totals = totals;
  }

  /**
   * Takes `n` tokens (a batch of n messages): true, or a refusal saying when that many will be
   * there. A batch larger than the burst goes through once the bucket is full, leaving it in debt,
   * so it is never refused forever and the average rate still holds. A refused take costs nothing.
   */
  take(n = 1): true | PublishRateRefusal {
    if (this.rate === 0) return true;
    const now = this.clock.now();
    if (now > this.last) {
      const gained = (now - this.last) * this.rate;
      this.credit = gained >= this.capacity - this.credit ? this.capacity : this.credit + gained;
    }
    this.last = now; // a clock that went back refills nothing
    const cost = n * 1000;
    const needed = cost > this.capacity ? this.capacity : cost;
    if (this.credit >= needed) {
      this.credit -= cost;
      return true;
    }
    this.refused_total++;
    if (this.totals !== undefined) this.totals.refused_total++;
    this.refusal.retryAfterMs = Math.ceil((needed - this.credit) / this.rate);
    return this.refusal;
  }
}
