/**
 * Scenario 2: confirmed publishing, `inflight` requests outstanding (HTTP keep-alive for pubsub
 * and raw, publisher confirms for RabbitMQ, acked JetStream publishes for NATS), to a transient
 * and to a durable queue. Scenario 4 comes out of the same runs: the broker's worst event-loop
 * stall, read from GET /metrics after each run.
 */
import { merge, percentileMs } from "../load/latency-histogram.ts";
import { LoadProcess } from "../load/process-handle.ts";
import type { ConfirmedPublishSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter } from "../proc-stats.ts";
import { median, skippedRow, type Row } from "../row.ts";
import type { Target, TargetName } from "../targets/target.ts";
import { cpuNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";

/** Per load process, whatever the duration: keeps a run finite even against a broken timer. */
const MAX_REQUESTS_PER_PROCESS = 50_000_000;
/** Connections and channels open well within this on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 20_000;

type PublishRun = {
  rate: number;
  errors: number;
  firstError: string | null;
  p50: number | null;
  p99: number | null;
  cpu: CpuUse;
  stallMs: number | null;
  /** The same reading before the load started: a stall at start-up is not one under load. */
  stallBeforeMs: number | null;
  note: string | undefined;
};

export const STALL_SCENARIO = "4. worst event-loop stall during confirmed publishing (GET /metrics)";

export async function confirmedPublishScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const stallRows: Row[] = [];
  for (const durable of [false, true]) {
    const scenario = `2. confirmed publish, ${options.inflight} in flight → ${durable ? "durable" : "transient"} queue`;
    for (const target of targets) {
      if (target.name === "raw" && durable) {
        const transient = rows.find((row) => row.target === "raw");
        if (transient) {
          rows.push({ ...transient, scenario, notes: ["no disk: the transient runs, repeated here as the ceiling", ...transient.notes] });
          continue;
        }
      }
      const { runs, discarded, failure } = await repeatClean(options.runs, () => publishOnce(target, durable, options));
      if (failure) {
        rows.push(skippedRow(scenario, target.name, "req/s", failure));
        continue;
      }
      rows.push(publishRow(scenario, target.name, runs, options, discarded));
      const stalls = runs.map((run) => run.stallMs).filter((value): value is number => value !== null);
      if (stalls.length && (durable || target.name === "raw")) {
        stallRows.push({
          scenario: STALL_SCENARIO,
          target: target.name,
          unit: "ms",
          value: median(stalls),
          runs: stalls,
          notes: [
            durable ? "durable queue" : "raw: no disk, the transient runs",
            `max since start; before the load it was ${formatMedian(runs.map((run) => run.stallBeforeMs))} ms`,
          ],
        });
      }
    }
  }
  return [...rows, ...stallRows];
}

function publishRow(scenario: string, target: TargetName, runs: PublishRun[], options: BenchOptions, discarded: number): Row {
  const rates = runs.map((run) => run.rate);
  const errors = runs.reduce((sum, run) => sum + run.errors, 0);
  const firstError = runs.find((run) => run.firstError)?.firstError;
  const latency = (pick: (run: PublishRun) => number | null) =>
    median(runs.map(pick).filter((value): value is number => value !== null))?.toFixed(2) ?? "?";
  const notes = [
    runs[0]?.note ?? "",
    `load: ${options.publishProcs} process(es), ${options.inflight} in flight`,
    `latency p50 ${latency((run) => run.p50)} ms, p99 ${latency((run) => run.p99)} ms`,
    cpuNote(runs.map((run) => run.cpu)),
    discardedNote(discarded),
  ].filter((note): note is string => Boolean(note));
  if (errors) notes.push(`**${errors} errors** (first: ${firstError})`);
  return { scenario, target, unit: "req/s", value: median(rates), runs: rates, notes };
}

async function publishOnce(target: Target, durable: boolean, options: BenchOptions): Promise<PublishRun> {
  const instance = await target.start();
  try {
    if (!instance.confirmedPublishPlan) throw new Error("no confirmed publishing on this target");
    const plan = await instance.confirmedPublishPlan(durable);
    const stallBeforeMs = (await instance.maxEventLoopStallMs?.()) ?? null;
    let measured: Omit<PublishRun, "stallMs" | "stallBeforeMs" | "note">;
    try {
      measured = await driveLoad(plan.spec, instance.pid, options);
    } finally {
      await plan.cleanup().catch(() => {});
    }
    const stallMs = (await instance.maxEventLoopStallMs?.()) ?? null;
    return { ...measured, stallMs, stallBeforeMs, note: plan.note ?? (plan.spec.protocol === "http" ? "HTTP POST /publish, keep-alive" : undefined) };
  } finally {
    await instance.stop();
  }
}

async function driveLoad(
  spec: ConfirmedPublishSpec,
  brokerPid: number | null,
  options: BenchOptions,
): Promise<Omit<PublishRun, "stallMs" | "stallBeforeMs" | "note">> {
  const processes = Array.from({ length: options.publishProcs }, () => new LoadProcess("confirmed-publish"));
  try {
    processes.forEach((load, i) =>
      load.send({
        kind: "configure",
        spec,
        inflight: share(options.inflight, options.publishProcs, i),
        warmupMs: options.warmupMs,
        measureMs: options.measureMs,
        maxRequests: MAX_REQUESTS_PER_PROCESS,
      }),
    );
    await Promise.all(processes.map((load) => load.next("ready", READY_TIMEOUT_MS)));
    const results = processes.map((load) => load.next("result", options.warmupMs + options.measureMs + 30_000));
    for (const result of results) result.catch(() => {}); // awaited below; this only marks them handled
    for (const load of processes) load.send({ kind: "go" });
    await Bun.sleep(options.warmupMs);
    const meter = new CpuMeter([brokerPid ?? -1, ...processes.map((load) => load.pid)]);
    await Bun.sleep(options.measureMs);
    const { perPid, other } = meter.read();
    const [broker = null, ...load] = perPid;
    const answers = await Promise.all(results);
    const histogram = merge(answers.map((answer) => answer.latencyBuckets));
    return {
      rate: answers.reduce((sum, answer) => sum + (answer.measuredMs > 0 ? (answer.completed * 1000) / answer.measuredMs : 0), 0),
      errors: answers.reduce((sum, answer) => sum + answer.errors, 0),
      firstError: answers.find((answer) => answer.firstError)?.firstError ?? null,
      p50: percentileMs(histogram, 0.5),
      p99: percentileMs(histogram, 0.99),
      cpu: { broker: brokerPid === null ? null : broker, load, other },
    };
  } finally {
    await Promise.all(processes.map((load) => load.finish()));
  }
}

function formatMedian(values: Array<number | null>): string {
  return median(values.filter((value): value is number => value !== null))?.toFixed(1) ?? "?";
}

/** Process i's share of `total` split over `parts` as evenly as integers allow. */
function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}
