import { statfsSync } from "node:fs";
import type { Cancel, Clock, Scheduler } from "../broker/scheduler.ts";
import { DISK_CHECK_EVERY_MS, DISK_RECHECK_AFTER_MS } from "./limits.ts";

/** Bytes an unprivileged process may still write on the filesystem holding `path` (df's "Available"). */
export type FreeSpace = (path: string) => number;

/** The real one: statfs's available blocks (not the free ones root alone may use) times their size. */
export const statfsFreeBytes: FreeSpace = (path) => {
  const fs = statfsSync(path);
  // Block counts are in fragment units (statvfs's f_frsize); Bun reports it, Node's types do not,
  // and it equals bsize on nearly every filesystem.
  return fs.bavail * ((fs as { frsize?: number }).frsize || fs.bsize);
};

export type DiskAlarmOptions = {
  /** A directory on the filesystem to watch: the SQLite database's. */
  path: string;
  /** The alarm is on while free space is below this; 0 turns it off (free space is still read). */
  limitBytes: number;
  /** A monotonic clock: a reading's age decides whether a publish re-reads. */
  clock: Clock;
  scheduler: Scheduler;
  freeBytes?: FreeSpace;
  log?: (line: string) => void;
};

export type DiskReading = {
  path: string;
  /** Undefined until free space could be read once. */
  freeBytes: number | undefined;
  limitBytes: number;
  alarm: boolean;
};

/**
 * [DISK-1] RabbitMQ's disk_free_limit: watches free space where the database lives and raises an
 * alarm while it is below the limit, cleared as soon as it is not (no hysteresis, as RabbitMQ). The
 * broker asks `reason()` on every publish (publishes that reach a durable queue are refused while it
 * gives one); a reading older than DISK_RECHECK_AFTER_MS is taken again then, and a timer reads
 * every DISK_CHECK_EVERY_MS so the alarm also changes, and is logged, while nothing is published.
 * When free space cannot be read, the last reading stands (the error is logged once): refusing
 * every durable publish because statfs failed would be a guess, and a database that cannot write
 * answers STORE_UNAVAILABLE by itself.
 */
export class DiskAlarm {
  private free: number | undefined;
  private alarm = false;
  private readAt = Number.NEGATIVE_INFINITY;
  private lastError: string | undefined;
  private readonly freeBytes: FreeSpace;
  private readonly cancel: Cancel;

  constructor(private readonly options: DiskAlarmOptions) {
    this.freeBytes = options.freeBytes ?? statfsFreeBytes;
    this.check();
    this.cancel = options.scheduler.every(DISK_CHECK_EVERY_MS, () => this.check());
  }

  /** Why durable publishes are refused now, or undefined while there is room (or the limit is 0). */
  reason(): string | undefined {
    if (this.options.limitBytes === 0) return undefined;
    this.refresh();
    return this.alarm ? this.describe() : undefined;
  }

  reading(): DiskReading {
    this.refresh();
    return { path: this.options.path, freeBytes: this.free, limitBytes: this.options.limitBytes, alarm: this.alarm };
  }

  /** Reads free space now, and raises or clears the alarm (logging each change). */
  check(): void {
    const { path, limitBytes, clock, log } = this.options;
    this.readAt = clock.now();
    try {
      this.free = this.freeBytes(path);
      this.lastError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) log?.(`disk alarm: cannot read free space at ${path}: ${message}`);
      this.lastError = message;
      return;
    }
    const alarm = limitBytes > 0 && this.free < limitBytes;
    if (alarm === this.alarm) return;
    this.alarm = alarm;
    log?.(alarm ? `disk alarm set: ${this.describe()}` : `disk alarm cleared: ${formatBytes(this.free)} free at ${path} (DISK_FREE_LIMIT ${formatBytes(limitBytes)})`);
  }

  stop(): void {
    this.cancel();
  }

  private refresh(): void {
    if (this.options.clock.now() - this.readAt >= DISK_RECHECK_AFTER_MS) this.check();
  }

  private describe(): string {
    const { path, limitBytes } = this.options;
    return (
      `free disk space where the database lives (${formatBytes(this.free ?? 0)} at ${path}) is below DISK_FREE_LIMIT ` +
      `(${formatBytes(limitBytes)}); publishes to durable queues are refused until space is freed`
    );
  }
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** `12.3 MiB`: one decimal from KiB on, whole bytes below. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${Number(value.toFixed(1))} ${UNITS[unit]}`;
}
