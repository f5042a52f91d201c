/**
 * The Postgres mirror of ../sqlite/schema.ts: same tables, columns and keys. Integers that hold
 * seqs or millisecond timestamps are int8, read back as JS numbers (exact up to 2^53).
 * ../schema-parity.ts fails the type check if the two schemas' row types drift apart.
 */
import { sql } from "drizzle-orm";
import { bigint, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

export const exchanges = pgTable("exchanges", {
  name: text("name").primaryKey(),
  kind: text("kind").notNull(),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
});

export const queues = pgTable("queues", {
  name: text("name").primaryKey(),
  /** Highest seq ever given out, so a restart never reuses one even when no message is left. */
  lastSeq: bigint("last_seq", { mode: "number" }).notNull().default(0),
  /** Queue arguments (limits, TTL, dead-lettering, history) as JSON. */
  args: text("args").notNull().default("{}"),
  /** [PAGE-1] Rows in messages for this queue and their bytes, kept in the same transactions, so start-up counts without reading. */
  messageCount: bigint("message_count", { mode: "number" }).notNull().default(0),
  messageBytes: bigint("message_bytes", { mode: "number" }).notNull().default(0),
  /** [REDELIVERED-1] Stored rows up to this seq were there at a crash: each may have been delivered. */
  /** [HIST-2] Retained history reaches back to after this seq: a resume from before it gets GAP. */
  historyFloor: bigint("history_floor", { mode: "number" }).notNull().default(0),
  /** [HIST-2] Bytes of the retained rows (messages.retained = 1). */
  retainedBytes: bigint("retained_bytes", { mode: "number" }).notNull().default(0),
  redeliveredThrough: bigint("redelivered_through", { mode: "number" }).notNull().default(0),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
});

export const bindings = pgTable(
  "bindings",
  {
    exchange: text("exchange").notNull(),
    queue: text("queue").notNull(),
    key: text("key").notNull(),
    /** Binding arguments as canonical JSON (sorted keys); part of the binding's identity. */
    args: text("args").notNull(),
  },
  (t) => [primaryKey({ columns: [t.exchange, t.queue, t.key, t.args] }), index("bindings_queue").on(t.queue)],
);

export const messages = pgTable(
  "messages",
  {
    queue: text("queue").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
    id: text("id").notNull(),
    exchange: text("exchange").notNull(),
    routingKey: text("routing_key").notNull(),
    headers: text("headers").notNull(),
    body: text("body").notNull(),
    publishedAt: bigint("published_at", { mode: "number" }).notNull(),
    messageId: text("message_id"),
    expiresAt: bigint("expires_at", { mode: "number" }),
    deliverAt: bigint("deliver_at", { mode: "number" }),
    /** Set at a clean shutdown for messages a consumer held unacknowledged. */
    redelivered: integer("redelivered").notNull().default(0),
    /** [COUNT-1] Times handed to a consumer, recorded as deliveries go out, so a restart keeps counting. */
    deliveries: integer("deliveries").notNull().default(0),
    /** [PAGE-1] What the message counts toward bytes and max_bytes (messageBytes), summed into queues.message_bytes. */
    /** [HIST-2] 1: left its queue after delivery, kept as the queue's history for SUBSCRIBE since; 0: in the queue. */
    retained: integer("retained").notNull().default(0),
    bytes: bigint("bytes", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.queue, t.seq] }), index("messages_delayed").on(t.deliverAt).where(sql`${t.deliverAt} is not null`),
    index("messages_retained").on(t.queue, t.seq).where(sql`${t.retained} = 1`),
  ],
);

/** Publishers' message ids inside the de-duplication window, so a restart keeps publishes idempotent. */
export const recentIds = pgTable("recent_ids", {
  messageId: text("message_id").primaryKey(),
  /** [DEDUP-1] The id the broker gave the original message: a duplicate is answered with it. */
  id: text("id").notNull().default(""),
  until: bigint("until", { mode: "number" }).notNull(),
});

/** Small facts about the database itself, such as whether the last shutdown was clean. */
export const meta = pgTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
