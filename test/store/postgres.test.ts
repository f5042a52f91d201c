/**
 * The Postgres store: the shared conformance suite, then what only Postgres has (the advisory
 * lock, reconnecting, text that cannot hold U+0000). This file gets its own fresh database.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { BrokerFailure, ErrorCodes } from "../../src/core/errors.ts";
import { LOCK_KEY } from "../../src/store/postgres/database-lock.ts";
import { PostgresStore, type PostgresOptions } from "../../src/store/postgres/postgres-store.ts";
import type { Store } from "../../src/store/store.ts";
import { createDatabase, type TestDatabase } from "../postgres/databases.ts";
import { sparePort } from "../postgres/instance.ts";
import { until } from "../support/until.ts";
import { storeConformance, stored } from "./conformance.ts";

/** Every stored message of a queue, in one read. */
const EVERYTHING = { from: 0, to: Number.MAX_SAFE_INTEGER, limit: 1_000_000, delayedAfter: Infinity } as const;

let database: TestDatabase;
/** A second session on the test database, playing "another process". */
let other: SQL;

beforeAll(async () => {
  database = await createDatabase();
  other = new SQL({ url: database.url, max: 1 });
});

afterAll(async () => {
  await other.close();
  await database.drop();
});

/** Empties the database completely, migrations included, so every test starts from nothing. */
async function wipe(): Promise<void> {
  await other.unsafe("drop schema if exists public cascade; drop schema if exists drizzle cascade; create schema public");
}

/** Ends the session holding the broker's advisory lock on this test's database, and waits until it is gone. */
async function killLockHolder(): Promise<void> {
  const killed = await other.unsafe(`
    select pg_terminate_backend(pid, 5000) as done from pg_locks
    where locktype = 'advisory' and granted and pid <> pg_backend_pid()
      and database = (select oid from pg_database where datname = current_database())`);
  expect(killed.length).toBe(1);
}

const opened: PostgresStore[] = [];
async function openStore(options: PostgresOptions = {}): Promise<PostgresStore> {
  const store = await PostgresStore.open(database.url, options);
  opened.push(store);
  return store;
}
async function closeAll(): Promise<void> {
  for (const store of opened.splice(0)) await store.close(new Map()).catch(() => undefined);
}

describe("postgres store", () => {
  storeConformance(async () => {
    await wipe();
    return { store: await openStore(), reopen: () => openStore(), cleanup: closeAll };
  });
});

