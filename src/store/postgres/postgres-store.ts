import { SQL } from "bun";
import { and, asc, eq, lte, sql } from "drizzle-orm";
import { drizzle, type BunSQLDatabase } from "drizzle-orm/bun-sql";
import type { PgDialect, PgSession } from "drizzle-orm/pg-core";
import { BrokerFailure, ErrorCodes } from "../../core/errors.ts";
import type { Binding } from "../../core/exchanges/types.ts";
import { canonicalArgs } from "../../core/exchanges/types.ts";
import { describeDbError } from "../db-error.ts";
import { GroupCommit } from "../group-commit.ts";
import {
  POSTGRES_CONNECT_TIMEOUT_SECONDS,
  POSTGRES_LOCK_RETRY_MS,
  POSTGRES_LOCK_WAIT_MS,
  POSTGRES_DELETE_BATCH_ROWS,
  POSTGRES_MAX_BATCH_BYTES,
  POSTGRES_MAX_BATCH_ROWS,
  POSTGRES_ROW_OVERHEAD_BYTES,
  POSTGRES_WRITE_TIMEOUT_MS,
} from "../limits.ts";
import { postgresMigrations } from "../migrations.gen.ts";
import { toMigrationMeta } from "../migrations.ts";
import { CLEAN_SHUTDOWN, MESSAGE_COLUMNS, QUEUE_ROWS, toHistoryRow, toSnapshot, toStoredMessage, wasClean, type MessageRow, type QueueRow } from "../snapshot-rows.ts";
import { retentionCut, type RetainedRow } from "../retention.ts";
import type { CheckpointScope, DeliveryCounts, HistoryWork, ReadRange, Retention, StoredHistory, Removals, Snapshot, Store, StoredExchange, StoredMessage, StoredQueue } from "../store.ts";
import { deleteRanges, insertMessages, markRedelivered, retainRanges, setDeliveries, setLastSeqs } from "./batch-statements.ts";
import { isConnectionLoss, oneLine } from "./connection-errors.ts";
import { LOCK_KEY, fence, lockLost, tryLock, unlock } from "./database-lock.ts";
import { removalBatches } from "./removal-batches.ts";
import * as schema from "./schema.ts";
import { describeTarget, parseDatabaseUrl, type PostgresTarget } from "./target.ts";

export type PostgresOptions = {
  migrate?: boolean;
  log?: (line: string) => void;
  /** How long a write may wait for the database before its caller is answered STORE_UNAVAILABLE. */
  writeTimeoutMs?: number;
  /** How long a held lock is tried again before open gives up [LOCK-3]. */
  lockWaitMs?: number;
  /**
   * [CLUSTER-1] A cluster node waits for the lock for as long as it takes (it is a follower until
   * then), trying every `pollMs`, and rides out Postgres going away meanwhile.
   */
  waitForLock?: { readonly pollMs: number };
};

type Database = BunSQLDatabase<typeof schema>;
type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

/**
 * The Postgres backend: drizzle on Bun's built-in client, over one connection owned by this store.
 *
 * One connection, because every write goes through one line anyway (call order, group commit with
 * one batch in flight), and because that connection holds the advisory lock that keeps a second
 * broker off the database [LOCK-1]: a write runs only in the session holding the lock, or in one
 * that proves no other session holds it (the fence, see database-lock.ts).
 *
 * While Postgres is down every write fails fast (connection refused) or, at worst, its caller is
 * answered after POSTGRES_WRITE_TIMEOUT_MS; the client reconnects by itself at the next write after it is back.
 */
export class PostgresStore implements Store {
  private readonly db: Database;
  private readonly lane: GroupCommit<StoredMessage>;
  /** Whether the current connection's session holds the advisory lock; a closed connection loses it. */
  private sessionLocked = false;
  private lostLockReported = false;
  /** Set while writes fail for want of a connection; logged once each way. */
  private unreachable = false;
  /** [REDELIVERED-1] Per queue, the seq up to which stored rows were there at a crash (from load()). */
  private readonly redeliveredThrough = new Map<string, number>();

