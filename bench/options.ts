/** The harness's command line: `bun run bench/run.ts [--flag=value …]`. */
import type { TargetName } from "./targets/target.ts";

export const SCENARIOS = [
  "startup",
  "publish",
  "publish-consumed",
  "fanout",
  "workqueue",
  "consume",
  "confirm",
  "latency",
  "idle",
  "connections",
  "backlog",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** Run when --scenarios is not given: all but the backlog, which takes longer than all the others together. */
const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIOS.filter((scenario) => scenario !== "backlog");
const TARGETS: readonly TargetName[] = ["raw", "pubsub", "pubsub-auth", "pubsub-keys", "pubsub-baseline", "pubsub-pg", "pubsub-fsync", "rabbitmq", "nats"];
/** Run when --targets is not given: all but the baseline, which needs --baseline-cmd. */
const DEFAULT_TARGETS: readonly TargetName[] = TARGETS.filter((target) => target !== "pubsub-baseline");

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
  /** Scenarios 3 and 5: at most this many processes hold the subscribers/consumers (plus one publisher process). */
  subscriberProcs: number;
  /** Scenarios 3 and 5: messages the publisher may be ahead of the slowest subscriber / of the acks. */
  window: number;
  /** Scenario 3: also measure pubsub with a queue per subscriber (the "N queues" row). */
  fanoutQueues: boolean;
  /** Scenario 3: also pubsub's subscribers with `batch: true` [BATCH-1]. */
  fanoutBatched: boolean;
  /** Scenario 5: consumers and their prefetch. */
  consumers: number;
  prefetch: number;
  /** Scenario 6: the prefetches measured, and how many messages each phase may consume at most. */
  consumePrefetches: number[];
  consumeBudget: number[];
  /** Scenario 6: also NATS JetStream (off by default: issue 3 compares with RabbitMQ). */
  consumeNats: boolean;
  /** Scenario 7: confirmed WebSocket publishes outstanding. */
  confirmInflight: number;
  /** Scenario 8: fixed publish rate and measured seconds. */
  latencyRate: number;
  latencyMs: number;
  /** Scenario 8: messages sent in one burst before the warm-up, so each target's JIT has compiled its hot path. */
  latencyWarm: number;
  /** Scenario 9: idle connections, and the processes holding them. */
  idleConnections: number;
  idleProcs: number;
  /** Scenario 11: connections opened per run and way, and how many at once. */
  connections: number;
  connectConcurrency: number;
  /** Scenario 10: messages in the backlog, their payload size, and the time each phase (fill, drain) may take at most. */
  backlogMessages: number;
  backlogPayloadBytes: number;
  backlogPhaseMs: number;
  /** Scenario 10: also restart RabbitMQ (rabbitmqctl stop_app / start_app) when rabbitmqctl works here. */
  backlogRestartRabbitmq: boolean;
  postgresUrl: string;
  pubsubCommand: string[] | null;
  /** How the pubsub-baseline target is started (an older build). */
  baselineCommand: string[] | null;
  resultsFile: string | null;
};

export const USAGE = `usage: bun run bench/run.ts [options]
  --targets=raw,pubsub,pubsub-auth,pubsub-keys,pubsub-baseline,pubsub-pg,pubsub-fsync,rabbitmq,nats
                                       which brokers (default: all but pubsub-baseline; unreachable ones
                                       are skipped). pubsub-pg (Postgres) runs in consume, confirm and
                                       backlog only, pubsub-fsync (FSYNC=true) in confirm only,
                                       pubsub-auth (JWT_SECRET, a JWT on every connection) in publish,
                                       fanout and connections, pubsub-keys (USERS_FILE, an API key) in
                                       publish and connections; pubsub-baseline is --baseline-cmd's build
  --scenarios=startup,publish,publish-consumed,fanout,workqueue,consume,confirm,latency,idle,connections,backlog
                                       which scenarios (default: all but backlog, which is long;
                                       the stall row comes with publish; publish-consumed is scenario
                                       2's durable row with a subscriber/consumer reading every message)
  --runs=3                             runs per row, the row shows the median
  --warmup=1 --seconds=2               seconds of warm-up and of measurement per throughput run
  --quick                              1 run, 0.5 s warm-up, 1 s measured, 2 s latency, 2,000 idle: a smoke test
  --inflight=64 --publish-procs=1      scenario 2 (and publish-consumed): HTTP requests in flight, load processes
  --subscriber-procs=2 --window=20000  scenarios 3, 5: processes holding subscribers/consumers, publisher window
  --fanout-queues=true                 scenario 3: also pubsub with one queue per subscriber
  --fanout-batched=true                scenario 3: also pubsub's subscribers asking for MESSAGES frames (SUBSCRIBE batch: true)
  --consumers=4 --prefetch=50          scenario 5: competing consumers and their prefetch
  --consume-prefetch=1,10,100          scenario 6: prefetches measured, one phase each …
  --consume-budget=5000,20000,60000    … acknowledging at most this many messages (the queue is pre-filled with the sum + 10%)
  --consume-nats                       scenario 6: also NATS JetStream (off by default)
  --confirm-inflight=256               scenario 7: confirmed WebSocket publishes in flight
  --latency-rate=2000 --latency-seconds=10   scenario 8: fixed publish rate, measured seconds
  --latency-warm=20000                 scenario 8: a burst of this many messages first (--quick: 2,000), then a 1 s pause, so JIT compiling is not measured; 0: none
  --idle=10000 --idle-procs=2          scenario 9: idle connections, processes holding them
  --connections=2000 --connect-concurrency=50   scenario 11: connections opened and closed per run (--quick: 500), how many at once
  --backlog-messages=1000000           scenario 10: messages filled into the backlog (--quick: 20,000) …
  --backlog-payload=1024               … of this many bytes each
  --backlog-minutes=10                 scenario 10: time limit of the fill and of the drain, each
  --backlog-restart-rabbitmq=true      scenario 10: restart RabbitMQ with rabbitmqctl stop_app/start_app
                                       (stops the shared service for a while; false: "not restarted")
  --postgres=postgres://postgres@127.0.0.1:5432/postgres   pubsub-pg: where its databases are created
  --pubsub-cmd="bun src/main.ts"       start pubsub this way instead of dist/pubsub
  --baseline-cmd="bun /tmp/old/src/main.ts"   the pubsub-baseline target: another build, for before/after in one run
  --results=bench/RESULTS.md           where to write the report; --results= (empty) writes none`;

