/**
 * One broker per database, until clustering exists. [LOCK-1]
 *
 * At start the broker takes a session-level advisory lock; a second broker finds it held and
 * refuses to start. A session lock dies with its connection, though: after Postgres restarts, the
 * broker takes it again before its next write, and every write also takes the transaction-level
 * lock on the same key (the fence). The store writes only over the connection that holds the
 * session lock, and a session always gets a lock it already holds, so the fence costs the holder
 * nothing; a broker that lost the lock to another one cannot write, even before it notices.
 */
import { sql } from "drizzle-orm";
import type { BunSQLDatabase } from "drizzle-orm/bun-sql";
import { BrokerFailure, ErrorCodes } from "../../core/errors.ts";

/** "pubsub" in ASCII. Advisory locks are per database: brokers on other databases never meet it. */
export const LOCK_KEY = 0x707562737562;

/** Takes the session-level lock if no other session holds it. Re-entrant for the session holding it. */
export async function tryLock(db: BunSQLDatabase<Record<string, unknown>>): Promise<boolean> {
  const [row] = await db.execute<{ locked: boolean }>(sql`select pg_try_advisory_lock(${sql.raw(String(LOCK_KEY))}) as locked`);
  return row?.locked === true;
}

/**
 * Gives the lock back before the connection closes [LOCK-2]: the server releases a session lock
 * only once its backend has exited, a moment after the client's close resolves, so a broker
 * restarted at once (or a store reopened) could find its own lock still held.
 */
export async function unlock(db: BunSQLDatabase<Record<string, unknown>>): Promise<void> {
  await db.execute(sql`select pg_advisory_unlock(${sql.raw(String(LOCK_KEY))})`);
}

/** A query whose one row says whether this transaction may write (`held`). */
export const fence = () => sql`select pg_try_advisory_xact_lock(${sql.raw(String(LOCK_KEY))}) as held`;

export const lockLost = (database: string): BrokerFailure => {
  const failure = new BrokerFailure({
    code: ErrorCodes.STORE_UNAVAILABLE,
    message: `another pubsub broker holds the lock on database "${database}"; this one no longer writes to it`,
  });
  lost.add(failure);
  return failure;
};
const lost = new WeakSet<object>();
/** [CLUSTER-1] The failure says another broker holds the lock (not that the database is away): a cluster node stops leading on it. */
export const isLockLost = (error: unknown): boolean => typeof error === "object" && error !== null && lost.has(error);