  private constructor(
    private readonly client: SQL,
    private readonly reader: SQL,
    private readonly target: PostgresTarget,
    private readonly log: (line: string) => void,
    writeTimeoutMs: number,
  ) {
    this.db = drizzle({ client, schema });
    this.lane = new GroupCommit((rows) => this.watched(() => this.insert(rows)), {
      maxRows: POSTGRES_MAX_BATCH_ROWS,
      maxBytes: POSTGRES_MAX_BATCH_BYTES,
      sizeOf: (row) => row.message.body.length + row.message.routingKey.length + POSTGRES_ROW_OVERHEAD_BYTES,
      timeoutMs: writeTimeoutMs,
    });
  }

  /**
   * Connects, takes the database's advisory lock and applies the embedded migrations. Throws a
   * one-line error naming host and port when Postgres cannot be reached, or when another broker
   * holds the lock.
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const target = parseDatabaseUrl(url);
    let store: PostgresStore | undefined;
    const client = new SQL({
      url,
      // Bun lets PGDATABASE override the URL's database; the URL is what the operator configured.
      database: target.database,
      max: 1,
      idleTimeout: 0,
      maxLifetime: 0,
      connectionTimeout: POSTGRES_CONNECT_TIMEOUT_SECONDS,
      onclose: () => {
        if (store) store.sessionLocked = false;
      },
    });
    // [PAGE-1] Reads (pages, replays) on a connection of their own: they never wait behind a checkpoint's writes.
    const reader = new SQL({
      url,
      database: target.database,
      // Every read is an index range scan that stops at its LIMIT. Statistics taken while the table
      // was small (a backlog filled since) made the planner read the whole range and sort it
      // instead (a bitmap scan: 75 ms instead of 0.7 ms for 512 rows of 100,000).
      connection: { enable_seqscan: "off", enable_bitmapscan: "off" },
      max: 1,
      idleTimeout: 0,
      maxLifetime: 0,
      connectionTimeout: POSTGRES_CONNECT_TIMEOUT_SECONDS,
    });
    store = new PostgresStore(client, reader, target, options.log ?? (() => undefined), options.writeTimeoutMs ?? POSTGRES_WRITE_TIMEOUT_MS);
    try {
      await store.start(options.migrate ?? true, options.waitForLock === undefined ? (options.lockWaitMs ?? POSTGRES_LOCK_WAIT_MS) : Infinity, options.waitForLock?.pollMs);
    } catch (error) {
      await client.close({ timeout: 0 }).catch(() => undefined);
      await reader.close({ timeout: 0 }).catch(() => undefined);
      throw error;
    }
    return store;
  }

  private async start(migrate: boolean, lockWaitMs: number, pollMs = POSTGRES_LOCK_RETRY_MS): Promise<void> {
    const where = `${this.target.host}:${this.target.port}`;
    const deadline = performance.now() + lockWaitMs;
    let unreachable = false;
    for (;;) {
      let locked: boolean;
      try {
        locked = await tryLock(this.db);
        if (unreachable) this.log(`Postgres at ${where} answers again`);
        unreachable = false;
      } catch (error) {
        const problem = `cannot connect to Postgres at ${where} (database "${this.target.database}"): ${oneLine(describeDbError(error))}`;
        if (Number.isFinite(lockWaitMs)) throw new Error(problem);
        // A follower outlives a Postgres restart: it keeps waiting for the lock.
        if (!unreachable) this.log(`${problem}; trying again`);
        unreachable = true;
        await Bun.sleep(pollMs);
        continue;
      }
      if (locked) break;
      // [LOCK-3] The holder may be a broker killed a moment ago whose backend has not exited yet.
      if (performance.now() >= deadline) {
        throw new Error(
          `database "${this.target.database}" at ${where} is in use by another pubsub broker ` +
            `(it holds advisory lock ${LOCK_KEY}, still after ${lockWaitMs / 1000} s); stop that broker or point DATABASE_URL at another database`,
        );
      }
      await Bun.sleep(pollMs);
    }
    this.sessionLocked = true;
    if (!migrate) return;
    // drizzle's own migrator, fed the migrations embedded in the executable instead of files.
    const internals = this.db as unknown as { dialect: PgDialect; session: PgSession };
    try {
      await internals.dialect.migrate(toMigrationMeta(postgresMigrations), internals.session, { migrationsFolder: "" });
    } catch (error) {
      throw new Error(`migrating Postgres database "${this.target.database}" at ${where} failed: ${oneLine(describeDbError(error))}`);
    }
  }

  /** Where this store lives, for the start-up line: never the password. */
  get location(): string {
    return `postgres ${describeTarget(this.target)}`;
  }