export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const argument of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argument);
    if (!match) throw new Error(`unexpected argument ${argument}\n${USAGE}`);
    flags.set(match[1]!, match[2] ?? "true");
  }
  const known = ["targets", "scenarios", "runs", "warmup", "seconds", "quick", "inflight", "publish-procs",
    "subscriber-procs", "window", "fanout-queues", "fanout-batched", "consumers", "prefetch", "consume-prefetch", "consume-budget", "consume-nats",
    "confirm-inflight", "latency-rate", "latency-seconds", "latency-warm", "idle", "idle-procs", "connections", "connect-concurrency", "baseline-cmd", "backlog-messages", "backlog-payload",
    "backlog-minutes", "backlog-restart-rabbitmq", "postgres", "pubsub-cmd", "results", "help"];
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
  const numbers = (name: string, fallback: number[], min: number, max: number) => {
    if (!flags.has(name)) return fallback;
    const values = flags.get(name)!.split(",").filter(Boolean).map(Number);
    if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < min || value > max)) {
      throw new Error(`--${name} must be whole numbers in [${min}, ${max}], comma-separated`);
    }
    return values;
  };
  const list = <T extends string>(name: string, allowed: readonly T[], fallback: readonly T[] = allowed): T[] => {
    if (!flags.has(name)) return [...fallback];
    const items = flags.get(name)!.split(",").filter(Boolean);
    for (const item of items) if (!allowed.includes(item as T)) throw new Error(`--${name}: unknown ${item}`);
    return items as T[];
  };
  const pubsubCommand = flags.get("pubsub-cmd");
  const baselineCommand = flags.get("baseline-cmd");
  const results = flags.has("results") ? flags.get("results")! : "bench/RESULTS.md";
  const consumePrefetches = numbers("consume-prefetch", [1, 10, 100], 1, 10_000);
  const consumeBudget = numbers("consume-budget", quick ? [2_000, 5_000, 10_000] : [5_000, 20_000, 60_000], 100, 1_000_000);
  if (consumeBudget.length !== consumePrefetches.length) throw new Error("--consume-budget needs one number per --consume-prefetch");
  return {
    targets: list("targets", TARGETS, DEFAULT_TARGETS),
    scenarios: list("scenarios", SCENARIOS, DEFAULT_SCENARIOS),
    // Bounds keep every run, and so the whole harness, finite.
    runs: number("runs", quick ? 1 : 3, 1, 9),
    warmupMs: number("warmup", quick ? 0.5 : 1, 0, 10) * 1000,
    measureMs: number("seconds", quick ? 1 : 2, 0.5, 30) * 1000,
    inflight: number("inflight", 64, 1, 1024),
    publishProcs: number("publish-procs", 1, 1, 8),
    subscriberProcs: number("subscriber-procs", 2, 1, 8),
    window: number("window", 20_000, 100, 1_000_000),
    fanoutQueues: (flags.get("fanout-queues") ?? "true") !== "false",
    fanoutBatched: (flags.get("fanout-batched") ?? "true") !== "false",
    consumers: number("consumers", 4, 1, 64),
    prefetch: number("prefetch", 50, 1, 10_000),
    consumePrefetches,
    consumeBudget,
    consumeNats: flags.get("consume-nats") === "true",
    confirmInflight: number("confirm-inflight", 256, 1, 10_000),
    latencyRate: number("latency-rate", 2_000, 10, 100_000),
    latencyMs: number("latency-seconds", quick ? 2 : 10, 1, 60) * 1000,
    latencyWarm: Math.round(number("latency-warm", quick ? 2_000 : 20_000, 0, 1_000_000)),
    idleConnections: number("idle", quick ? 2_000 : 10_000, 10, 50_000),
    idleProcs: number("idle-procs", 2, 1, 16),
    connections: Math.round(number("connections", quick ? 500 : 2_000, 10, 20_000)),
    // Under MAX_CONNECTIONS_PER_ADDRESS (1,000), with room for connections the broker is still closing.
    connectConcurrency: Math.round(number("connect-concurrency", 50, 1, 500)),
    backlogMessages: Math.round(number("backlog-messages", quick ? 20_000 : 1_000_000, 1_000, 10_000_000)),
    backlogPayloadBytes: Math.round(number("backlog-payload", 1024, 16, 65_536)),
    backlogPhaseMs: number("backlog-minutes", 10, 0.5, 60) * 60_000,
    backlogRestartRabbitmq: (flags.get("backlog-restart-rabbitmq") ?? "true") !== "false",
    postgresUrl: flags.get("postgres") ?? "postgres://postgres@127.0.0.1:5432/postgres",
    pubsubCommand: pubsubCommand ? pubsubCommand.split(" ").filter(Boolean) : null,
    baselineCommand: baselineCommand ? baselineCommand.split(" ").filter(Boolean) : null,
    resultsFile: results === "" ? null : results,
  };
}
