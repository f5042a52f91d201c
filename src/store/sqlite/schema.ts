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
  },
  (t) => [primaryKey({ columns: [t.queue, t.seq] })],
);
