import type { Removals } from "../store.ts";

/** One DELETE's worth of inclusive seq ranges, as the parallel arrays `unnest` takes. */
export type RemovalBatch = { queues: string[]; froms: number[]; tos: number[] };

/**
 * Splits removals into batches of at most `maxRows` seqs each: a long range is cut into pieces,
 * short ranges of many queues share one batch. Each batch becomes one bounded statement.
 */
export function removalBatches(removals: Removals, maxRows: number): RemovalBatch[] {
  const batches: RemovalBatch[] = [];
  let batch: RemovalBatch = { queues: [], froms: [], tos: [] };
  let rows = 0;
  for (const [queue, ranges] of removals) {
    for (const [from, to] of ranges) {
      for (let start = from; start <= to; ) {
        const end = Math.min(to, start + (maxRows - rows) - 1);
        batch.queues.push(queue);
        batch.froms.push(start);
        batch.tos.push(end);
        rows += end - start + 1;
        start = end + 1;
        if (rows >= maxRows) {
          batches.push(batch);
          batch = { queues: [], froms: [], tos: [] };
          rows = 0;
        }
      }
    }
  }
  if (batch.queues.length > 0) batches.push(batch);
  return batches;
}
