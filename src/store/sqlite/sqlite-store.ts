import { Database } from "bun:sqlite";
import { and, asc, between, eq, lte, sql } from "drizzle-orm";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { SQLiteSession, SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { ErrorCodes, BrokerFailure } from "../../core/errors.ts";
import { canonicalArgs, type Binding } from "../../core/exchanges/types.ts";
import { describeDbError } from "../db-error.ts";
import { GroupCommit } from "../group-commit.ts";
import { SQLITE_DELETE_CHUNK_ROWS, SQLITE_LOCK_WAIT_MS } from "../limits.ts";
import { sqliteMigrations } from "../migrations.gen.ts";
import { toMigrationMeta } from "../migrations.ts";
import { CLEAN_SHUTDOWN, toSnapshot } from "../snapshot-rows.ts";
import type { DeliveryCounts, Removals, Snapshot, Store, StoredExchange, StoredMessage, StoredQueue } from "../store.ts";
import * as schema from "./schema.ts";

export type SqliteOptions = {
  /** synchronous=FULL: survives power loss, not only a killed process. */
  fsync?: boolean;
  migrate?: boolean;
};

/**
 * The embedded backend: bun:sqlite in WAL mode, one connection owned by this process.
 * `locking_mode=EXCLUSIVE` keeps a second broker off the same file: it fails to start instead of
 * corrupting the first one's state.
 */
export class SqliteStore implements Store {
  private readonly db: BunSQLiteDatabase<typeof schema>;
  private readonly insertMessage;
  private readonly insertRecentId;
  private readonly markRedelivered;
  private readonly setDeliveries;
  private readonly commits: GroupCommit<StoredMessage>;

  private constructor(
    private readonly sqlite: Database,
    migrate: boolean,
  ) {
    this.db = drizzle({ client: sqlite, schema });
    // drizzle's own migrator, fed the migrations embedded in the executable instead of files.
    const internals = this.db as unknown as { dialect: SQLiteSyncDialect; session: SQLiteSession<"sync", void, Record<string, never>, never> };
    if (migrate) internals.dialect.migrate(toMigrationMeta(sqliteMigrations), internals.session, undefined);
    this.insertMessage = this.db
      .insert(schema.messages)
      .values({
        queue: sql.placeholder("queue"),
        seq: sql.placeholder("seq"),
        id: sql.placeholder("id"),
        exchange: sql.placeholder("exchange"),
        routingKey: sql.placeholder("routingKey"),
        headers: sql.placeholder("headers"),
        body: sql.placeholder("body"),
        publishedAt: sql.placeholder("publishedAt"),
        messageId: sql.placeholder("messageId"),
        expiresAt: sql.placeholder("expiresAt"),
        deliverAt: sql.placeholder("deliverAt"),
      })
      .prepare();
    this.insertRecentId = this.db
      .insert(schema.recentIds)
      .values({ messageId: sql.placeholder("messageId"), until: sql.placeholder("until"), id: sql.placeholder("id") })
      .onConflictDoUpdate({ target: schema.recentIds.messageId, set: { until: sql`excluded.until`, id: sql`excluded.id` } })
      .prepare();
    // Prepared: a clean stop after a crash marks the whole restored backlog, row by row.
    this.markRedelivered = this.db
      .update(schema.messages)
      .set({ redelivered: 1 })
      .where(and(eq(schema.messages.queue, sql.placeholder("queue")), eq(schema.messages.seq, sql.placeholder("seq"))))
      .prepare();
    this.setDeliveries = this.db
      .update(schema.messages)
      .set({ deliveries: sql`max(${schema.messages.deliveries}, ${sql.placeholder("deliveries")})` })
      .where(and(eq(schema.messages.queue, sql.placeholder("queue")), eq(schema.messages.seq, sql.placeholder("seq"))))
      .prepare();
    this.commits = new GroupCommit((rows) => this.writeMessages(rows));
  }

  static open(path: string, options: SqliteOptions = {}): SqliteStore {
    const sqlite = new Database(path, { create: true, strict: true });
    try {
      sqlite.run(`PRAGMA busy_timeout = ${SQLITE_LOCK_WAIT_MS}`);
      sqlite.run("PRAGMA locking_mode = EXCLUSIVE");
      sqlite.run("PRAGMA journal_mode = WAL");
      sqlite.run(`PRAGMA synchronous = ${options.fsync ? "FULL" : "NORMAL"}`);
      // Take the exclusive lock now, not at the first publish.
      sqlite.run("BEGIN IMMEDIATE");
      sqlite.run("COMMIT");
    } catch (error) {
      sqlite.close();
      if (String(error).includes("locked") || String(error).includes("busy")) {
        throw new Error(`database ${path} is in use by another process (is another pubsub running on it?)`);
      }
      throw error;
    }
    return new SqliteStore(sqlite, options.migrate ?? true);
  }

  async load(): Promise<Snapshot> {
    const exchanges = this.db.select().from(schema.exchanges).all();
    const queues = this.db.select().from(schema.queues).all();
    const bindings = this.db.select().from(schema.bindings).all();
    // Raw rows: drizzle's per-row mapping is the slow part of restoring a large backlog.
    const messages = this.sqlite
      .query<typeof schema.messages.$inferSelect, []>(
        "SELECT queue, seq, id, exchange, routing_key AS routingKey, headers, body, published_at AS publishedAt, message_id AS messageId, " +
          "expires_at AS expiresAt, deliver_at AS deliverAt, redelivered, deliveries FROM messages ORDER BY queue, seq",
      )
      .all();
    // Expiry order: RecentIds prunes from the front.
    const recentIds = this.db.select().from(schema.recentIds).orderBy(asc(schema.recentIds.until)).all();
    const clean = this.db.select().from(schema.meta).where(eq(schema.meta.key, CLEAN_SHUTDOWN)).get();
    // Running from here on: a crash leaves the marker "false".
    this.write(() => {
      this.db
        .insert(schema.meta)
        .values({ key: CLEAN_SHUTDOWN, value: "false" })
        .onConflictDoUpdate({ target: schema.meta.key, set: { value: "false" } })
        .run();
    });
    return toSnapshot({ exchanges, queues, bindings, messages, recentIds, cleanShutdownRow: clean });
  }

  async putExchange(exchange: StoredExchange): Promise<void> {
    this.write(() => {
      this.db
        .insert(schema.exchanges)
        .values({ name: exchange.name, kind: exchange.kind, createdAt: Date.now() })
        .onConflictDoNothing()
        .run();
    });
  }

  async deleteExchange(name: string): Promise<void> {
    this.write(() =>
      this.db.transaction((tx) => {
        tx.delete(schema.bindings).where(eq(schema.bindings.exchange, name)).run();
        tx.delete(schema.exchanges).where(eq(schema.exchanges.name, name)).run();
      }),
    );
  }

  async putQueue(queue: StoredQueue): Promise<void> {
    this.write(() => {
      this.db
        .insert(schema.queues)
        .values({ name: queue.name, lastSeq: queue.lastSeq, args: JSON.stringify(queue.args), createdAt: Date.now() })
        .onConflictDoNothing()
        .run();
    });
  }

  async deleteQueue(name: string): Promise<void> {
    this.write(() =>
      this.db.transaction((tx) => {
        tx.delete(schema.messages).where(eq(schema.messages.queue, name)).run();
        tx.delete(schema.bindings).where(eq(schema.bindings.queue, name)).run();
        tx.delete(schema.queues).where(eq(schema.queues.name, name)).run();
      }),
    );
  }

  async putBinding(binding: Binding): Promise<void> {
    this.write(() => {
      this.db
        .insert(schema.bindings)
        .values({ exchange: binding.exchange, queue: binding.queue, key: binding.key, args: canonicalArgs(binding.args) })
        .onConflictDoNothing()
        .run();
    });
  }

  async deleteBinding(binding: Binding): Promise<void> {
    this.write(() => {
      this.db
        .delete(schema.bindings)
        .where(
          and(
            eq(schema.bindings.exchange, binding.exchange),
            eq(schema.bindings.queue, binding.queue),
            eq(schema.bindings.key, binding.key),
            eq(schema.bindings.args, canonicalArgs(binding.args)),
          ),
        )
        .run();
    });
  }

  append(messages: readonly StoredMessage[]): Promise<void> {
    return this.commits.add(messages);
  }

  async recordDeliveries(counts: DeliveryCounts): Promise<void> {
    this.write(() =>
      this.db.transaction(() => {
        for (const [queue, pairs] of counts) for (const [seq, deliveries] of pairs) this.setDeliveries.run({ queue, seq, deliveries });
      }),
    );
  }

  async purge(queue: string): Promise<void> {
    this.write(() => {
      this.db.delete(schema.messages).where(eq(schema.messages.queue, queue)).run();
    });
  }

  async checkpoint(removals: Removals, lastSeqs: ReadonlyMap<string, number>, now: number): Promise<void> {
    this.commits.flushNow();
    this.write(() => {
      this.db.delete(schema.recentIds).where(lte(schema.recentIds.until, now)).run();
    });
    // [SEQ-1] Last seqs first: a crash between the chunked deletes below must not let seqs restart.
    this.write(() =>
      this.db.transaction((tx) => {
        for (const [name, lastSeq] of lastSeqs) {
          tx.update(schema.queues).set({ lastSeq }).where(eq(schema.queues.name, name)).run();
        }
      }),
    );
    for (const [queue, ranges] of removals) {
      for (const [from, to] of ranges) {
        // Chunked so a large backlog's removal never holds the event loop for long.
        for (let start = from; start <= to; start += SQLITE_DELETE_CHUNK_ROWS) {
          const end = Math.min(to, start + SQLITE_DELETE_CHUNK_ROWS - 1);
          this.write(() => {
            this.db
              .delete(schema.messages)
              .where(and(eq(schema.messages.queue, queue), between(schema.messages.seq, start, end)))
              .run();
          });
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    this.write(() => this.sqlite.run("PRAGMA wal_checkpoint(PASSIVE)"));
  }

  async close(inFlight: ReadonlyMap<string, readonly number[]>): Promise<void> {
    this.commits.flushNow();
    try {
      this.write(() =>
        this.db.transaction((tx) => {
          for (const [queue, seqs] of inFlight) {
            for (const seq of seqs) this.markRedelivered.run({ queue, seq });
          }
          tx.update(schema.meta).set({ value: "true" }).where(eq(schema.meta.key, CLEAN_SHUTDOWN)).run();
        }),
      );
      this.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      // true: finalize every statement and release the file (and its exclusive lock) now, not at GC.
      this.sqlite.close(true);
    }
  }

  /** Every write first commits the messages waiting for their group commit: writes apply in call order. */
  private write<T>(change: () => T): T {
    this.commits.flushNow();
    try {
      return change();
    } catch (error) {
      throw new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: `database write failed: ${describeDbError(error)}` });
    }
  }

  private writeMessages(rows: readonly StoredMessage[]): void {
    this.db.transaction(() => {
      for (const row of rows) {
        const m = row.message;
        if (m.messageId !== undefined && row.dedupUntil !== undefined) {
          this.insertRecentId.run({ messageId: m.messageId, until: row.dedupUntil, id: m.id });
        }
        this.insertMessage.run({
          queue: row.queue,
          seq: row.seq,
          id: m.id,
          exchange: m.exchange,
          routingKey: m.routingKey,
          headers: JSON.stringify(m.headers),
          body: m.body,
          publishedAt: m.timestamp,
          messageId: m.messageId ?? null,
          expiresAt: row.expiresAt ?? null,
          deliverAt: row.deliverAt ?? null,
        });
      }
    });
  }
}
