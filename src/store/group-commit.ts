import { BrokerFailure, ErrorCodes } from "../core/errors.ts";
import { describeDbError } from "./db-error.ts";

/** Rows per transaction: ~2 ms of SQLite work at the measured insert rate, under the ~20 ms stall budget. */
export const MAX_GROUP_ROWS = 1_000;

type Waiter<T> = { rows: readonly T[]; resolve: () => void; reject: (error: unknown) => void };

/**
 * Group commit: appends made in the same turn of the event loop share one transaction, and each
 * caller's promise resolves only after the transaction holding its rows committed.
 */
export class GroupCommit<T> {
  private waiting: Waiter<T>[] = [];
  private scheduled = false;

  constructor(private readonly commit: (rows: readonly T[]) => void) {}

  add(rows: readonly T[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ rows, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flushSome());
      }
    });
  }

  /** Commits everything waiting, now; used before any other write so writes keep their order. */
  flushNow(): void {
    while (this.waiting.length > 0) this.commitBatch();
  }

  private flushSome(): void {
    this.scheduled = false;
    this.commitBatch();
    if (this.waiting.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flushSome());
    }
  }

  private commitBatch(): void {
    const batch: Waiter<T>[] = [];
    const rows: T[] = [];
    while (this.waiting.length > 0 && (rows.length === 0 || rows.length + this.waiting[0]!.rows.length <= MAX_GROUP_ROWS)) {
      const waiter = this.waiting.shift()!;
      batch.push(waiter);
      for (const row of waiter.rows) rows.push(row);
    }
    try {
      this.commit(rows);
    } catch (error) {
      const failure = new BrokerFailure({
        code: ErrorCodes.STORE_UNAVAILABLE,
        message: `could not store the message: ${describeDbError(error)}`,
      });
      for (const waiter of batch) waiter.reject(failure);
      return;
    }
    for (const waiter of batch) waiter.resolve();
  }
}
