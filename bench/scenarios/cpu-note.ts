/** The "who used the CPU" note every throughput row carries. */
import { median } from "../row.ts";

/** CPU use over one run's measured window, % of one core (null where unreadable). */
export type CpuUse = {
  broker: number | null;
  load: Array<number | null>;
  /** The harness itself plus everything else on the machine (see CpuReading.other). */
  other: number | null;
  /** The broker's database processes (pubsub-pg's Postgres), when it has any. */
  helpers?: number | null;
};

/** A run whose "other" CPU exceeds this shared the machine with someone else's work. */
export const BUSY_MACHINE_PERCENT = 30;

/** Medians over runs, e.g. "CPU (% of a core): broker 98, load 61+44, other 3". */
export function cpuNote(runs: CpuUse[]): string {
  const med = (values: Array<number | null>) => {
    const known = values.filter((value): value is number => value !== null);
    return known.length ? String(Math.round(median(known)!)) : "?";
  };
  const loadCount = Math.max(0, ...runs.map((run) => run.load.length));
  const load = Array.from({ length: loadCount }, (_, i) => med(runs.map((run) => run.load[i] ?? null)));
  const other = med(runs.map((run) => run.other));
  const busy = Number(other) > BUSY_MACHINE_PERCENT ? " (**machine shared with other work: numbers low**)" : "";
  const helpers = runs.some((run) => typeof run.helpers === "number") ? ` + Postgres ${med(runs.map((run) => run.helpers ?? null))}` : "";
  return `CPU (% of a core): broker ${med(runs.map((run) => run.broker))}${helpers}, load ${load.join("+")}, other ${other}${busy}`;
}

/**
 * The broker's CPU time per unit of work, median over runs: "broker CPU per delivery: 4.3 µs"
 * (its % of a core × 10,000 / the rate). Throughput alone hides a cost that the broker pays out of
 * idle CPU; this is what a feature adds to each message even when the rate holds.
 */
export function cpuPerUnitNote(runs: Array<{ cpu: CpuUse; rate: number }>, unit: string): string | null {
  const perUnit = runs
    .filter((run) => run.cpu.broker !== null && run.rate > 0)
    .map((run) => (run.cpu.broker! * 10_000) / run.rate);
  const value = median(perUnit);
  return value === null ? null : `broker CPU per ${unit}: ${value.toFixed(value < 10 ? 2 : 1)} µs`;
}
