/**
 * Fresh Postgres databases for tests: each test file gets its own `pubsub_test_<random>` on the
 * server named by PUBSUB_TEST_POSTGRES_URL (default: the CI's 127.0.0.1:5432), dropped afterwards.
 */
import { SQL } from "bun";

export const ADMIN_URL = process.env.PUBSUB_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export type TestDatabase = { readonly name: string; readonly url: string; drop(): Promise<void> };

/** The URL of database `name` on the same server as `base`. */
export function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createDatabase(adminUrl = ADMIN_URL): Promise<TestDatabase> {
  const name = `pubsub_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = new SQL({ url: adminUrl, max: 1 });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.close();
  }
  return {
    name,
    url: databaseUrl(adminUrl, name),
    async drop() {
      const admin = new SQL({ url: adminUrl, max: 1 });
      try {
        // WITH (FORCE): a broker killed with -9 may leave its session behind for a moment.
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.close();
      }
    },
  };
}
