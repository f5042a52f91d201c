/**
 * Rows as both backends read them → what the Store hands the broker (the Snapshot, paged
 * messages): one mapping, used by sqlite-store.ts and postgres-store.ts alike. The row types are
 * SQLite's; Postgres' are the same (schema-parity.ts fails the typecheck otherwise).
 */
import type { BindingArgs, ExchangeKind, MessageHeaders } from "../core/exchanges/types.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../core/queue-args.ts";
import type * as schema from "./sqlite/schema.ts";
import type { HistoryRow, Snapshot, StoredMessage } from "./store.ts";

/** The meta row saying whether the last shutdown was clean (`"true"`), on both backends. */
export const CLEAN_SHUTDOWN = "clean_shutdown";

export type MessageRow = typeof schema.messages.$inferSelect;

/** A queue row with the seqs of its first and last stored message (null when none). */
export type QueueRow = typeof schema.queues.$inferSelect & {
  /** First and last seq of the messages in the queue (not retained), null when none. */
  firstSeq: number | null;
  maxSeq: number | null;
  /** The last seq of any stored row (retained too). */
  topSeq: number | null;
};

export type SnapshotRows = {
  exchanges: readonly (typeof schema.exchanges.$inferSelect)[];
  queues: readonly QueueRow[];
  bindings: readonly (typeof schema.bindings.$inferSelect)[];
  delayed: readonly MessageRow[];
  recentIds: readonly (typeof schema.recentIds.$inferSelect)[];
  /** The CLEAN_SHUTDOWN meta row as load() found it, before marking this run as running. */
  cleanShutdownRow: { readonly value: string } | undefined;
};

/** Whether the meta row says the last run ended in a clean close; a database that never ran has nothing to redeliver. */
export const wasClean = (row: { readonly value: string } | undefined): boolean => row === undefined || row.value === "true";

/** [REDELIVERED-1] A stored row, flagged redelivered when it was marked so or was stored at a crash. */
export const toStoredMessage = (m: MessageRow, redeliveredThrough: number): StoredMessage => ({
  queue: m.queue,
  seq: m.seq,
  message: {
    id: m.id,
    exchange: m.exchange,
    routingKey: m.routingKey,
    headers: JSON.parse(m.headers) as MessageHeaders,
    body: m.body,
    timestamp: m.publishedAt,
    ...(m.messageId === null ? {} : { messageId: m.messageId }),
  },
  expiresAt: m.expiresAt ?? undefined,
  deliverAt: m.deliverAt ?? undefined,
  redelivered: m.redelivered === 1 || m.seq <= redeliveredThrough,
  deliveries: m.deliveries,
});

export const toSnapshot = (rows: SnapshotRows): Snapshot => {
  const through = new Map(rows.queues.map((q) => [q.name, q.redeliveredThrough]));
  return {
    exchanges: rows.exchanges.map((e) => ({ name: e.name, kind: e.kind as ExchangeKind })),
    queues: rows.queues.map((q) => ({
      name: q.name,
      lastSeq: Math.max(q.lastSeq, q.topSeq ?? 0),
      args: { ...DEFAULT_QUEUE_ARGS, ...(JSON.parse(q.args) as Partial<QueueArgs>) },
      stored: { count: q.messageCount, bytes: q.messageBytes, firstSeq: q.firstSeq ?? 0, lastSeq: q.maxSeq ?? 0 },
    })),
    bindings: rows.bindings.map((b) => ({ exchange: b.exchange, queue: b.queue, key: b.key, args: JSON.parse(b.args) as BindingArgs })),
    // Delayed rows of queues no longer declared are left to be removed with them.
    delayed: rows.delayed.filter((m) => through.has(m.queue)).map((m) => toStoredMessage(m, through.get(m.queue) ?? 0)),
    recentIds: rows.recentIds.map((r) => ({ messageId: r.messageId, until: r.until, id: r.id })),
    cleanShutdown: wasClean(rows.cleanShutdownRow),
  };
};

/** The columns of a message row, named as drizzle's row type names them (raw SQL on both backends). */
/** [HIST-2] A row as a replay reads it. */
export const toHistoryRow = (m: MessageRow, redeliveredThrough: number): HistoryRow => ({ ...toStoredMessage(m, redeliveredThrough), retained: m.retained === 1 });

export const MESSAGE_COLUMNS =
  'queue, seq, id, exchange, routing_key AS "routingKey", headers, body, published_at AS "publishedAt", message_id AS "messageId", ' +
  'expires_at AS "expiresAt", deliver_at AS "deliverAt", redelivered, deliveries, retained, bytes';

/** [PAGE-1] The queue row with its seq ends, the same query on both backends (index lookups only: the partial index for retained rows, the key for the rest). */
export const QUEUE_ROWS =
  'SELECT name, last_seq AS "lastSeq", args, message_count AS "messageCount", message_bytes AS "messageBytes", ' +
  'history_floor AS "historyFloor", retained_bytes AS "retainedBytes", redelivered_through AS "redeliveredThrough", created_at AS "createdAt", ' +
  '(SELECT min(seq) FROM messages WHERE queue = queues.name AND retained = 0) AS "firstSeq", ' +
  '(SELECT max(seq) FROM messages WHERE queue = queues.name AND retained = 0) AS "maxSeq", ' +
  '(SELECT max(seq) FROM messages WHERE queue = queues.name) AS "topSeq" FROM queues';
