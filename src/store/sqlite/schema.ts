import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const exchanges = sqliteTable("exchanges", {
  name: text("name").primaryKey(),
  kind: text("kind").notNull(),
  createdAt: integer("created_at").notNull(),
});

export const queues = sqliteTable("queues", {
  name: text("name").primaryKey(),
  /** Highest seq ever given out, so a restart never reuses one even when no message is left. */
  lastSeq: integer("last_seq").notNull().default(0),
  /** Queue arguments (limits, TTL, dead-lettering, history) as JSON. */
  args: text("args").notNull().default("{}"),
  /** [PAGE-1] Rows in messages for this queue and their bytes, kept in the same transactions, so start-up counts without reading. */
  messageCount: integer("message_count").notNull().default(0),
  messageBytes: integer("message_bytes").notNull().default(0),
  /** [REDELIVERED-1] Stored rows up to this seq were there at a crash: each may have been delivered. */
  /** [HIST-2] Retained history reaches back to after this seq: a resume from before it gets GAP. */
  historyFloor: integer("history_floor").notNull().default(0),
  /** [HIST-2] Bytes of the retained rows (messages.retained = 1). */
  retainedBytes: integer("retained_bytes").notNull().default(0),
  redeliveredThrough: integer("redelivered_through").notNull().default(0),
  createdAt: integer("created_at").notNull(),
});

export const bindings = sqliteTable(
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

export const messages = sqliteTable(
  "messages",
  {
    queue: text("queue").notNull(),
    seq: integer("seq").notNull(),
    id: text("id").notNull(),
    exchange: text("exchange").notNull(),
    routingKey: text("routing_key").notNull(),
    headers: text("headers").notNull(),
    body: text("body").notNull(),
    publishedAt: integer("published_at").notNull(),
    messageId: text("message_id"),
    expiresAt: integer("expires_at"),
    deliverAt: integer("deliver_at"),
    /** Set at a clean shutdown for messages a consumer held unacknowledged. */
    redelivered: integer("redelivered").notNull().default(0),
    /** [COUNT-1] Times handed to a consumer, recorded as deliveries go out, so a restart keeps counting. */
    deliveries: integer("deliveries").notNull().default(0),
    /** [PAGE-1] What the message counts toward bytes and max_bytes (messageBytes), summed into queues.message_bytes. */
    /** [HIST-2] 1: left its queue after delivery, kept as the queue's history for SUBSCRIBE since; 0: in the queue. */
    retained: integer("retained").notNull().default(0),
    bytes: integer("bytes").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.queue, t.seq] }), index("messages_delayed").on(t.deliverAt).where(sql`${t.deliverAt} is not null`),
    index("messages_retained").on(t.queue, t.seq).where(sql`${t.retained} = 1`),
  ],
);

/** Publishers' message ids inside the de-duplication window, so a restart keeps publishes idempotent. */
export const recentIds = sqliteTable("recent_ids", {
  messageId: text("message_id").primaryKey(),
  /** [DEDUP-1] The id the broker gave the original message: a duplicate is answered with it. */
  id: text("id").notNull().default(""),
  until: integer("until").notNull(),
});

/** Small facts about the database itself, such as whether the last shutdown was clean. */
export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
