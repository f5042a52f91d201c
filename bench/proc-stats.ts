/** Readings from /proc: memory and CPU time of a process, the machine's CPU model. */
import { readdirSync, readFileSync } from "node:fs";

/** Linux reports CPU times in clock ticks; 100 per second on every mainstream kernel config. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size in KiB (VmRSS), or null if the process is gone or unreadable. */
export function rssKib(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds the process (all its threads) has used so far. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Every running process whose command name is `name` (e.g. "postgres"). */
export function pidsByName(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === name) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** The pid of a running process whose command name is `name` (e.g. "beam.smp"), or null. */
export function pidByName(name: string): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === name) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return null;
}

export function cpuModel(): string {
  try {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
    const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? 0;
    return `${model}, ${cores} logical CPUs`;
  } catch {
    return "unknown";
  }
}

/** CPU seconds the whole machine spent busy (all cores, everything but idle and iowait). */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const [, ...ticks] = line.trim().split(/\s+/).map(Number);
    const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The 1-minute load average: how busy the machine was before a run. */
export function loadAverage(): number | null {
  try {
    return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  } catch {
    return null;
  }
}

export type CpuReading = {
  /** Percent of one core per pid, in the order given (null where unreadable); the harness excluded. */
  perPid: Array<number | null>;
  /**
   * Percent of one core used by everything else: other processes, and kernel work not charged
   * to any process. A few % is normal; much more means someone else shared the machine.
   */
  other: number | null;
  /** Percent of one core used by the helper processes together (a broker's database), if any. */
  helpers: number | null;
};

/** CPU use of several processes, and of the rest of the machine, over an interval. */
export class CpuMeter {
  private readonly start: Map<number, number | null>;
  private readonly machineStart = machineBusySeconds();
  private readonly startedAt = performance.now();

  /** The harness's own process is measured too, and counted as neither broker nor "other". */
  private readonly pids: number[];

  /**
   * `helpers`: processes doing the broker's work besides its own (pubsub-pg's Postgres), summed
   * into `helpers` instead of counting as someone else's work.
   */
  constructor(pids: number[], private readonly helpers: number[] = []) {
    this.pids = [...pids, process.pid];
    this.start = new Map([...this.pids, ...helpers].map((pid) => [pid, cpuSeconds(pid)]));
  }

  read(): CpuReading {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const percent = (used: number) => Math.round((used / seconds) * 100);
    let ours = 0;
    const perPid = this.pids.map((pid) => {
      const before = this.start.get(pid);
      const after = cpuSeconds(pid);
      if (before == null || after == null || seconds <= 0) return null;
      ours += after - before;
      return percent(after - before);
    });
    let helpersUsed = 0;
    for (const pid of this.helpers) {
      const before = this.start.get(pid);
      const after = cpuSeconds(pid);
      if (before != null && after != null) helpersUsed += after - before;
    }
    const machineEnd = machineBusySeconds();
    const other =
      this.machineStart === null || machineEnd === null || seconds <= 0
        ? null
        : Math.max(0, percent(machineEnd - this.machineStart - ours - helpersUsed));
    const helpers = this.helpers.length && seconds > 0 ? percent(helpersUsed) : null;
    return { perPid: perPid.slice(0, -1), other, helpers };
  }
}
