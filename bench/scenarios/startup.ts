/**
 * Scenario 1: start-up time (spawn → first 200 of GET /ping) and idle memory (VmRSS one second
 * after that) of the executables the harness spawns. Services already running are skipped.
 */
import type { BenchOptions } from "../options.ts";
import { rssKib } from "../proc-stats.ts";
import { errorMessage, failedRow, median, skippedRow, type Row } from "../row.ts";
import type { Target } from "../targets/target.ts";

const STARTUP = "1. start-up: spawn → first 200 of GET /ping";
const IDLE_RSS = "1. idle RSS (VmRSS 1 s after ready)";
/** Long enough for start-up garbage to be collected, short enough to keep the run quick. */
const IDLE_MS = 1_000;

export async function startupScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const target of targets) {
    if (target.name === "rabbitmq" || target.name === "nats") {
      const reason = "a service already running, not started by the harness";
      rows.push(skippedRow(STARTUP, target.name, "ms", reason), skippedRow(IDLE_RSS, target.name, "MiB", reason));
      continue;
    }
    const startups: number[] = [];
    const rsses: number[] = [];
    try {
      for (let run = 0; run < options.runs; run++) {
        const instance = await target.start();
        try {
          if (instance.readyMs !== null) startups.push(instance.readyMs);
          await Bun.sleep(IDLE_MS);
          const rss = instance.pid === null ? null : rssKib(instance.pid);
          if (rss !== null) rsses.push(rss / 1024);
        } finally {
          await instance.stop();
        }
      }
    } catch (error) {
      rows.push(failedRow(STARTUP, target.name, "ms", errorMessage(error)));
      rows.push(failedRow(IDLE_RSS, target.name, "MiB", errorMessage(error)));
      continue;
    }
    rows.push({ scenario: STARTUP, target: target.name, unit: "ms", value: median(startups), runs: startups, notes: [] });
    rows.push({ scenario: IDLE_RSS, target: target.name, unit: "MiB", value: median(rsses), runs: rsses, notes: [] });
  }
  return rows;
}
