/**
 * The benchmark harness: `bun run bench/run.ts [--help]`.
 *
 * Measures the scenarios against every reachable target in one process tree (this process, the
 * brokers it spawns, the load processes it spawns), prints a markdown table and writes
 * bench/RESULTS.md. Every run is bounded in time; every process it starts is killed at the end.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { killAll, onInterrupt } from "./processes.ts";
import { parseOptions, type BenchOptions, type ScenarioName } from "./options.ts";
import { cpuModel, loadAverage } from "./proc-stats.ts";
import { whereWeStand } from "./goals.ts";
import { handWrittenSections, markdownTable, resultsMarkdown } from "./report.ts";
import { skippedRow, type Row } from "./row.ts";
import { confirmedPublishScenario, wsConfirmScenario } from "./scenarios/confirmed-publish.ts";
import { BACKLOG_MAX_QUEUED_BYTES, backlogScenario } from "./scenarios/backlog.ts";
import { connectionsScenario } from "./scenarios/connections.ts";
import { CONSUMER_PREFETCH, consumedPublishScenario } from "./scenarios/consumed-publish.ts";
import { consumeScenario } from "./scenarios/consume.ts";
import { fanoutScenario } from "./scenarios/fanout.ts";
import { idleScenario } from "./scenarios/idle.ts";
import { latencyScenario } from "./scenarios/latency.ts";
import { startupScenario } from "./scenarios/startup.ts";
import { workQueueScenario } from "./scenarios/work-queue.ts";
import { natsTarget } from "./targets/nats.ts";
import { pubsubTarget } from "./targets/pubsub.ts";
import { rabbitmqTarget } from "./targets/rabbitmq.ts";
import { rawTarget } from "./targets/raw.ts";
import type { Target, TargetContext } from "./targets/target.ts";

const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), "..");
const options = parseOptions(process.argv.slice(2));
const workDir = mkdtempSync(join(tmpdir(), "pubsub-bench-"));
onInterrupt(async () => rmSync(workDir, { recursive: true, force: true }));
const startedAt = performance.now();


/** Services already running, not started by the harness: a failed run of theirs is reported but does not fail the bench. */
const SERVICES: readonly string[] = ["rabbitmq", "nats"];

