/**
 * What a broker's stored data takes on disk (scenario 10): the files of pubsub's DATA_DIR (the
 * SQLite database with its -wal and -shm), a Postgres database, or `du` of a service's directory.
 * Apparent sizes throughout (bytes written, not blocks allocated), so the three compare.
 */
import { SQL } from "bun";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { track } from "../processes.ts";
import type { DiskUsage } from "./target.ts";

/** `du` of a large directory tree finishes well within this. */
const DU_TIMEOUT_MS = 60_000;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Every file under `dir`, summed; `what` lists the files (largest first). */
export function directoryBytes(dir: string): DiskUsage {
  const files: Array<{ name: string; bytes: number }> = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push({ name: relative(dir, path), bytes: statSync(path).size });
    }
  };
  walk(dir);
  files.sort((a, b) => b.bytes - a.bytes);
  const bytes = files.reduce((sum, file) => sum + file.bytes, 0);
  return { bytes, what: `DATA_DIR files: ${files.map((file) => `${file.name} ${mib(file.bytes)}`).join(", ") || "none"}` };
}

/** pg_database_size of the database `url` names, and what its messages table takes (with indexes and TOAST). */
export async function postgresDatabaseBytes(url: string): Promise<DiskUsage> {
  const sql = new SQL({ url, max: 1, connectionTimeout: 5 });
  try {
    const [database] = await sql`select pg_database_size(current_database())::bigint as bytes`;
    const [messages] = await sql`select coalesce(pg_total_relation_size(to_regclass('messages')), 0)::bigint as bytes`;
    const bytes = Number(database?.bytes ?? 0);
    return { bytes, what: `pg_database_size (WAL not included); table messages with its indexes: ${mib(Number(messages?.bytes ?? 0))}` };
  } finally {
    await sql.close();
  }
}

/**
 * `du --apparent-size` of `dir`, or null when it cannot be read (not root, not there). A file the
 * service removed while du walked the tree (a rolled journal) is not a failure.
 */
export async function duBytes(dir: string): Promise<DiskUsage | null> {
  const du = Bun.spawn({ cmd: ["du", "-s", "-b", dir], stdio: ["ignore", "pipe", "pipe"], timeout: DU_TIMEOUT_MS });
  track(du);
  const [code, out, err] = await Promise.all([du.exited, new Response(du.stdout).text(), new Response(du.stderr).text()]);
  const bytes = Number(out.split(/\s/, 1)[0]);
  const vanished = err.split("\n").filter(Boolean).every((line) => /No such file/.test(line));
  if (!out || !Number.isFinite(bytes) || (code !== 0 && !vanished)) return null;
  return { bytes, what: `du --apparent-size ${dir}` };
}