  load(now: number): Promise<Snapshot> {
    return this.lane.exclusive(() =>
      this.watched(async () => {
        const [clean] = await this.db.select().from(schema.meta).where(eq(schema.meta.key, CLEAN_SHUTDOWN));
        if (!wasClean(clean)) {
          // [REDELIVERED-1] After a crash every stored row may have been delivered: recorded once.
          await this.fenced((tx) =>
            tx.execute(
              sql.raw(
                "update queues set redelivered_through = greatest(redelivered_through, last_seq, coalesce((select max(seq) from messages where queue = queues.name), 0))",
              ),
            ),
          );
        }
        const queues = await this.client.unsafe<QueueRow[]>(QUEUE_ROWS);
        this.redeliveredThrough.clear();
        for (const q of queues) this.redeliveredThrough.set(q.name, Number(q.redeliveredThrough));
        const rows = {
          exchanges: await this.db.select().from(schema.exchanges),
          queues: queues.map((q) => ({
            ...q,
            lastSeq: Number(q.lastSeq),
            messageCount: Number(q.messageCount),
            messageBytes: Number(q.messageBytes),
            redeliveredThrough: Number(q.redeliveredThrough),
            historyFloor: Number(q.historyFloor),
            retainedBytes: Number(q.retainedBytes),
            topSeq: q.topSeq === null ? null : Number(q.topSeq),
            createdAt: Number(q.createdAt),
            firstSeq: q.firstSeq === null ? null : Number(q.firstSeq),
            maxSeq: q.maxSeq === null ? null : Number(q.maxSeq),
          })),
          bindings: await this.db.select().from(schema.bindings),
          // Byte order, as SQLite sorts: the snapshot must not depend on the database's collation.
          delayed: (
            await this.client.unsafe<MessageRow[]>(`select ${MESSAGE_COLUMNS} from messages where deliver_at > $1 and retained = 0 order by queue collate "C", seq`, [now])
          ).map(numericRow),
          // Expiry order: the broker keeps its window of recent ids in that order.
          recentIds: await this.db.select().from(schema.recentIds).orderBy(asc(schema.recentIds.until)),
        };
        // Running from here on: a crash leaves the marker "false".
        await this.fenced(async (tx) => {
          await tx
            .insert(schema.meta)
            .values({ key: CLEAN_SHUTDOWN, value: "false" })
            .onConflictDoUpdate({ target: schema.meta.key, set: { value: "false" } });
        });
        return toSnapshot({ ...rows, cleanShutdownRow: clean });
      }),
    );
  }

  /**
   * [CLUSTER-1] Resolves once a fenced transaction proved this store still holds the database's
   * lock (taking it again after a reconnect, if it is free); rejects with lockLost's failure when
   * another broker holds it, or with the database's error when it does not answer.
   */
  async assertOwner(): Promise<void> {
    await this.write(async () => undefined);
  }

