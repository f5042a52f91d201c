/**
 * [MIGRATE-1] A database made by an older release upgrades in place: the newest migrations add to
 * it (drizzle-kit generated ALTERs, not a reset), and what it held loads as before.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { drizzle as drizzleSqlite } from "drizzle-orm/bun-sqlite";
import { drizzle as drizzlePostgres } from "drizzle-orm/bun-sql";
import type { PgDialect, PgSession } from "drizzle-orm/pg-core";
import type { SQLiteSession, SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { join } from "node:path";
import { postgresMigrations, sqliteMigrations } from "../../src/store/migrations.gen.ts";
import { toMigrationMeta } from "../../src/store/migrations.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { createDatabase, type TestDatabase } from "../postgres/databases.ts";
import { removeDir, tempDir } from "../support/broker-process.ts";

/** The rows a database of the release before delivery counts and recent-id message ids holds. */
const OLD_ROWS = [
  `insert into queues (name, last_seq, args, created_at) values ('jobs', 2, '{}', 1)`,
  `insert into messages (queue, seq, id, exchange, routing_key, headers, body, published_at, message_id, redelivered)
     values ('jobs', 2, 'id-2', '', 'jobs', '{"a":1}', '"work"', 5, 'm-2', 1)`,
  `insert into recent_ids (message_id, until) values ('m-2', 99999999999999)`,
];

const expectUpgraded = async (store: Store) => {
  const snapshot = await store.load(0);
  expect(snapshot.queues.map((q) => [q.name, q.lastSeq])).toEqual([["jobs", 2]]);
  // [PAGE-1] The counters the migration fills in from the rows already there.
  expect(snapshot.queues[0]?.stored).toEqual({ count: 1, bytes: '"work"'.length + "jobs".length + "id-2".length + '{"a":1}'.length + 64, firstSeq: 2, lastSeq: 2 });
  expect(await store.readMessages("jobs", { from: 0, to: 10, limit: 10, delayedAfter: Infinity })).toEqual([
    {
      queue: "jobs",
      seq: 2,
      message: { id: "id-2", exchange: "", routingKey: "jobs", headers: { a: 1 }, body: '"work"', timestamp: 5, messageId: "m-2" },
      expiresAt: undefined,
      deliverAt: undefined,
      redelivered: true,
      deliveries: 0,
    },
  ]);
  // Stored before ids were kept: a duplicate of it is still a duplicate, answered with "".
  expect(snapshot.recentIds).toEqual([{ messageId: "m-2", until: 99999999999999, id: "" }]);
};

describe("[MIGRATE-1] upgrading in place", () => {
  test("sqlite: the database of the previous release keeps its messages and recent ids", async () => {
    expect(sqliteMigrations.length).toBeGreaterThan(2);
    const dir = tempDir("pubsub-migrate-");
    try {
      const path = join(dir, "broker.db");
      const old = new Database(path, { create: true, strict: true });
      const db = drizzleSqlite({ client: old }) as unknown as { dialect: SQLiteSyncDialect; session: SQLiteSession<"sync", void, Record<string, never>, never> };
      db.dialect.migrate(toMigrationMeta(sqliteMigrations.slice(0, 2)), db.session, undefined);
      for (const statement of OLD_ROWS) old.run(statement);
      old.close();

      const store = SqliteStore.open(path);
      await expectUpgraded(store);
      await store.close(new Map());
    } finally {
      removeDir(dir);
    }
  });

  describe("postgres", () => {
    let database: TestDatabase | undefined;
    afterAll(async () => {
      await database?.drop();
    });

    test("the database of the previous release keeps its messages and recent ids", async () => {
      expect(postgresMigrations.length).toBeGreaterThan(1);
      database = await createDatabase();
      const client = new SQL({ url: database.url, max: 1 });
      const db = drizzlePostgres({ client }) as unknown as { dialect: PgDialect; session: PgSession };
      await db.dialect.migrate(toMigrationMeta(postgresMigrations.slice(0, 1)), db.session, { migrationsFolder: "" });
      for (const statement of OLD_ROWS) await client.unsafe(statement);
      await client.close();

      const store = await PostgresStore.open(database.url);
      await expectUpgraded(store);
      await store.close(new Map());
    });
  });
});
