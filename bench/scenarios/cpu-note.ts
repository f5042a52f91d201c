/** The "who used the CPU" note every throughput row carries. */
import { median } from "../row.ts";

/** CPU use over one run's measured window, % of one core (null where unreadable). */
export type CpuUse = { broker: number | null; load: Array<number | null> };

/** Medians over runs, e.g. "CPU (% of a core): broker 98, load 61+44". */
export function cpuNote(runs: CpuUse[]): string {
  const med = (values: Array<number | null>) => {
    const known = values.filter((value): value is number => value !== null);
    return known.length ? String(Math.round(median(known)!)) : "?";
  };
  const loadCount = Math.max(0, ...runs.map((run) => run.load.length));
  const load = Array.from({ length: loadCount }, (_, i) => med(runs.map((run) => run.load[i] ?? null)));
  return `CPU (% of a core): broker ${med(runs.map((run) => run.broker))}, load ${load.join("+")}`;
}