/** Resolves with the exit status: 1 if a scenario crashed or a run of a target the harness starts failed. */
async function main(options: BenchOptions): Promise<number> {
  const context: TargetContext = {
    workDir,
    repoRoot,
    pubsubCommand: options.pubsubCommand,
    baselineCommand: options.baselineCommand,
    postgresUrl: options.postgresUrl,
  };
  const loadBefore = loadAverage();
  const build = buildLine(options);
  if (loadBefore !== null && loadBefore > 0.5) {
    log(`warning: load average ${loadBefore} before starting: other work shares the CPUs; see "other" in the notes`);
  }
  const all: Record<Target["name"], () => Target> = {
    raw: () => rawTarget(context),
    pubsub: () => pubsubTarget(context),
    "pubsub-auth": () => pubsubTarget(context, "jwt"),
    "pubsub-keys": () => pubsubTarget(context, "keys"),
    "pubsub-baseline": () => pubsubTarget(context, "baseline"),
    "pubsub-pg": () => pubsubTarget(context, "postgres"),
    "pubsub-fsync": () => pubsubTarget(context, "fsync"),
    rabbitmq: () => rabbitmqTarget({ restart: options.backlogRestartRabbitmq }),
    nats: () => natsTarget(),
  };
  const available: Target[] = [];
  const unavailable: Array<{ target: Target; reason: string }> = [];
  for (const name of options.targets) {
    const target = all[name]();
    // A variant measured only in scenarios not selected this time is left out altogether.
    if (target.scenarios && !target.scenarios.some((scenario) => options.scenarios.includes(scenario))) continue;
    const reason = await target.unavailable();
    if (reason) unavailable.push({ target, reason });
    else available.push(target);
    log(reason ? `target ${name}: skipped (${reason})` : `target ${name}: ${target.describe()}`);
  }

  const rows: Row[] = [];
  const scenarios = {
    startup: startupScenario,
    publish: confirmedPublishScenario,
    "publish-consumed": consumedPublishScenario,
    fanout: fanoutScenario,
    workqueue: workQueueScenario,
    consume: consumeScenario,
    confirm: wsConfirmScenario,
    latency: latencyScenario,
    idle: idleScenario,
    connections: connectionsScenario,
    backlog: backlogScenario,
  } as const;
  const takesPart = (target: Target, scenario: ScenarioName) => !target.scenarios || target.scenarios.includes(scenario);
  /** Row label → the scenario that produced it. */
  const producedBy = new Map<string, ScenarioName>();
  const crashed: string[] = [];
  for (const name of options.scenarios) {
    const scenarioStart = performance.now();
    log(`scenario ${name} …`);
    let scenarioRows: Row[];
    try {
      scenarioRows = await scenarios[name](available.filter((target) => takesPart(target, name)), options);
    } catch (error) {
      // The other scenarios still run and print; the exit status says one crashed.
      log(`scenario ${name} crashed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
      crashed.push(name);
      continue;
    }
    for (const row of scenarioRows) {
      log(`  ${row.scenario} | ${row.target} | ${row.value ?? row.skipped}`);
      producedBy.set(row.scenario, name);
    }
    log(`scenario ${name} took ${((performance.now() - scenarioStart) / 1000).toFixed(0)} s`);
    rows.push(...scenarioRows);
  }
  // Unreachable targets still get a row per scenario they take part in, so a reader sees what is missing.
  const scenarioNames = [...new Set(rows.map((row) => row.scenario))];
  for (const { target, reason } of unavailable) {
    for (const scenario of scenarioNames) {
      if (!takesPart(target, producedBy.get(scenario)!)) continue;
      const unit = rows.find((row) => row.scenario === scenario)!.unit;
      rows.push(skippedRow(scenario, target.name, unit, reason));
    }
  }
  rows.sort((a, b) => scenarioOrder(a, b, scenarioNames));

  const table = markdownTable(rows);
  const standing = whereWeStand(rows);
  console.log(`\n${table}\n\n${standing}\n`);
  if (options.resultsFile) {
    const command = ["bun run bench/run.ts", ...process.argv.slice(2)].join(" ");
    const kept = existsSync(resolve(repoRoot, options.resultsFile))
      ? handWrittenSections(readFileSync(resolve(repoRoot, options.resultsFile), "utf8"))
      : [];
    const markdown = resultsMarkdown(
      {
        date: new Date().toISOString(),
        cpu: cpuModel(),
        bun: `${Bun.version} (${Bun.revision.slice(0, 9)})`,
        command,
        durationS: (performance.now() - startedAt) / 1000,
        targets: [
          ...available.map((target) => `${target.name}: ${target.describe()}`),
          ...unavailable.map(({ target, reason }) => `${target.name}: skipped (${reason})`),
        ],
        settings: [
          build,
          ...settingsLines(options),
          `1-minute load average before the run: ${loadBefore ?? "unknown"}, after: ${loadAverage() ?? "unknown"}`,
        ],
      },
      rows,
      standing,
      kept,
    );
    const path = resolve(repoRoot, options.resultsFile);
    writeFileSync(path, markdown);
    log(`wrote ${path}${kept.length ? ` (keeping ${kept.length} hand-written section(s))` : ""}`);
  }
  log(`done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
  const failed = rows.filter((row) => row.failed);
  for (const row of failed) log(`failed: ${row.scenario} | ${row.target} | ${row.skipped}`);
  const ours = failed.filter((row) => !SERVICES.includes(row.target.split(",")[0]!));
  if (crashed.length || ours.length) {
    log(`FAILED: ${crashed.length} scenario(s) crashed${crashed.length ? ` (${crashed.join(", ")})` : ""}, ${ours.length} row(s) of targets the harness starts failed`);
    return 1;
  }
  return 0;
}

/** Which pubsub was measured: the executable's build time and the source it came from. */
function buildLine(options: BenchOptions): string {
  const baseline = options.baselineCommand ? `; pubsub-baseline: \`${options.baselineCommand.join(" ")}\`` : "";
  return pubsubBuildLine(options) + baseline;
}

function pubsubBuildLine(options: BenchOptions): string {
  const git = (...args: string[]) => {
    const result = Bun.spawnSync({ cmd: ["git", ...args], cwd: repoRoot, stdio: ["ignore", "pipe", "ignore"] });
    return result.exitCode === 0 ? result.stdout.toString().trim() : "";
  };
  const head = git("rev-parse", "--short", "HEAD") || "unknown";
  const changed = git("status", "--porcelain", "--", "src").split("\n").filter(Boolean).length;
  const source = `repository at ${head}${changed ? ` with ${changed} uncommitted change(s) under src/` : ", src/ unchanged"}`;
  if (options.pubsubCommand) return `pubsub: \`${options.pubsubCommand.join(" ")}\` from the ${source}`;
  try {
    const built = statSync(resolve(repoRoot, "dist/pubsub")).mtime.toISOString();
    return `pubsub: dist/pubsub built ${built} (\`bun run build\`), ${source} when the run started`;
  } catch {
    return `pubsub: dist/pubsub missing; ${source}`;
  }
}

function settingsLines(options: BenchOptions): string[] {
  const seconds = (ms: number) => `${ms / 1000} s`;
  return [
    `runs per row: ${options.runs} (median shown); each throughput run: ${seconds(options.warmupMs)} warm-up, ` +
      `${seconds(options.measureMs)} measured; payload 256 bytes. A run during which other work took more than 30% of a ` +
      `core is set aside and repeated (at most ${options.runs} extra runs per row)`,
    `load generators: child \`bun\` processes (raw-socket HTTP/1.1 and WebSocket clients for pubsub/raw, amqplib and ` +
      `nats for RabbitMQ and NATS). Scenario 2: ${options.publishProcs} process(es), ${options.inflight} requests in flight; ` +
      `its row with a subscriber attached adds 1 reader process (pubsub, raw: a WebSocket subscriber; RabbitMQ, NATS: a ` +
      `consumer acking every message, prefetch ${CONSUMER_PREFETCH}). ` +
      `Scenario 3: 1 publisher process + up to ${options.subscriberProcs} subscriber processes, publisher at most ` +
      `${options.window.toLocaleString("en-US")} messages ahead of the slowest subscriber. Scenario 5: 1 publisher process ` +
      `(at most ${options.window.toLocaleString("en-US")} messages ahead of the acks) + ${Math.min(options.consumers, options.subscriberProcs)} ` +
      `consumer processes holding ${options.consumers} consumers. Scenario 6: 1 process filling, then 1 consumer process per ` +
      `phase. Scenario 7: 1 process, ${options.confirmInflight} in flight on one connection. Scenario 8: 1 publisher + 1 ` +
      `subscriber process. Scenario 9: ${options.idleProcs} processes holding the connections. Scenario 11: 1 process, ` +
      `${options.connections.toLocaleString("en-US")} connections per way and run, ${options.connectConcurrency} at a time`,
    `scenario 6: budgets per phase ${options.consumeBudget.map((n) => n.toLocaleString("en-US")).join(" / ")} for prefetch ` +
      `${options.consumePrefetches.join(" / ")}; scenario 8: ${options.latencyRate.toLocaleString("en-US")} msg/s, ` +
      `${options.latencyWarm ? `after a burst of ${options.latencyWarm.toLocaleString("en-US")} messages and a 1 s pause (JIT warm-up), ` : ""}` +
      `${seconds(options.warmupMs)} warm-up + ${seconds(options.latencyMs)} measured`,
    `pubsub and raw are started fresh for every run (pubsub with an empty DATA_DIR, and CHECKPOINT_IN_SECONDS=1 in ` +
      `scenarios 5, 6 and 10 so that removing acknowledged messages from the store happens inside the measured window); ` +
      `RabbitMQ and NATS are the services already running, with fresh exchanges, queues, streams and subjects per run`,
    ...(options.scenarios.includes("backlog")
      ? [
          `scenario 10: one run per target; ${options.backlogMessages.toLocaleString("en-US")} messages of ` +
            `${options.backlogPayloadBytes} bytes, fill and drain each capped at ${options.backlogPhaseMs / 60_000} min; pubsub ` +
            `with MAX_QUEUED_BYTES=${BACKLOG_MAX_QUEUED_BYTES}; RabbitMQ ` +
            (options.backlogRestartRabbitmq ? "restarted with rabbitmqctl stop_app / start_app where rabbitmqctl works" : "not restarted"),
        ]
      : []),
  ];
}

const targetOrder = ["raw", "pubsub", "pubsub-baseline", "pubsub-auth", "pubsub-keys", "pubsub-fsync", "pubsub-pg", "rabbitmq", "nats"];
/** By scenario number ("2. …"), then as the scenarios produced them, then by target. */
function scenarioOrder(a: Row, b: Row, scenarios: string[]): number {
  const number = (row: Row) => parseInt(row.scenario, 10) || 0;
  return (
    number(a) - number(b) ||
    scenarios.indexOf(a.scenario) - scenarios.indexOf(b.scenario) ||
    rank(a.target) - rank(b.target)
  );
}

/** Variants ("pubsub, 10 queues") sort right after their target. */
function rank(target: string): number {
  const exact = targetOrder.indexOf(target);
  if (exact >= 0) return exact;
  const base = targetOrder.indexOf(target.split(",")[0]!);
  return base >= 0 ? base + 0.5 : targetOrder.length;
}

function log(line: string): void {
  console.error(`bench: ${line}`);
}

let status = 1;
try {
  status = await main(options);
} finally {
  killAll();
  rmSync(workDir, { recursive: true, force: true });
}
// Client libraries may keep sockets or timers alive; the run is over.
process.exit(status);
