/**
 * A log-bucketed latency histogram: cheap to record, mergeable across processes, ~2% precision.
 * Bucket i holds latencies in [GROWTH^i, GROWTH^(i+1)) microseconds.
 */

/** 2% wide buckets: finer than the run-to-run noise of a 2-core machine. */
const GROWTH = 1.02;
/** 1 µs .. ~400 s. */
export const BUCKETS = 1000;
const LOG_GROWTH = Math.log(GROWTH);

export function newHistogram(): Uint32Array {
  return new Uint32Array(BUCKETS);
}

export function record(histogram: Uint32Array, latencyMs: number): void {
  const us = latencyMs * 1000;
  const bucket = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH));
  histogram[bucket]! += 1;
}

export function merge(histograms: ArrayLike<number>[]): number[] {
  const merged = new Array<number>(BUCKETS).fill(0);
  for (const histogram of histograms) {
    for (let i = 0; i < BUCKETS; i++) merged[i]! += histogram[i] ?? 0;
  }
  return merged;
}

/** The latency in ms below which `fraction` of the samples fall (bucket midpoint), or null if empty. */
export function percentileMs(histogram: ArrayLike<number>, fraction: number): number | null {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i] ?? 0;
  if (total === 0) return null;
  const rank = Math.ceil(total * fraction);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return (Math.pow(GROWTH, i + 0.5)) / 1000;
  }
  return null;
}
