/** Rows as drizzle reads them from the Postgres schema → the Snapshot the broker restores from. */
import type { BindingArgs, ExchangeKind, MessageHeaders } from "../../core/exchanges/types.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../../core/queue-args.ts";
import type { Snapshot } from "../store.ts";
import type * as schema from "./schema.ts";

export type SnapshotRows = {
  exchanges: (typeof schema.exchanges.$inferSelect)[];
  queues: (typeof schema.queues.$inferSelect)[];
  bindings: (typeof schema.bindings.$inferSelect)[];
  messages: (typeof schema.messages.$inferSelect)[];
  recentIds: (typeof schema.recentIds.$inferSelect)[];
  cleanShutdown: boolean;
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
  cleanShutdown: rows.cleanShutdown,
});
