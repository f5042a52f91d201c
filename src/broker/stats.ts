import type { DeathReason } from "../core/queue.ts";

/** Upper bounds (seconds) of the store commit latency histogram: 0.5 ms to 5 s, Prometheus' defaults made finer at the low end. */
export const COMMIT_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** A fixed-bucket histogram, as Prometheus keeps one: counts per bucket, their sum, their number. */
export class LatencyHistogram {
  private readonly counts = new Array<number>(COMMIT_LATENCY_BUCKETS.length).fill(0);
  sumSeconds = 0;
  count = 0;

  observe(seconds: number): void {
    this.sumSeconds += seconds;
    this.count++;
    for (let i = 0; i < COMMIT_LATENCY_BUCKETS.length; i++) {
      if (seconds <= COMMIT_LATENCY_BUCKETS[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** Cumulative, as the exposition format wants them (+Inf is `count`). */
  cumulative(): { le: number; count: number }[] {
    let running = 0;
    return COMMIT_LATENCY_BUCKETS.map((le, i) => ({ le, count: (running += this.counts[i]!) }));
  }
}

/**
 * Broker-wide counters since start. They only grow: a deleted queue's own totals are added to
 * `retired` when it goes, so the sums over queues do not drop.
 */
export type BrokerStats = {
  readonly retired: { published: number; delivered: number; acked: number };
  routed: number;
  unroutable: number;
  redelivered: number;
  readonly deadLettered: Record<DeathReason, number>;
  confirmed: number;
  readonly commitLatency: LatencyHistogram;
};

export const newStats = (): BrokerStats => ({
  retired: { published: 0, delivered: 0, acked: 0 },
  routed: 0,
  unroutable: 0,
  redelivered: 0,
  deadLettered: { expired: 0, rejected: 0, maxlen: 0, delivery_limit: 0 },
  confirmed: 0,
  commitLatency: new LatencyHistogram(),
});
