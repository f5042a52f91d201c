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

/** CPU use of several processes over an interval, as % of one core each. */
export class CpuMeter {
  private readonly start: Map<number, number | null>;
  private readonly startedAt = performance.now();

  constructor(private readonly pids: number[]) {
    this.start = new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  }

  /** Percent of one core per pid since construction (null where unreadable). */
  read(): Array<number | null> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return this.pids.map((pid) => {
      const before = this.start.get(pid);
      const after = cpuSeconds(pid);
      return before == null || after == null || seconds <= 0 ? null : Math.round(((after - before) / seconds) * 100);
    });
  }
}
