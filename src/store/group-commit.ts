import { BrokerFailure, ErrorCodes } from "../core/errors.ts";
import { describeDbError } from "./db-error.ts";

import { MAX_GROUP_ROWS } from "./limits.ts";

/** Defined in limits.ts; also exported here, beside the GroupCommit that applies it. */
export { MAX_GROUP_ROWS };

export type GroupCommitOptions<T> = {
  /** Rows per transaction (default MAX_GROUP_ROWS). */
  maxRows?: number;
  /** With `sizeOf`: bytes per transaction. A single `add` larger than this still goes alone. */
  maxBytes?: number;
  sizeOf?: (row: T) => number;
  /**
   * A caller still waiting after this long is answered STORE_UNAVAILABLE. Its write keeps its place
   * in line (an answer that says "failed" may still turn out stored; never the other way round).
   */
  timeoutMs?: number;
};

type Caller = { resolve: (value: unknown) => void; reject: (error: unknown) => void; since: number };
type QueuedWrite<T> =
  | { kind: "rows"; rows: readonly T[]; bytes: number; caller: Caller }
  | { kind: "exclusive"; operation: () => unknown; caller: Caller };

/**
 * Group commit: appends made while the database is busy share one transaction, and each caller's
 * promise resolves only after the transaction holding its rows committed.
 *
 * With a synchronous `commit` (SQLite), appends made in the same turn of the event loop share a
 * transaction and one batch commits per turn. With an asynchronous one (Postgres), one batch is in
 * flight at a time and the next accumulates until it settles.
 *
 * `exclusive` runs any other write in the same line, so writes apply in call order.
 */
export class GroupCommit<T> {
  private readonly waiting: QueuedWrite<T>[] = [];
  /** Callers of the asynchronous step in flight; nothing else starts until it settles. */
  private running: Caller[] | undefined;
  private scheduled = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly maxRows: number;
  private readonly maxBytes: number;

  constructor(
    private readonly commit: (rows: readonly T[]) => void | Promise<void>,
    private readonly options: GroupCommitOptions<T> = {},
  ) {
    this.maxRows = options.maxRows ?? MAX_GROUP_ROWS;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  add(rows: readonly T[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const sizeOf = this.options.sizeOf;
    const bytes = sizeOf === undefined ? 0 : rows.reduce((n, row) => n + sizeOf(row), 0);
    return this.enqueue((caller) => ({ kind: "rows", rows, bytes, caller }));
  }

  /** Runs `operation` alone: after every write queued before it, before every write queued after it. */
  exclusive<R>(operation: () => R | Promise<R>): Promise<R> {
    return this.enqueue((caller) => ({ kind: "exclusive", operation, caller }));
  }

  /** Resolves once every write queued before the call has settled, committed or not. */
  settled(): Promise<void> {
    return this.exclusive(() => undefined).catch(() => undefined);
  }

  /** Synchronous `commit` only: commits everything waiting, now, so a direct write that follows keeps its order. */
  flushNow(): void {
    while (this.waiting.length > 0) {
      if (this.running !== undefined) throw new Error("flushNow() needs a synchronous commit");
      this.step();
    }
  }

  private enqueue<R>(make: (caller: Caller) => QueuedWrite<T>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push(make({ resolve: resolve as (value: unknown) => void, reject, since: performance.now() }));
      if (this.options.timeoutMs !== undefined && this.sweeper === undefined) {
        this.sweeper = setInterval(() => this.sweep(), this.options.timeoutMs / 5);
        this.sweeper.unref?.();
      }
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running !== undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.writeNext();
    });
  }

  private writeNext(): void {
    this.step();
    if (this.waiting.length > 0) this.schedule();
    else if (this.running === undefined) this.stopSweeper();
  }

  /** Starts the next batch or exclusive operation; settles its callers now if it ran synchronously. */
  private step(): void {
    if (this.running !== undefined) return;
    const head = this.waiting[0];
    if (head === undefined) return;
    let callers: Caller[];
    let run: () => unknown;
    let failure: string;
    if (head.kind === "exclusive") {
      this.waiting.shift();
      callers = [head.caller];
      run = head.operation;
      failure = "database write failed";
    } else {
      const rows = this.takeBatch();
      callers = rows.callers;
      run = () => this.commit(rows.rows);
      failure = "could not store the message";
    }
    let outcome: unknown;
    try {
      outcome = run();
    } catch (error) {
      for (const caller of callers) caller.reject(storeFailure(failure, error));
      return;
    }
    if (!isThenable(outcome)) {
      for (const caller of callers) caller.resolve(outcome);
      return;
    }
    this.running = callers;
    Promise.resolve(outcome).then(
      (value) => callers.forEach((caller) => caller.resolve(value)),
      (error) => callers.forEach((caller) => caller.reject(storeFailure(failure, error))),
    ).finally(() => {
      this.running = undefined;
      // Everything that accumulated meanwhile goes now, as one batch.
      this.writeNext();
    });
  }

  private takeBatch(): { rows: T[]; callers: Caller[] } {
    const rows: T[] = [];
    const callers: Caller[] = [];
    let bytes = 0;
    for (let head = this.waiting[0]; head?.kind === "rows"; head = this.waiting[0]) {
      const fits = rows.length + head.rows.length <= this.maxRows && bytes + head.bytes <= this.maxBytes;
      if (rows.length > 0 && !fits) break;
      this.waiting.shift();
      callers.push(head.caller);
      bytes += head.bytes;
      for (const row of head.rows) rows.push(row);
    }
    return { rows, callers };
  }

  /** Answers callers that waited too long; a queued write that was never started is dropped with its answer. */
  private sweep(): void {
    const timeoutMs = this.options.timeoutMs ?? Number.POSITIVE_INFINITY;
    const cutoff = performance.now() - timeoutMs;
    const late = new BrokerFailure({
      code: ErrorCodes.STORE_UNAVAILABLE,
      message: `the database did not answer within ${timeoutMs / 1000} s`,
    });
    for (const caller of this.running ?? []) if (caller.since < cutoff) caller.reject(late);
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const entry = this.waiting[i]!;
      if (entry.caller.since < cutoff) {
        this.waiting.splice(i, 1);
        entry.caller.reject(late);
      }
    }
    if (this.waiting.length === 0 && this.running === undefined) this.stopSweeper();
  }

  private stopSweeper(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";

const storeFailure = (what: string, error: unknown): BrokerFailure =>
  error instanceof BrokerFailure
    ? error
    : new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: `${what}: ${describeDbError(error)}` });
