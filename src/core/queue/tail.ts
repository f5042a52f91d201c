import { Deque } from "../deque.ts";
import type { Entry } from "./entry.ts";

/**
 * Seqs of a durable queue's messages that are on disk only, read back in this order. A run made
 * at run time is gap-free; the one restored at start-up spans the stored rows and may have gaps
 * (acked rows already removed), so `count` says how many rows are left in it.
 */
export type Run = {
  from: number;
  to: number;
  count: number;
  /** Rows due after this (delayed) were loaded as delayed messages at start-up: not part of the run. */
  readonly delayedAfter: number;
  /** Already sent to the queue's subscribers (live, while consumers owned them). */
  readonly observed: boolean;
};

/** What the broker reads from the store into a queue's window: seqs from..to, at most `limit` rows. */
export type PageRequest = {
  readonly from: number;
  readonly to: number;
  readonly limit: number;
  readonly delayedAfter: number;
  /** A purge since the request makes its rows stale. */
  readonly generation: number;
};

/**
 * The part of a durable queue behind its memory window: messages waiting for their commit (in
 * memory, in order) and runs of committed seqs on disk only. Counts and bytes cover both.
 */
export class Tail {
  readonly runs: Run[] = [];
  /** Not yet committed: kept until the store has them, then moved to the runs (or the window). */
  readonly pending = new Deque<Entry>();
  count = 0;
  bytes = 0;
  generation = 0;
  /** The generation of the read in flight, if any. */
  reading: number | undefined;

  get firstSeq(): number {
    return this.runs[0]?.from ?? this.pending.peek()?.seq ?? Infinity;
  }

  /** Appends a committed message's seq, extending the last run when it follows on. */
  appendRun(seq: number, observed: boolean): void {
    const last = this.runs[this.runs.length - 1];
    if (last !== undefined && last.to === seq - 1 && last.observed === observed && last.delayedAfter === Infinity) {
      last.to = seq;
      last.count++;
    } else {
      this.runs.push({ from: seq, to: seq, count: 1, delayedAfter: Infinity, observed });
    }
  }

  /** Whether `seq` is in a run (on disk only). */
  holds(seq: number): boolean {
    return this.runs.some((run) => run.from <= seq && seq <= run.to);
  }

  /** Empties the tail; a read in flight becomes stale. Returns the entries that were pending. */
  clear(): Entry[] {
    this.runs.length = 0;
    this.count = 0;
    this.bytes = 0;
    this.generation++;
    this.reading = undefined;
    return this.pending.clear();
  }
}
