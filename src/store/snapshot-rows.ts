/**
 * Rows as both backends read them → the Snapshot the broker restores from: one mapping, used by
 * sqlite-store.ts and postgres-store.ts alike. The row types are SQLite's; Postgres' are the same
 * (schema-parity.ts fails the typecheck otherwise).
 */
import type { BindingArgs, ExchangeKind, MessageHeaders } from "../core/exchanges/types.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../core/queue-args.ts";
import type * as schema from "./sqlite/schema.ts";
import type { Snapshot } from "./store.ts";

/** The meta row saying whether the last shutdown was clean (`"true"`), on both backends. */
export const CLEAN_SHUTDOWN = "clean_shutdown";

export type SnapshotRows = {
  exchanges: readonly (typeof schema.exchanges.$inferSelect)[];
  queues: readonly (typeof schema.queues.$inferSelect)[];
  bindings: readonly (typeof schema.bindings.$inferSelect)[];
  messages: readonly (typeof schema.messages.$inferSelect)[];
  recentIds: readonly (typeof schema.recentIds.$inferSelect)[];
  /** The CLEAN_SHUTDOWN meta row as load() found it, before marking this run as running. */
  cleanShutdownRow: { readonly value: string } | undefined;
};

export const toSnapshot = (rows: SnapshotRows): Snapshot => ({
  exchanges: rows.exchanges.map((e) => ({ name: e.name, kind: e.kind as ExchangeKind })),
  queues: rows.queues.map((q) => ({
    name: q.name,
    lastSeq: q.lastSeq,
    args: { ...DEFAULT_QUEUE_ARGS, ...(JSON.parse(q.args) as Partial<QueueArgs>) },
  })),
  bindings: rows.bindings.map((b) => ({ exchange: b.exchange, queue: b.queue, key: b.key, args: JSON.parse(b.args) as BindingArgs })),
  messages: rows.messages.map((m) => ({
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
    redelivered: m.redelivered === 1,
    deliveries: m.deliveries,
  })),
  recentIds: rows.recentIds.map((r) => ({ messageId: r.messageId, until: r.until, id: r.id })),
  // A database that never ran (no marker) has nothing to redeliver either.
  cleanShutdown: rows.cleanShutdownRow === undefined || rows.cleanShutdownRow.value === "true",
});
