import type { Binding, ExchangeKind } from "../core/exchanges/types.ts";
import type { PagedRow } from "../core/queue.ts";
import type { QueueArgs } from "../core/queue-args.ts";

export type StoredExchange = { readonly name: string; readonly kind: ExchangeKind };
export type StoredQueue = { readonly name: string; readonly lastSeq: number; readonly args: QueueArgs };
export type StoredMessage = PagedRow & {
  readonly queue: string;
  /** With message.messageId: the id is remembered for de-duplication until then. */
  readonly dedupUntil?: number;
};

/** [PAGE-1] A queue's stored messages as load() counts them (kept counters, never a scan); seqs 0 when none. */
export type StoredCounts = { readonly count: number; readonly bytes: number; readonly firstSeq: number; readonly lastSeq: number };
/**
 * A durable queue as load() finds it. `lastSeq` is the highest seq given out, stored rows included;
 * `stored` counts the messages in the queue (not its retained history).
 */
export type LoadedQueue = StoredQueue & { readonly stored: StoredCounts };

/**
 * [HIST-2] A durable queue's retained history: what left the queue after delivery stays stored
 * (retained) until these rules drop it, oldest first. `keepAfter`: only seqs above it are kept
 * (history_size); `publishedBefore`: none published before it (history_ttl); `maxBytes`: at most
 * this many bytes (history_max_bytes).
 */
export type Retention = { readonly keepAfter: number; readonly publishedBefore?: number; readonly maxBytes?: number };
/** [HIST-2] What a checkpoint does to history: seqs that left after delivery become retained; retention trims. */
export type HistoryWork = { readonly retains: Removals; readonly retention: ReadonlyMap<string, Retention> };
/** [HIST-2] A stored row as a replay reads it: in the queue, or retained after it left. */
export type HistoryRow = StoredMessage & { readonly retained: boolean };
/** [HIST-2] Stored rows after `since` and the queue's history floor (resuming from at or below it: GAP). */
export type StoredHistory = { readonly rows: HistoryRow[]; readonly floor: number };

/** [PAGE-1] One page of a queue's stored messages: seqs from..to, ascending, at most `limit` rows. */
export type ReadRange = {
  readonly from: number;
  readonly to: number;
  readonly limit: number;
  /** Rows due after this (delayed, loaded as such by load()) are left out; Infinity leaves none out. */
  readonly delayedAfter: number;
};
/**
 * A publisher's message id seen recently (idempotent publish), kept across restarts, with the id the
 * broker gave that message ("" for ids stored before ids were kept).
 */
export type RecentId = { readonly messageId: string; readonly until: number; readonly id: string };

/**
 * What a restart rebuilds from: topology, each queue's counts, and the delayed messages not yet
 * due (ordered by queue, then seq). The other messages stay on disk, read page by page.
 */
export type Snapshot = {
  readonly exchanges: StoredExchange[];
  readonly queues: LoadedQueue[];
  readonly bindings: Binding[];
  readonly delayed: StoredMessage[];
  readonly recentIds: RecentId[];
  /** False after a crash: every restored message may have been delivered already. */
  readonly cleanShutdown: boolean;
};

/** Per queue, [seq, deliveries] pairs: how many times each message was handed to a consumer. */
export type DeliveryCounts = ReadonlyMap<string, ReadonlyArray<readonly [seq: number, deliveries: number]>>;

/** What a checkpoint does besides removals and last seqs: `"full"` (the default) prunes recent ids and the WAL too. */
export type CheckpointScope = "acks" | "full";

/** Inclusive seq ranges per queue: messages that left their queue and no longer need to be kept. */
export type Removals = ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>;

/**
 * Durable state: topology and the messages of durable queues. Only durable things come here;
 * transient queues never touch it.
 *
 * Guarantee: every method resolves only after its change is committed to the database, never
 * earlier: the broker answers publishes and declarations on it. Writes are applied in call order.
 */
export interface Store {
  /**
   * Topology, counts and the messages delayed past `now`, never the whole backlog. After a crash
   * (no clean close recorded) every stored message counts as possibly delivered, from now on.
   */
  load(now: number): Promise<Snapshot>;
  /**
   * [PAGE-1] Stored messages of `queue` in `range`, ascending by seq, with their flags
   * (`redelivered` also for rows that were stored at a crash). Reads only committed rows; never
   * waits behind the writes in line.
   */
  readMessages(queue: string, range: ReadRange): Promise<StoredMessage[]>;
  /**
   * [HIST-2] Stored rows of `queue` with seq from..to, ascending, at most `limit`: those in the queue
   * and those retained as history; with the queue's history floor.
   */
  readHistory(queue: string, range: { readonly from: number; readonly to: number; readonly limit: number }): Promise<StoredHistory>;

  /** Resolves once the database answered a trivial query (GET /readyz); rejects if it cannot. Never waits behind writes. */
  ping(): Promise<void>;

  putExchange(exchange: StoredExchange): Promise<void>;
  /** Also removes the exchange's bindings. */
  deleteExchange(name: string): Promise<void>;
  putQueue(queue: StoredQueue): Promise<void>;
  /** Also removes the queue's bindings and messages. */
  deleteQueue(name: string): Promise<void>;
  putBinding(binding: Binding): Promise<void>;
  deleteBinding(binding: Binding): Promise<void>;

  /**
   * Resolves only after the batch holding these messages is committed. Never earlier: callers
   * answer publishes on it. Concurrent calls share one transaction (group commit).
   */
  append(messages: readonly StoredMessage[]): Promise<void>;
  /**
   * [COUNT-1] Records delivery counts of stored messages (a count never goes down; a message no
   * longer stored is skipped). The broker does not hold deliveries back for it: it calls this
   * shortly after they went out, so a crash can lose only the counts of that short window.
   */
  recordDeliveries(counts: DeliveryCounts): Promise<void>;
  /** Removes every message waiting in the queue; its retained history stays. */
  purge(queue: string): Promise<void>;
  /**
   * Deletes delivered messages and records each queue's last seq (so seqs are never reused); until
   * it runs, a crash brings delivered messages back. `"full"` also forgets recent ids expired by
   * `now` and checkpoints the write-ahead log; `"acks"` [ACK-1] is the cheap part alone, run often.
   */
  checkpoint(removals: Removals, lastSeqs: ReadonlyMap<string, number>, now: number, scope?: CheckpointScope, history?: HistoryWork): Promise<void>;
  /**
   * Marks the given messages as redelivered (out with consumers, or possibly delivered before) and
   * records a clean shutdown, then closes.
   * A start that finds no clean shutdown treats every restored message as possibly delivered.
   */
  close(inFlight: ReadonlyMap<string, readonly number[]>): Promise<void>;
}
