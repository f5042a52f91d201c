/**
 * [DISK-1] The disk alarm's logic on a fake clock and an injected statfs: raised below the limit,
 * cleared at it (no hysteresis), re-read on demand at most every DISK_RECHECK_AFTER_MS and by its
 * timer every DISK_CHECK_EVERY_MS, off at 0, and holding its last reading when statfs fails. The
 * real statfs is checked against df.
 */
import { describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { DiskAlarm, formatBytes, statfsFreeBytes } from "../../src/server/disk-alarm.ts";
import { DISK_CHECK_EVERY_MS, DISK_RECHECK_AFTER_MS } from "../../src/server/limits.ts";
import { FakeClock, ManualScheduler } from "../broker/support/manual-scheduler.ts";

const MiB = 1 << 20;
const PATH = "/data";

/** A disk whose free space the test sets, counting the readings. */
function fakeDisk(free: number) {
  const disk = {
    free,
    reads: 0,
    error: undefined as Error | undefined,
    read: (path: string) => {
      expect(path).toBe(PATH);
      disk.reads++;
      if (disk.error) throw disk.error;
      return disk.free;
    },
  };
  return disk;
}

function setup(free: number, limitBytes = 50 * MiB) {
  const clock = new FakeClock();
  const scheduler = new ManualScheduler(clock);
  const disk = fakeDisk(free);
  const logs: string[] = [];
  const alarm = new DiskAlarm({ path: PATH, limitBytes, clock, scheduler, freeBytes: disk.read, log: (line) => logs.push(line) });
  return { clock, scheduler, disk, logs, alarm };
}

describe("DiskAlarm", () => {
  test("reads at start; raised below the limit with a reason naming free space, limit and path; cleared at the limit", () => {
    const { scheduler, disk, logs, alarm } = setup(100 * MiB);
    expect(disk.reads).toBe(1);
    expect(alarm.reason()).toBeUndefined();
    expect(alarm.reading()).toEqual({ path: PATH, freeBytes: 100 * MiB, limitBytes: 50 * MiB, alarm: false });

    disk.free = 12.3 * MiB;
    scheduler.advance(DISK_RECHECK_AFTER_MS);
    expect(alarm.reason()).toBe(
      "free disk space where the database lives (12.3 MiB at /data) is below DISK_FREE_LIMIT (50 MiB); publishes to durable queues are refused until space is freed",
    );
    expect(alarm.reading().alarm).toBe(true);
    expect(logs).toEqual([`disk alarm set: ${alarm.reason()}`]);

    // Exactly at the limit is enough: no hysteresis (RabbitMQ has none).
    disk.free = 50 * MiB;
    scheduler.advance(DISK_RECHECK_AFTER_MS);
    expect(alarm.reason()).toBeUndefined();
    expect(logs[1]).toBe("disk alarm cleared: 50 MiB free at /data (DISK_FREE_LIMIT 50 MiB)");
    disk.free = 50 * MiB - 1;
    scheduler.advance(DISK_RECHECK_AFTER_MS);
    expect(alarm.reason()).toBeDefined();
    expect(logs).toHaveLength(3);
  });

  test("on demand: a reading younger than DISK_RECHECK_AFTER_MS is reused, an older one is taken again", () => {
    const { scheduler, disk, alarm } = setup(100 * MiB);
    disk.free = 1;
    for (let i = 0; i < 1_000; i++) expect(alarm.reason()).toBeUndefined();
    expect(disk.reads).toBe(1);
    scheduler.advance(DISK_RECHECK_AFTER_MS - 1);
    expect(alarm.reason()).toBeUndefined();
    scheduler.advance(1);
    expect(alarm.reason()).toBeDefined();
    expect(disk.reads).toBe(2);
    // reading() (for /metrics) follows the same rule.
    expect(alarm.reading().freeBytes).toBe(1);
    expect(disk.reads).toBe(2);
  });

  test("the timer reads every DISK_CHECK_EVERY_MS with nothing asking, and logs each change; stop() ends it", () => {
    const { scheduler, disk, logs, alarm } = setup(100 * MiB);
    disk.free = 1;
    scheduler.advance(DISK_CHECK_EVERY_MS - 1);
    expect(disk.reads).toBe(1);
    expect(logs).toEqual([]);
    scheduler.advance(1);
    expect(disk.reads).toBe(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toStartWith("disk alarm set: ");
    disk.free = 100 * MiB;
    scheduler.advance(DISK_CHECK_EVERY_MS);
    expect(logs).toHaveLength(2);
    expect(logs[1]).toStartWith("disk alarm cleared: ");
    scheduler.advance(10 * DISK_CHECK_EVERY_MS);
    expect(disk.reads).toBe(13);
    expect(logs).toHaveLength(2);
    alarm.stop();
    expect(scheduler.pending).toBe(0);
  });

  test("limit 0 turns the alarm off: a full disk raises nothing, publishes read nothing, free space is still reported", () => {
    const { scheduler, disk, logs, alarm } = setup(0, 0);
    scheduler.advance(DISK_CHECK_EVERY_MS * 3);
    const reads = disk.reads;
    expect(alarm.reason()).toBeUndefined();
    expect(disk.reads).toBe(reads);
    expect(alarm.reading()).toEqual({ path: PATH, freeBytes: 0, limitBytes: 0, alarm: false });
    expect(logs).toEqual([]);
  });

  test("when statfs fails the last reading stands, and the error is logged once until it changes", () => {
    const { scheduler, disk, logs, alarm } = setup(1);
    expect(alarm.reason()).toBeDefined();
    disk.error = new Error("EACCES: permission denied, statfs '/data'");
    scheduler.advance(5 * DISK_CHECK_EVERY_MS);
    expect(alarm.reason()).toBeDefined();
    expect(alarm.reading().freeBytes).toBe(1);
    expect(logs.filter((l) => l.startsWith("disk alarm: cannot read"))).toEqual([
      "disk alarm: cannot read free space at /data: EACCES: permission denied, statfs '/data'",
    ]);
    disk.error = undefined;
    disk.free = 100 * MiB;
    scheduler.advance(DISK_CHECK_EVERY_MS);
    expect(alarm.reason()).toBeUndefined();
  });

  test("unreadable from the start: no alarm, free space unknown", () => {
    const clock = new FakeClock();
    const scheduler = new ManualScheduler(clock);
    const alarm = new DiskAlarm({ path: PATH, limitBytes: MiB, clock, scheduler, freeBytes: () => { throw new Error("ENOENT"); } });
    expect(alarm.reason()).toBeUndefined();
    expect(alarm.reading()).toEqual({ path: PATH, freeBytes: undefined, limitBytes: MiB, alarm: false });
    alarm.stop();
  });
});

test("formatBytes: whole bytes below 1 KiB, one decimal above", () => {
  expect(formatBytes(0)).toBe("0 B");
  expect(formatBytes(1023)).toBe("1023 B");
  expect(formatBytes(1024)).toBe("1 KiB");
  expect(formatBytes(12.34 * MiB)).toBe("12.3 MiB");
  expect(formatBytes(50 * MiB)).toBe("50 MiB");
  expect(formatBytes(3 * 2 ** 40)).toBe("3 TiB");
});

test("statfsFreeBytes agrees with df's Available column", () => {
  const dir = tmpdir();
  const df = Bun.spawnSync(["df", "-B1", "--output=avail", dir]);
  expect(df.exitCode).toBe(0);
  const available = Number(df.stdout.toString().trim().split("\n")[1]);
  // Other processes write meanwhile: within 64 MiB of what df saw a moment before.
  expect(Math.abs(statfsFreeBytes(dir) - available)).toBeLessThan(64 * MiB);
});