describe("postgres store, Postgres only", () => {
  afterEach(closeAll);

  test("[LOCK-1] a second store on the same database is refused while the first one runs, and admitted after it closed", async () => {
    await wipe();
    const first = await openStore();
    // No wait for the lock [LOCK-3]: held by a live store, it stays held.
    const refused = await PostgresStore.open(database.url, { lockWaitMs: 0 }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toContain(`database "${database.name}" at 127.0.0.1:5432 is in use by another pubsub broker`);
    await first.close(new Map());
    opened.length = 0;
    const second = await openStore();
    await second.append([stored("q", 1)]);
  });

  test("[LOCK-2] the lock is free the moment a store's close resolves, so a reopen at once gets it (30 times in a row)", async () => {
    await wipe();
    const heldAfterClose: number[] = [];
    for (let i = 0; i < 30; i++) {
      const store = await PostgresStore.open(database.url);
      await store.close(new Map());
      // The moment close resolves, no session may still hold the lock (before the fix the
      // server released it only once the closed backend had exited, a little later).
      const [row] = await other.unsafe(`
        select count(*)::int as held from pg_locks
        where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`);
      if (row.held > 0) heldAfterClose.push(i);
    }
    expect(heldAfterClose).toEqual([]);
  });

  test("unreachable Postgres: open fails at once with one line naming host and port", async () => {
    const port = sparePort();
    const started = performance.now();
    const error = await PostgresStore.open(`postgres://postgres@127.0.0.1:${port}/nowhere`).catch((e: Error) => e);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((error as Error).message).toStartWith(`cannot connect to Postgres at 127.0.0.1:${port}`);
    expect((error as Error).message).not.toContain("\n");
  });

  test("a DATABASE_URL for another engine is refused rather than silently used", async () => {
    const error = await PostgresStore.open("mysql://root@127.0.0.1/x").catch((e: Error) => e);
    expect((error as Error).message).toContain("must start with postgres://");
  });

  test("a value with U+0000 is refused alone (VALIDATION); the appends batched with it are stored", async () => {
    await wipe();
    const store = await openStore();
    const bad = stored("q", 2);
    const results = await Promise.allSettled([
      store.append([stored("q", 1)]),
      store.append([{ ...bad, message: { ...bad.message, routingKey: "a\u0000b" } }]),
      store.append([stored("q", 3)]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const reason = (results[1] as PromiseRejectedResult).reason as BrokerFailure;
    expect(reason.error.code).toBe(ErrorCodes.VALIDATION);
    expect((await store.readMessages("q", EVERYTHING)).map((m) => m.seq)).toEqual([1, 3]);
  });

  test("[LOCK-1] a store whose connection dropped while another process took the lock cannot write; it resumes once the lock is free", async () => {
    await wipe();
    const lines: string[] = [];
    const store = await openStore({ log: (line) => lines.push(line) });
    await store.append([stored("q", 1)]);
    // Kill the store's session (its lock dies with it) and take the lock from another session.
    await killLockHolder();
    const [{ locked }] = await other.unsafe(`select pg_try_advisory_lock(${LOCK_KEY}) as locked`);
    expect(locked).toBe(true);

    const refused = await until(async () => {
      const error = await store.append([stored("q", 2)]).then(() => undefined, (e: BrokerFailure) => e);
      return error?.message.includes("holds the lock") ? error : undefined;
    });
    expect(refused.error.code).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect((await store.putQueue({ name: "x", lastSeq: 0, args: {} as never }).catch((e: BrokerFailure) => e))).toBeInstanceOf(BrokerFailure);
    expect(lines.some((l) => l.includes("another process holds the lock"))).toBe(true);

    await other.unsafe(`select pg_advisory_unlock(${LOCK_KEY})`);
    await store.append([stored("q", 3)]);
    expect((await store.readMessages("q", EVERYTHING)).map((m) => m.seq)).toEqual([1, 3]);
    expect(lines.some((l) => l.includes("took the lock on database"))).toBe(true);
  });

  test("a write the database does not answer in time is answered STORE_UNAVAILABLE; later writes wait their turn and succeed", async () => {
    await wipe();
    const store = await openStore({ writeTimeoutMs: 300 });
    await store.append([stored("q", 1)]);
    const blocker = await other.reserve();
    try {
      await blocker.unsafe("begin");
      await blocker.unsafe("lock table messages in access exclusive mode");
      const started = performance.now();
      const late = await store.append([stored("q", 2)]).catch((e: BrokerFailure) => e);
      const elapsed = performance.now() - started;
      expect((late as BrokerFailure).error.code).toBe(ErrorCodes.STORE_UNAVAILABLE);
      expect((late as BrokerFailure).message).toContain("did not answer");
      expect(elapsed).toBeLessThan(1_000);
      const next = store.append([stored("q", 3)]);
      await blocker.unsafe("commit");
      await next;
    } finally {
      blocker.release();
    }
    // The late write kept its place in line: it was stored after all, before seq 3.
    expect((await store.readMessages("q", EVERYTHING)).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  test("after its connection is killed the store reconnects by itself", async () => {
    await wipe();
    const store: Store = await openStore();
    await store.append([stored("q", 1)]);
    await killLockHolder();
    await until(() => store.append([stored("q", 2)]).then(() => true, () => false));
    expect((await store.readMessages("q", EVERYTHING)).map((m) => m.seq)).toEqual([1, 2]);
  });
});
