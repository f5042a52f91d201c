import { createHash } from "node:crypto";
import type { MigrationMeta } from "drizzle-orm/migrator";

/** One drizzle-kit migration, carried inside the executable as text. */
export type EmbeddedMigration = { tag: string; when: number; breakpoints: boolean; sql: string };

/** The same shape drizzle's file reader makes, so `__drizzle_migrations` stays compatible with drizzle-kit. */
export const toMigrationMeta = (migrations: readonly EmbeddedMigration[]): MigrationMeta[] =>
  migrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
