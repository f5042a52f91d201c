import { mkdirSync } from "node:fs";
import type { Config } from "../config.ts";
import { SqliteStore } from "./sqlite/sqlite-store.ts";
import type { Store } from "./store.ts";
import { LOCK_POLL_MS } from "../cluster/limits.ts";

/** The configured backend: Postgres when DATABASE_URL is set (no SQLite file is created then), SQLite otherwise. */
export async function openStore(config: Config, log: (line: string) => void): Promise<{ store: Store; location: string; assertOwner?: () => Promise<void> }> {
  if (config.databaseUrl !== undefined) {
    // Loaded only when used: SQLite users do not pay for the Postgres driver at start-up.
    const { PostgresStore } = await import("./postgres/postgres-store.ts");
    // [CLUSTER-1] A cluster node waits for the lock; it follows the leader meanwhile.
    const waitForLock = config.cluster === undefined ? undefined : { pollMs: LOCK_POLL_MS };
    const store = await PostgresStore.open(config.databaseUrl, { migrate: config.doMigrations, log, waitForLock });
    return { store, location: store.location, assertOwner: () => store.assertOwner() };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const store = SqliteStore.open(config.databasePath, { fsync: config.fsync, migrate: config.doMigrations });
  return { store, location: config.databasePath };
}
