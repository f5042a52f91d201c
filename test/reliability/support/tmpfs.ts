/**
 * A small tmpfs for disk tests: a real filesystem with a real size, so a full disk is a real ENOSPC
 * and statfs reports what the broker would see on a real disk. Mounting needs root.
 */
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testBackend } from "../../support/broker-process.ts";

export const MiB = 1 << 20;

/** Why these tests cannot run here, or undefined if they can. */
export function tmpfsUnavailable(): string | undefined {
  if (testBackend === "postgres") return "they put the SQLite database on a tmpfs; on Postgres the database is elsewhere (and the disk alarm is off)";
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root (run these tests as root)";
  return undefined;
}

export type Tmpfs = { dir: string; unmount: () => void };

/** Mounts a tmpfs of `sizeMiB` on a fresh directory under the system's temp dir. */
export function mountTmpfs(sizeMiB: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), "pubsub-disk-"));
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir]);
  if (mounted.exitCode !== 0) throw new Error(`mount tmpfs on ${dir}: ${mounted.stderr.toString()}`);
  return {
    dir,
    unmount: () => {
      // Lazy, so a broker still holding a file open (a failed test) cannot keep the mount alive.
      Bun.spawnSync(["umount", "-l", dir]);
      rmdirSync(dir);
    },
  };
}

/**
 * Writes a file of `bytes` (zeros; tmpfs stores them, unlike a sparse file) or as much of it as
 * fits; returns the bytes written.
 */
export function writeBallast(path: string, bytes: number): number {
  const chunk = Buffer.alloc(MiB);
  const fd = openSync(path, "w");
  let written = 0;
  try {
    while (written < bytes) written += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

export const removeBallast = (path: string): void => rmSync(path, { force: true });
