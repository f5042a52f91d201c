import { mkdirSync } from "node:fs";
import type { Config } from "../config.ts";
import { SqliteStore } from "./sqlite/sqlite-store.ts";
import type { Store } from "./store.ts";

/** The configured backend: Postgres when DATABASE_URL is set (no SQLite file is created then), SQLite otherwise. */
export async function openStore(config: Config, log: (line: string) => void): Promise<{ store: Store; location: string }> {
  if (config.databaseUrl !== undefined) {
    // Loaded only when used: SQLite users do not pay for the Postgres driver at start-up.
    const { PostgresStore } = await import("./postgres/postgres-store.ts");
    const store = await PostgresStore.open(config.databaseUrl, { migrate: config.doMigrations, log });
    return { store, location: store.location };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const store = SqliteStore.open(config.databasePath, { fsync: config.fsync, migrate: config.doMigrations });
  return { store, location: config.databasePath };
}
