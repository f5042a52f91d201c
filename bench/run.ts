/**
 * The benchmark harness: `bun run bench/run.ts [--help]`.
 *
 * Measures the scenarios against every reachable target in one process tree (this process, the
 * brokers it spawns, the load processes it spawns), prints a markdown table and writes
 * bench/RESULTS.md. Every run is bounded in time; every process it starts is killed at the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { killAll } from "./processes.ts";
import { parseOptions, type BenchOptions } from "./options.ts";
import { cpuModel, loadAverage } from "./proc-stats.ts";
import { markdownTable, resultsMarkdown } from "./report.ts";
import { skippedRow, type Row } from "./row.ts";
import { confirmedPublishScenario } from "./scenarios/confirmed-publish.ts";
import { fanoutScenario } from "./scenarios/fanout.ts";
import { startupScenario } from "./scenarios/startup.ts";
import { natsTarget } from "./targets/nats.ts";
import { pubsubTarget } from "./targets/pubsub.ts";
import { rabbitmqTarget } from "./targets/rabbitmq.ts";
import { rawTarget } from "./targets/raw.ts";
import type { Target, TargetContext } from "./targets/target.ts";

const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), "..");
const options = parseOptions(process.argv.slice(2));
const workDir = mkdtempSync(join(tmpdir(), "pubsub-bench-"));
const startedAt = performance.now();


async function main(options: BenchOptions): Promise<void> {
  const context: TargetContext = { workDir, repoRoot, pubsubCommand: options.pubsubCommand };
  const loadBefore = loadAverage();
  if (loadBefore !== null && loadBefore > 0.5) {
    log(`warning: load average ${loadBefore} before starting: other work shares the CPUs; see "other" in the notes`);
  }
  const all: Record<Target["name"], () => Target> = {
    raw: () => rawTarget(context),
    pubsub: () => pubsubTarget(context),
    rabbitmq: () => rabbitmqTarget(),
    nats: () => natsTarget(),
  };
  const available: Target[] = [];
  const unavailable: Array<{ target: Target; reason: string }> = [];
  for (const name of options.targets) {
    const target = all[name]();
    const reason = await target.unavailable();
    if (reason) unavailable.push({ target, reason });
    else available.push(target);
    log(reason ? `target ${name}: skipped (${reason})` : `target ${name}: ${target.describe()}`);
  }

  const rows: Row[] = [];
  const scenarios = {
    startup: startupScenario,
    publish: confirmedPublishScenario,
    fanout: fanoutScenario,
  } as const;
  for (const name of options.scenarios) {
    log(`scenario ${name} …`);
    const scenarioRows = await scenarios[name](available, options);
    for (const row of scenarioRows) log(`  ${row.scenario} | ${row.target} | ${row.value ?? row.skipped}`);
    rows.push(...scenarioRows);
  }
  // Unreachable targets still get a row per scenario, so a reader sees what is missing.
  const scenarioNames = [...new Set(rows.map((row) => row.scenario))];
  for (const { target, reason } of unavailable) {
    for (const scenario of scenarioNames) {
      const unit = rows.find((row) => row.scenario === scenario)!.unit;
      rows.push(skippedRow(scenario, target.name, unit, reason));
    }
  }
  rows.sort((a, b) => scenarioOrder(a, b, scenarioNames));

  const table = markdownTable(rows);
  console.log(`\n${table}\n`);
  if (options.resultsFile) {
    const command = ["bun run bench/run.ts", ...process.argv.slice(2)].join(" ");
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
        settings: [...settingsLines(options), `1-minute load average before the run: ${loadBefore ?? "unknown"}`],
      },
      rows,
    );
    const path = resolve(repoRoot, options.resultsFile);
    writeFileSync(path, markdown);
    log(`wrote ${path}`);
  }
  log(`done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
}

function settingsLines(options: BenchOptions): string[] {
  return [
    `runs per row: ${options.runs} (median shown); each run: ${options.warmupMs / 1000} s warm-up, ` +
      `${options.measureMs / 1000} s measured; payload 256 bytes. A throughput run during which other work ` +
      `took more than 30% of a core is set aside and repeated (at most ${options.runs} extra runs per row)`,
    `load generators: child \`bun\` processes. Scenario 2: ${options.publishProcs} process(es) sharing ` +
      `${options.inflight} requests in flight (raw-socket HTTP/1.1 keep-alive client for pubsub/raw). ` +
      `Scenario 3: 1 publisher process + up to ${options.subscriberProcs} subscriber processes ` +
      `(raw-socket WebSocket client for pubsub/raw), publisher at most ${options.window.toLocaleString("en-US")} ` +
      `messages ahead of the slowest subscriber`,
    `pubsub and raw are started fresh for every run (pubsub with an empty DATA_DIR); RabbitMQ and NATS are ` +
      `the services already running, with fresh exchanges, queues, streams and subjects per run`,
  ];
}

const targetOrder = ["raw", "pubsub", "rabbitmq", "nats"];
/** By scenario number ("2. …"), then as the scenarios produced them, then by target. */
function scenarioOrder(a: Row, b: Row, scenarios: string[]): number {
  const number = (row: Row) => parseInt(row.scenario, 10) || 0;
  return (
    number(a) - number(b) ||
    scenarios.indexOf(a.scenario) - scenarios.indexOf(b.scenario) ||
    targetOrder.indexOf(a.target) - targetOrder.indexOf(b.target)
  );
}

function log(line: string): void {
  console.error(`bench: ${line}`);
}

try {
  await main(options);
} finally {
  killAll();
  rmSync(workDir, { recursive: true, force: true });
}
// Client libraries may keep sockets or timers alive; the run is over.
process.exit(0);
