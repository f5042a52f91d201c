import type { Retention } from "./store.ts";

/** A retained row as retention judges it. */
export type RetainedRow = { readonly seq: number; readonly publishedAt: number; readonly bytes: number };

/**
 * [HIST-2] Of the oldest retained rows (ascending seq), the prefix retention drops: every row at or
 * below `keepAfter`, published before `publishedBefore`, or while the retained bytes exceed
 * `maxBytes`; the first row kept ends it (history is a suffix of the stream). Both backends use it.
 */
export function retentionCut(oldest: readonly RetainedRow[], retainedBytes: number, retention: Retention): { count: number; last: number; bytes: number } {
  let count = 0;
  let last = 0;
  let bytes = 0;
  for (const row of oldest) {
    const tooMany = row.seq <= retention.keepAfter;
    const tooOld = retention.publishedBefore !== undefined && row.publishedAt < retention.publishedBefore;
    const tooBig = retention.maxBytes !== undefined && retainedBytes - bytes > retention.maxBytes;
    if (!tooMany && !tooOld && !tooBig) break;
    count++;
    last = row.seq;
    bytes += row.bytes;
  }
  return { count, last, bytes };
}
