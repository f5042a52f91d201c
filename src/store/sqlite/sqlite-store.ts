import { Database } from "bun:sqlite";
import { and, asc, between, eq, lte, sql } from "drizzle-orm";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { SQLiteSession, SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { ErrorCodes, BrokerFailure } from "../../core/errors.ts";
import { canonicalArgs, type Binding } from "../../core/exchanges/types.ts";
import { describeDbError } from "../db-error.ts";
import { GroupCommit } from "../group-commit.ts";
import { retentionCut } from "../retention.ts";
import {
  SQLITE_CONVERT_VACUUM_MAX_BYTES,
  SQLITE_DELETE_CHUNK_ROWS,
  SQLITE_LOCK_WAIT_MS,
  SQLITE_VACUUM_MAX_STEPS,
  SQLITE_VACUUM_MIN_FREE_PAGES,
  SQLITE_VACUUM_STEP_PAGES,
} from "../limits.ts";
import { sqliteMigrations } from "../migrations.gen.ts";
import { toMigrationMeta } from "../migrations.ts";
import { messageBytes } from "../../core/message.ts";
import { CLEAN_SHUTDOWN, MESSAGE_COLUMNS, QUEUE_ROWS, toHistoryRow, toSnapshot, toStoredMessage, wasClean, type MessageRow, type QueueRow } from "../snapshot-rows.ts";
import type { CheckpointScope, DeliveryCounts, HistoryWork, ReadRange, Retention, StoredHistory, Removals, Snapshot, Store, StoredExchange, StoredMessage, StoredQueue } from "../store.ts";
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
  private readonly writeRows: (rows: readonly StoredMessage[]) => void;
  private readonly insertRecentId;
  private readonly markRedelivered;
  private readonly setDeliveries;
  private readonly addCounts;
  private readonly readPage;
  private readonly countRange;
  private readonly readRows;
  private readonly commits: GroupCommit<StoredMessage>;
  /** [VACUUM-1] Messages were written or removed since the last full checkpoint: space is given back only when idle. */
  private busy = false;
  /** [REDELIVERED-1] Per queue, the seq up to which stored rows were there at a crash (from load()). */
  private readonly redeliveredThrough = new Map<string, number>();

  private constructor(
    private readonly sqlite: Database,
    migrate: boolean,
  ) {
    this.db = drizzle({ client: sqlite, schema });
    // drizzle's own migrator, fed the migrations embedded in the executable instead of files.
    const internals = this.db as unknown as { dialect: SQLiteSyncDialect; session: SQLiteSession<"sync", void, Record<string, never>, never> };
    if (migrate) internals.dialect.migrate(toMigrationMeta(sqliteMigrations), internals.session, undefined);
    // Positional and run in a bun:sqlite transaction made once: the hottest write of a durable
    // publish. Through drizzle's prepared query and transaction each row paid for a placeholder
    // object, its mapping and a transaction wrapper built per commit (bench/RESULTS.md, "Issue 12, durable").
    this.insertMessage = sqlite.query<unknown, [string, number, string, string, string, string, string, number, string | null, number | null, number | null, number, number]>(
      "INSERT INTO messages (queue, seq, id, exchange, routing_key, headers, body, published_at, message_id, expires_at, deliver_at, redelivered, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    );
    this.writeRows = sqlite.transaction((rows: readonly StoredMessage[]) => this.insertRows(rows));
    // [PAGE-1] Counters kept in the same transaction as the rows they count.
    this.addCounts = sqlite.query<unknown, [number, number, string]>(
      "UPDATE queues SET message_count = message_count + ?1, message_bytes = message_bytes + ?2 WHERE name = ?3",
    );
    this.countRange = sqlite.query<{ n: number; b: number }, [string, number, number]>(
      "SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM messages WHERE queue = ?1 AND seq BETWEEN ?2 AND ?3 AND retained = 0",
    );
    // Raw rows: drizzle's per-row mapping is the slow part of reading many rows. An index range scan on (queue, seq).
    this.readPage = sqlite.query<MessageRow, [string, number, number, number, number]>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE queue = ?1 AND seq >= ?2 AND seq <= ?3 AND retained = 0 AND (deliver_at IS NULL OR deliver_at <= ?4) ORDER BY seq LIMIT ?5`,
    );
    this.readRows = sqlite.query<MessageRow, [string, number, number, number]>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE queue = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4`,
    );
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
      // [VACUUM-1] Incremental auto-vacuum, so the space a drained backlog leaves can be given back
      // (checkpoint). It takes effect on a new database; an existing one is converted by one VACUUM
      // (a rewrite: done only while it is small; a larger one keeps its space for reuse).
      if (sqlite.query<{ auto_vacuum: number }, []>("PRAGMA auto_vacuum").get()?.auto_vacuum !== 2) {
        const pages = sqlite.query<{ page_count: number }, []>("PRAGMA page_count").get()?.page_count ?? 0;
        if (pages * 4096 <= SQLITE_CONVERT_VACUUM_MAX_BYTES) {
          sqlite.run("PRAGMA auto_vacuum = INCREMENTAL");
          if (pages > 0) sqlite.run("VACUUM");
        }
      }
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

  async load(now: number): Promise<Snapshot> {
    const clean = this.db.select().from(schema.meta).where(eq(schema.meta.key, CLEAN_SHUTDOWN)).get();
    if (!wasClean(clean)) {
      // [REDELIVERED-1] After a crash every stored row may have been delivered: recorded once, so a
      // clean stop before they are read back keeps saying so.
      this.write(() =>
        this.sqlite.run(
          "UPDATE queues SET redelivered_through = max(redelivered_through, last_seq, coalesce((SELECT max(seq) FROM messages WHERE queue = queues.name), 0))",
        ),
      );
    }
    const exchanges = this.db.select().from(schema.exchanges).all();
    // [PAGE-1] Counters and the ends of each queue's seq range (two index lookups each): nothing grows with the backlog.
    const queues = this.sqlite.query<QueueRow, []>(QUEUE_ROWS).all();
    this.redeliveredThrough.clear();
    for (const q of queues) this.redeliveredThrough.set(q.name, q.redeliveredThrough);
    const bindings = this.db.select().from(schema.bindings).all();
    const delayed = this.sqlite
      .query<MessageRow, [number]>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE deliver_at > ?1 AND retained = 0 ORDER BY queue, seq`)
      .all(now);
    // Expiry order: RecentIds prunes from the front.
    const recentIds = this.db.select().from(schema.recentIds).orderBy(asc(schema.recentIds.until)).all();
    // Running from here on: a crash leaves the marker "false".
    this.write(() => {
      this.db
        .insert(schema.meta)
        .values({ key: CLEAN_SHUTDOWN, value: "false" })
        .onConflictDoUpdate({ target: schema.meta.key, set: { value: "false" } })
        .run();
    });
    return toSnapshot({ exchanges, queues, bindings, delayed, recentIds, cleanShutdownRow: clean });
  }

  async readHistory(queue: string, range: { from: number; to: number; limit: number }): Promise<StoredHistory> {
    try {
      const rows = this.readRows.all(queue, range.from, range.to, range.limit);
      const floor = this.sqlite.query<{ f: number }, [string]>("SELECT history_floor AS f FROM queues WHERE name = ?1").get(queue)?.f ?? 0;
      const through = this.redeliveredThrough.get(queue) ?? 0;
      return { rows: rows.map((row) => toHistoryRow(row, through)), floor };
    } catch (error) {
      throw new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: `database read failed: ${describeDbError(error)}` });
    }
  }

  async ping(): Promise<void> {
    this.sqlite.query("select 1").get();
  }

  async readMessages(queue: string, range: ReadRange): Promise<StoredMessage[]> {
    const delayedAfter = Number.isFinite(range.delayedAfter) ? range.delayedAfter : Number.MAX_SAFE_INTEGER;
    let rows: MessageRow[];
    try {
      rows = this.readPage.all(queue, range.from, range.to, delayedAfter, range.limit);
    } catch (error) {
      throw new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: `database read failed: ${describeDbError(error)}` });
    }
    const through = this.redeliveredThrough.get(queue) ?? 0;
    return rows.map((row) => toStoredMessage(row, through));
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
    this.redeliveredThrough.delete(name);
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
    this.write(() =>
      this.db.transaction((tx) => {
        tx.delete(schema.messages).where(and(eq(schema.messages.queue, queue), eq(schema.messages.retained, 0))).run();
        tx.update(schema.queues).set({ messageCount: 0, messageBytes: 0 }).where(eq(schema.queues.name, queue)).run();
      }),
    );
  }

  async checkpoint(removals: Removals, lastSeqs: ReadonlyMap<string, number>, now: number, scope: CheckpointScope = "full", history?: HistoryWork): Promise<void> {
    this.commits.flushNow();
    if (scope === "full") {
      this.write(() => {
        this.db.delete(schema.recentIds).where(lte(schema.recentIds.until, now)).run();
      });
    }
    // [SEQ-1] Last seqs first: a crash between the chunked deletes below must not let seqs restart.
    this.write(() =>
      this.db.transaction((tx) => {
        for (const [name, lastSeq] of lastSeqs) {
          tx.update(schema.queues).set({ lastSeq }).where(eq(schema.queues.name, name)).run();
        }
      }),
    );
    await this.inChunks(removals, (queue, start, end) => {
      const gone = this.countRange.get(queue, start, end);
      this.db.delete(schema.messages).where(and(eq(schema.messages.queue, queue), between(schema.messages.seq, start, end), eq(schema.messages.retained, 0))).run();
      if (gone !== null && gone.n > 0) this.addCounts.run(-gone.n, -gone.b, queue);
    });
    // [HIST-2] Left after delivery: kept as history, no longer counted as waiting.
    await this.inChunks(history?.retains ?? new Map(), (queue, start, end) => {
      const kept = this.countRange.get(queue, start, end);
      if (kept === null || kept.n === 0) return;
      this.sqlite.run("UPDATE messages SET retained = 1 WHERE queue = ?1 AND seq BETWEEN ?2 AND ?3 AND retained = 0", [queue, start, end]);
      this.addCounts.run(-kept.n, -kept.b, queue);
      this.sqlite.run("UPDATE queues SET retained_bytes = retained_bytes + ?1 WHERE name = ?2", [kept.b, queue]);
    });
    if (removals.size > 0 || (history?.retains.size ?? 0) > 0) this.busy = true;
    if (scope === "full") {
      for (const [queue, retention] of history?.retention ?? []) await this.trimHistory(queue, retention);
      // Not while a backlog fills or drains: moving pages then competes with it on this thread,
      // and new rows reuse the free pages anyway.
      if (!this.busy) await this.giveSpaceBack();
      this.busy = false;
      this.write(() => this.sqlite.run("PRAGMA wal_checkpoint(PASSIVE)"));
    }
  }

  /**
   * Runs `step` on each chunk of at most SQLITE_DELETE_CHUNK_ROWS seqs of `ranges`, a transaction
   * each, yielding in between: a large backlog's removal never holds the event loop for long.
   */
  private async inChunks(ranges: Removals, step: (queue: string, start: number, end: number) => void): Promise<void> {
    for (const [queue, list] of ranges) {
      for (const [from, to] of list) {
        for (let start = from; start <= to; start += SQLITE_DELETE_CHUNK_ROWS) {
          const end = Math.min(to, start + SQLITE_DELETE_CHUNK_ROWS - 1);
          this.write(() => this.db.transaction(() => step(queue, start, end)));
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
  }

  /**
   * [HIST-2] Drops the oldest retained rows the retention rules no longer keep, a chunk per step,
   * and raises the history floor past them.
   */
  private async trimHistory(queue: string, retention: Retention): Promise<void> {
    const oldest = this.sqlite.query<{ seq: number; publishedAt: number; bytes: number }, [string, number]>(
      'SELECT seq, published_at AS "publishedAt", bytes FROM messages WHERE queue = ?1 AND retained = 1 ORDER BY seq LIMIT ?2',
    );
    for (;;) {
      const state = this.sqlite.query<{ b: number; f: number }, [string]>("SELECT retained_bytes AS b, history_floor AS f FROM queues WHERE name = ?1").get(queue);
      if (state === null) return;
      const chunk = oldest.all(queue, SQLITE_DELETE_CHUNK_ROWS);
      const cut = retentionCut(chunk, state.b, retention);
      const floor = Math.max(state.f, retention.keepAfter, cut.last);
      if (cut.count === 0 && floor === state.f) return;
      this.write(() =>
        this.db.transaction(() => {
          if (cut.count > 0) this.sqlite.run("DELETE FROM messages WHERE queue = ?1 AND retained = 1 AND seq <= ?2", [queue, cut.last]);
          this.sqlite.run("UPDATE queues SET retained_bytes = retained_bytes - ?1, history_floor = ?2 WHERE name = ?3", [cut.bytes, floor, queue]);
        }),
      );
      if (cut.count < chunk.length || chunk.length < SQLITE_DELETE_CHUNK_ROWS) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * [VACUUM-1] Free pages past SQLITE_VACUUM_MIN_FREE_PAGES go back to the file system, a few at a
   * time (each step is a short write in line with the others), so the file shrinks after a backlog drained.
   */
  private async giveSpaceBack(): Promise<void> {
    const free = () => this.sqlite.query<{ freelist_count: number }, []>("PRAGMA freelist_count").get()?.freelist_count ?? 0;
    for (let step = 0; step < SQLITE_VACUUM_MAX_STEPS && free() > SQLITE_VACUUM_MIN_FREE_PAGES; step++) {
      this.write(() => this.sqlite.run(`PRAGMA incremental_vacuum(${SQLITE_VACUUM_STEP_PAGES})`));
      await new Promise((resolve) => setImmediate(resolve));
    }
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
    this.busy = true;
    this.writeRows(rows);
  }

  private insertRows(rows: readonly StoredMessage[]): void {
    const counts = new Map<string, { n: number; b: number }>();
    for (const row of rows) {
      const m = row.message;
      const bytes = messageBytes(m);
      if (m.messageId !== undefined && row.dedupUntil !== undefined) {
        this.insertRecentId.run({ messageId: m.messageId, until: row.dedupUntil, id: m.id });
      }
      const headers = emptyHeaders(m.headers) ? "{}" : JSON.stringify(m.headers);
      this.insertMessage.run(row.queue, row.seq, m.id, m.exchange, m.routingKey, headers, m.body, m.timestamp, m.messageId ?? null, row.expiresAt ?? null, row.deliverAt ?? null, row.redelivered === true ? 1 : 0, bytes);
      const count = counts.get(row.queue);
      if (count === undefined) counts.set(row.queue, { n: 1, b: bytes });
      else {
        count.n++;
        count.b += bytes;
      }
    }
    for (const [queue, { n, b }] of counts) this.addCounts.run(n, b, queue);
  }
}

const emptyHeaders = (headers: object): boolean => {
  for (const _ in headers) return false;
  return true;
};