  async ping(): Promise<void> {
    await this.watched(() => this.reader.unsafe("select 1"));
  }

  async readMessages(queue: string, range: ReadRange): Promise<StoredMessage[]> {
    const delayedAfter = Number.isFinite(range.delayedAfter) ? range.delayedAfter : Number.MAX_SAFE_INTEGER;
    let rows: MessageRow[];
    try {
      rows = await this.watched(() =>
        this.reader.unsafe<MessageRow[]>(
          `select ${MESSAGE_COLUMNS} from messages where queue = $1 and seq >= $2 and seq <= $3 and retained = 0 and (deliver_at is null or deliver_at <= $4) order by seq limit $5`,
          [queue, range.from, range.to, delayedAfter, range.limit],
        ),
      );
    } catch (error) {
      throw new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: `database read failed: ${describeDbError(error)}` });
    }
    const through = this.redeliveredThrough.get(queue) ?? 0;
    return rows.map((row) => toStoredMessage(numericRow(row), through));
  }

  async readHistory(queue: string, range: { from: number; to: number; limit: number }): Promise<StoredHistory> {
    try {
      const [rows, floors] = await this.watched(async () => [
        await this.reader.unsafe<MessageRow[]>(`select ${MESSAGE_COLUMNS} from messages where queue = $1 and seq >= $2 and seq <= $3 order by seq limit $4`, [
          queue,
          range.from,
          range.to,
          range.limit,
        ]),
        await this.reader.unsafe<{ f: string | number }[]>("select history_floor as f from queues where name = $1", [queue]),
      ]);
      const through = this.redeliveredThrough.get(queue) ?? 0;
      return { rows: rows.map((row) => toHistoryRow(numericRow(row), through)), floor: Number(floors[0]?.f ?? 0) };
    } catch (error) {
      throw new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: `database read failed: ${describeDbError(error)}` });
    }
  }

  putExchange(exchange: StoredExchange): Promise<void> {
    return this.write(async (tx) => {
      await tx
        .insert(schema.exchanges)
        .values({ name: exchange.name, kind: exchange.kind, createdAt: Date.now() })
        .onConflictDoNothing();
    });
  }

  deleteExchange(name: string): Promise<void> {
    return this.write(async (tx) => {
      await tx.delete(schema.bindings).where(eq(schema.bindings.exchange, name));
      await tx.delete(schema.exchanges).where(eq(schema.exchanges.name, name));
    });
  }

  putQueue(queue: StoredQueue): Promise<void> {
    return this.write(async (tx) => {
      await tx
        .insert(schema.queues)
        .values({ name: queue.name, lastSeq: queue.lastSeq, args: JSON.stringify(queue.args), createdAt: Date.now() })
        .onConflictDoNothing();
    });
  }

  deleteQueue(name: string): Promise<void> {
    this.redeliveredThrough.delete(name);
    return this.write(async (tx) => {
      await tx.delete(schema.messages).where(eq(schema.messages.queue, name));
      await tx.delete(schema.bindings).where(eq(schema.bindings.queue, name));
      await tx.delete(schema.queues).where(eq(schema.queues.name, name));
    });
  }

  putBinding(binding: Binding): Promise<void> {
    const problem = unstorableText({ "binding key": binding.key });
    if (problem) return Promise.reject(problem);
    return this.write(async (tx) => {
      await tx
        .insert(schema.bindings)
        .values({ exchange: binding.exchange, queue: binding.queue, key: binding.key, args: canonicalArgs(binding.args) })
        .onConflictDoNothing();
    });
  }

  deleteBinding(binding: Binding): Promise<void> {
    const b = schema.bindings;
    const args = canonicalArgs(binding.args);
    return this.write(async (tx) => {
      await tx
        .delete(b)
        .where(and(eq(b.exchange, binding.exchange), eq(b.queue, binding.queue), eq(b.key, binding.key), eq(b.args, args)));
    });
  }

  append(messages: readonly StoredMessage[]): Promise<void> {
    // Refused alone, before it joins a batch: one bad row must not fail its neighbours' publishes.
    for (const row of messages) {
      const m = row.message;
      const problem = unstorableText({ "routing key": m.routingKey, body: m.body, "message id": m.messageId ?? "" });
      if (problem) return Promise.reject(problem);
    }
    return this.lane.add(messages);
  }

  recordDeliveries(counts: DeliveryCounts): Promise<void> {
    if (counts.size === 0) return Promise.resolve();
    return this.write(async (tx) => {
      await tx.execute(setDeliveries(counts));
    });
  }

  purge(queue: string): Promise<void> {
    return this.write(async (tx) => {
      await tx.delete(schema.messages).where(and(eq(schema.messages.queue, queue), eq(schema.messages.retained, 0)));
      await tx.update(schema.queues).set({ messageCount: 0, messageBytes: 0 }).where(eq(schema.queues.name, queue));
    });
  }

  /**
   * Each delete batch takes its own turn in the write line, so appends commit in between rather
   * than wait for a whole backlog's removal; they never touch the delivered seqs removed here.
   */
  async checkpoint(removals: Removals, lastSeqs: ReadonlyMap<string, number>, now: number, scope: CheckpointScope = "full", history?: HistoryWork): Promise<void> {
    // [SEQ-1] Last seqs first: a crash between the batched deletes below must not let seqs restart.
    if (scope === "full" || lastSeqs.size > 0) {
      await this.write(async (tx) => {
        if (scope === "full") await tx.delete(schema.recentIds).where(lte(schema.recentIds.until, now));
        if (lastSeqs.size > 0) await tx.execute(setLastSeqs(lastSeqs));
      });
    }
    for (const batch of removalBatches(removals, POSTGRES_DELETE_BATCH_ROWS)) {
      await this.write((tx) => tx.execute(deleteRanges(batch)));
    }
    // [HIST-2] Left after delivery: kept as history, no longer counted as waiting.
    for (const batch of removalBatches(history?.retains ?? new Map(), POSTGRES_DELETE_BATCH_ROWS)) {
      await this.write((tx) => tx.execute(retainRanges(batch)));
    }
    if (scope === "full") for (const [queue, retention] of history?.retention ?? []) await this.trimHistory(queue, retention);
  }

  /** [HIST-2] Drops the oldest retained rows retention no longer keeps, a batch per write, and raises the history floor past them. */
  private async trimHistory(queue: string, retention: Retention): Promise<void> {
    for (;;) {
      const done = await this.write(async (tx) => {
        const [state] = await tx.execute<{ b: string | number; f: string | number }>(
          sql`select retained_bytes as b, history_floor as f from queues where name = ${queue}`,
        );
        if (state === undefined) return true;
        const chunk = (
          await tx.execute<RetainedRow>(
            sql`select seq, published_at as "publishedAt", bytes from messages where queue = ${queue} and retained = 1 order by seq limit ${POSTGRES_DELETE_BATCH_ROWS}`,
          )
        ).map((r) => ({ seq: Number(r.seq), publishedAt: Number(r.publishedAt), bytes: Number(r.bytes) }));
        const cut = retentionCut(chunk, Number(state.b), retention);
        const floor = Math.max(Number(state.f), retention.keepAfter, cut.last);
        if (cut.count === 0 && floor === Number(state.f)) return true;
        if (cut.count > 0) await tx.execute(sql`delete from messages where queue = ${queue} and retained = 1 and seq <= ${cut.last}`);
        await tx.execute(sql`update queues set retained_bytes = retained_bytes - ${cut.bytes}, history_floor = ${floor} where name = ${queue}`);
        return cut.count < chunk.length || chunk.length < POSTGRES_DELETE_BATCH_ROWS;
      });
      if (done) return;
    }
  }

  async close(inFlight: ReadonlyMap<string, readonly number[]>): Promise<void> {
    try {
      await this.write(async (tx) => {
        if ([...inFlight.values()].some((seqs) => seqs.length > 0)) await tx.execute(markRedelivered(inFlight));
        await tx.update(schema.meta).set({ value: "true" }).where(eq(schema.meta.key, CLEAN_SHUTDOWN));
      });
    } finally {
      await unlock(this.db).catch(() => undefined); // [LOCK-2]; closing would release it too, later
      await this.client.close({ timeout: 5 });
      await this.reader.close({ timeout: 5 }).catch(() => undefined);
    }
  }

  // ---- writing ---------------------------------------------------------------------------------

  /** A write other than an append: its own transaction, in line with the appends. */
  private write<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.lane.exclusive(() => this.watched(() => this.fenced(work)));
  }

  /** A transaction that first proves this session may write (the advisory lock's fence). */
  private async fenced<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    await this.holdLock();
    return await this.db.transaction(async (tx) => {
      const [row] = await tx.execute<{ held: boolean }>(fence());
      if (row?.held !== true) throw this.lockLost();
      return await work(tx);
    });
  }

  /** One statement for the whole batch; it writes nothing unless the fence holds. */
  private async insert(rows: readonly StoredMessage[]): Promise<void> {
    await this.holdLock();
    const result = (await this.db.execute(insertMessages(rows))) as unknown as { inserted: number | string }[];
    if (Number(result[0]?.inserted) !== rows.length) throw this.lockLost();
  }

  /** In a new session (after a reconnect), takes the advisory lock again before the first write. */
  private async holdLock(): Promise<void> {
    if (this.sessionLocked) return;
    if (!(await tryLock(this.db))) throw this.lockLost();
    this.sessionLocked = true;
    if (this.lostLockReported) this.log(`took the lock on database "${this.target.database}" again: writes resume`);
    this.lostLockReported = false;
  }

  private lockLost(): BrokerFailure {
    this.sessionLocked = false;
    if (!this.lostLockReported) {
      this.log(`another process holds the lock on database "${this.target.database}": refusing to write until it is released`);
      this.lostLockReported = true;
    }
    return lockLost(this.target.database);
  }

  /** Runs a database step, and says so in the log when the database goes away or comes back. */
  private async watched<R>(step: () => Promise<R>): Promise<R> {
    const where = `${this.target.host}:${this.target.port}`;
    try {
      const result = await step();
      if (this.unreachable) this.log(`Postgres at ${where} answers again: durable writes resume`);
      this.unreachable = false;
      return result;
    } catch (error) {
      if (!this.unreachable && isConnectionLoss(error)) {
        this.unreachable = true;
        this.log(`Postgres at ${where} is unreachable (${oneLine(describeDbError(error))}): durable writes are refused until it is back`);
      }
      throw error;
    }
  }
}

/** Postgres text cannot hold U+0000 (SQLite can): such a value is refused (VALIDATION), not stored. */
function unstorableText(fields: Record<string, string>): BrokerFailure | undefined {
  for (const [what, value] of Object.entries(fields)) {
    if (value.includes("\u0000")) {
      return new BrokerFailure({ code: ErrorCodes.VALIDATION, message: `${what} contains U+0000, which the database cannot store` });
    }
  }
  return undefined;
}

/** int8 columns may come back as strings from a raw query: as numbers, like drizzle's mode "number". */
function numericRow(row: MessageRow): MessageRow {
  return {
    ...row,
    seq: Number(row.seq),
    publishedAt: Number(row.publishedAt),
    expiresAt: row.expiresAt === null ? null : Number(row.expiresAt),
    deliverAt: row.deliverAt === null ? null : Number(row.deliverAt),
    redelivered: Number(row.redelivered),
    deliveries: Number(row.deliveries),
    bytes: Number(row.bytes),
  };
}
