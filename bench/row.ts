/** One line of the results table: a scenario measured on one target, median of its runs. */
export type Unit = "req/s" | "msg/s" | "conn/s" | "ms" | "MiB" | "KiB";

export type Row = {
  /** Rows with the same scenario are compared with each other (ratios to raw and RabbitMQ). */
  scenario: string;
  /** A target's name, or a labelled variant of it ("pubsub, 10 queues"). */
  target: string;
  unit: Unit;
  /** Median of `runs`; null when skipped or failed. */
  value: number | null;
  runs: number[];
  /** What a reader needs to trust the number: protocol, load processes, CPU, errors, loss. */
  notes: string[];
  /** Why there is no value. */
  skipped?: string;
  /** The value is missing because a run failed (not because the target is unreachable or the scenario does not apply). */
  failed?: boolean;
};

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function skippedRow(scenario: string, target: string, unit: Unit, reason: string): Row {
  return { scenario, target, unit, value: null, runs: [], notes: [], skipped: reason };
}

/** A row whose runs failed: skipped, and counted by run.ts's exit status. */
export function failedRow(scenario: string, target: string, unit: Unit, reason: string): Row {
  return { ...skippedRow(scenario, target, unit, reason), failed: true };
}

export function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200);
}
