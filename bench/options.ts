/** The harness's command line: `bun run bench/run.ts [--flag=value …]`. */
import type { TargetName } from "./targets/target.ts";

export const SCENARIOS = ["startup", "publish", "fanout"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
const TARGETS: readonly TargetName[] = ["raw", "pubsub", "rabbitmq", "nats"];

export type BenchOptions = {
  targets: TargetName[];
  scenarios: ScenarioName[];
  /** Runs per row; the row shows their median. */
  runs: number;
  warmupMs: number;
  measureMs: number;
  /** Scenario 2: confirmed publishes outstanding at once, over all load processes. */
  inflight: number;
  /** Scenario 2: load processes sharing the in-flight requests. */
  publishProcs: number;
  /** Scenario 3: at most this many processes hold the subscribers (plus one publisher process). */
  subscriberProcs: number;
  /** Scenario 3: messages the publisher may be ahead of the slowest subscriber. */
  window: number;
  pubsubCommand: string[] | null;
  resultsFile: string | null;
};

export const USAGE = `usage: bun run bench/run.ts [options]
  --targets=raw,pubsub,rabbitmq,nats   which brokers (default: all; unreachable ones are skipped)
  --scenarios=startup,publish,fanout   which scenarios (default: all; stall comes with publish)
  --runs=3                             runs per row, the row shows the median
  --warmup=1 --seconds=3               seconds of warm-up and of measurement per run
  --quick                              1 run, 0.5 s warm-up, 1 s measured: a smoke test
  --inflight=64 --publish-procs=1      scenario 2: requests in flight, load processes
  --subscriber-procs=2 --window=20000  scenario 3: processes holding subscribers, publisher window
  --pubsub-cmd="bun src/main.ts"       start pubsub this way instead of dist/pubsub
  --results=bench/RESULTS.md           where to write the report; --results= (empty) writes none`;

export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const argument of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argument);
    if (!match) throw new Error(`unexpected argument ${argument}\n${USAGE}`);
    flags.set(match[1]!, match[2] ?? "true");
  }
  const known = ["targets", "scenarios", "runs", "warmup", "seconds", "quick", "inflight", "publish-procs",
    "subscriber-procs", "window", "pubsub-cmd", "results", "help"];
  for (const flag of flags.keys()) if (!known.includes(flag)) throw new Error(`unknown flag --${flag}\n${USAGE}`);
  if (flags.has("help")) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = flags.get("quick") === "true";
  const number = (name: string, fallback: number, min: number, max: number) => {
    const value = flags.has(name) ? Number(flags.get(name)) : fallback;
    if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} must be in [${min}, ${max}]`);
    return value;
  };
  const list = <T extends string>(name: string, allowed: readonly T[]): T[] => {
    if (!flags.has(name)) return [...allowed];
    const items = flags.get(name)!.split(",").filter(Boolean);
    for (const item of items) if (!allowed.includes(item as T)) throw new Error(`--${name}: unknown ${item}`);
    return items as T[];
  };
  const pubsubCommand = flags.get("pubsub-cmd");
  const results = flags.has("results") ? flags.get("results")! : "bench/RESULTS.md";
  return {
    targets: list("targets", TARGETS),
    scenarios: list("scenarios", SCENARIOS),
    // Bounds keep every run, and so the whole harness, finite.
    runs: number("runs", quick ? 1 : 3, 1, 9),
    warmupMs: number("warmup", quick ? 0.5 : 1, 0, 10) * 1000,
    measureMs: number("seconds", quick ? 1 : 3, 0.5, 30) * 1000,
    inflight: number("inflight", 64, 1, 1024),
    publishProcs: number("publish-procs", 1, 1, 8),
    subscriberProcs: number("subscriber-procs", 2, 1, 8),
    window: number("window", 20_000, 100, 1_000_000),
    pubsubCommand: pubsubCommand ? pubsubCommand.split(" ").filter(Boolean) : null,
    resultsFile: results === "" ? null : results,
  };
}
