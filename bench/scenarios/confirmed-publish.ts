/**
 * Scenario 2: confirmed publishing, `inflight` requests outstanding (HTTP keep-alive for pubsub
 * and raw, publisher confirms for RabbitMQ, acked JetStream publishes for NATS), to a transient
 * and to a durable queue. Scenario 4 comes out of the same runs: the broker's worst event-loop
 * stall within the last 10 s (`recent_max_stall_ms` of GET /metrics), read at the end of each run
 * that was started at least 10.5 s before, so that start-up lies outside the window.
 *
 * Scenario 7: confirmed WebSocket publishing to a durable queue, 256 in flight: pubsub's PUBLISH
 * frames with an id answered by CONFIRM, RabbitMQ publisher confirms, JetStream acked publishes.
 */
import { merge, percentileMs } from "../load/latency-histogram.ts";
import { LoadProcess } from "../load/process-handle.ts";
import type { ConfirmedPublishSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter } from "../proc-stats.ts";
import { failedRow, median, skippedRow, type Row } from "../row.ts";
import type { StallReading, Target } from "../targets/target.ts";
import { cpuNote, cpuPerUnitNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";

/** Per load process, whatever the duration: keeps a run finite even against a broken timer. */
const MAX_REQUESTS_PER_PROCESS = 50_000_000;
/** Connections and channels open well within this on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 20_000;
/** The stall reading is taken this long after the broker was ready: its 10 s window then misses start-up. */
const STALL_READ_AFTER_READY_MS = 10_500;

export type PublishRun = {
  rate: number;
  /** Confirms over the whole run, warm-up and drain included. */
  confirmedTotal: number;
  errors: number;
  firstError: string | null;
  p50: number | null;
  p99: number | null;
  cpu: CpuUse;
  stall: StallReading | null;
  note: string | undefined;
};

export const STALL_SCENARIO = "4. worst event-loop stall within the last 10 s, at the end of confirmed publishing (GET /metrics)";

export type PublishSetup = { durable: boolean; transport: "http" | "ws"; inflight: number; processes: number; readStall: boolean };

export async function confirmedPublishScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const stallRows: Row[] = [];
  for (const durable of [false, true]) {
    const scenario = `2. confirmed HTTP publish, ${options.inflight} in flight → ${durable ? "durable" : "transient"} queue`;
    for (const target of targets) {
      if (target.name === "raw" && durable) {
        const transient = rows.find((row) => row.target === "raw");
        if (transient) {
          rows.push({ ...transient, scenario, notes: ["no disk: the transient runs, repeated here as the ceiling", ...transient.notes] });
          continue;
        }
      }
      // The stall row: pubsub under durable publishing, next to the raw relay (which has no disk).
      const readStall = (target.name === "pubsub" && durable) || (target.name === "raw" && !durable);
      const setup: PublishSetup = { durable, transport: "http", inflight: options.inflight, processes: options.publishProcs, readStall };
      const { runs, discarded, failure } = await repeatClean(options.runs, () => publishOnce(target, setup, options));
      if (failure) {
        rows.push(failedRow(scenario, target.name, "req/s", failure));
        continue;
      }
      rows.push(publishRow(scenario, target.name, runs, setup, discarded));
      const stalls = runs.map((run) => run.stall?.recentMs).filter((value): value is number => typeof value === "number");
      if (readStall && stalls.length) {
        stallRows.push({
          scenario: STALL_SCENARIO,
          target: target.name,
          unit: "ms",
          value: median(stalls),
          runs: stalls,
          notes: [
            durable ? "durable queue, HTTP publishes (scenario 2)" : "raw: no disk, the transient runs of scenario 2",
            "recent_max_stall_ms read at the end of each run, ≥ 10.5 s after the broker was ready (start-up outside the 10 s window)",
            `max since start (start-up included): ${formatMedian(runs.map((run) => run.stall?.maxMs ?? null))} ms`,
          ],
        });
      }
    }
  }
  return [...rows, ...stallRows];
}

/** Scenario 7. */
export async function wsConfirmScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const scenario = `7. confirmed publishes/s over one connection, ${options.confirmInflight} in flight → durable queue`;
  const rows: Row[] = [];
  for (const target of targets) {
    const reason = target.notApplicable?.confirm;
    if (reason) {
      rows.push(skippedRow(scenario, target.name, "msg/s", reason));
      continue;
    }
    const setup: PublishSetup = { durable: true, transport: "ws", inflight: options.confirmInflight, processes: 1, readStall: false };
    const { runs, discarded, failure } = await repeatClean(options.runs, () => publishOnce(target, setup, options));
    rows.push(failure ? failedRow(scenario, target.name, "msg/s", failure) : { ...publishRow(scenario, target.name, runs, setup, discarded), unit: "msg/s" });
  }
  return rows;
}

/** `reader` (scenario 2 with a subscriber attached): `load` is the reader's process ("1 subscriber process"), `notes` what it got; shown after the load. */
export function publishRow(
  scenario: string,
  target: string,
  runs: PublishRun[],
  setup: PublishSetup,
  discarded: number,
  reader?: { load: string; notes: string[] },
): Row {
  const rates = runs.map((run) => run.rate);
  const errors = runs.reduce((sum, run) => sum + run.errors, 0);
  const firstError = runs.find((run) => run.firstError)?.firstError;
  const latency = (pick: (run: PublishRun) => number | null) =>
    median(runs.map(pick).filter((value): value is number => value !== null))?.toFixed(2) ?? "?";
  const notes = [
    runs[0]?.note ?? "",
    `load: ${setup.processes} process(es), ${setup.inflight} in flight${reader ? ` + ${reader.load}` : ""}`,
    ...(reader?.notes ?? []),
    `latency p50 ${latency((run) => run.p50)} ms, p99 ${latency((run) => run.p99)} ms`,
    cpuNote(runs.map((run) => run.cpu)),
    cpuPerUnitNote(runs, setup.transport === "http" ? "request" : "message"),
    discardedNote(discarded),
  ].filter((note): note is string => Boolean(note));
  if (errors) notes.push(`**${errors} errors** (first: ${firstError})`);
  return { scenario, target, unit: "req/s", value: median(rates), runs: rates, notes };
}

async function publishOnce(target: Target, setup: PublishSetup, options: BenchOptions): Promise<PublishRun> {
  const instance = await target.start();
  const readyAt = performance.now();
  try {
    if (!instance.confirmedPublishPlan) throw new Error("no confirmed publishing on this target");
    const plan = await instance.confirmedPublishPlan(setup.durable, setup.transport);
    let measured: Omit<PublishRun, "stall" | "note">;
    try {
      if (setup.readStall && instance.stall) {
        const loadEndsAt = performance.now() + options.warmupMs + options.measureMs + 200;
        await Bun.sleep(Math.max(0, readyAt + STALL_READ_AFTER_READY_MS - loadEndsAt));
      }
      measured = await driveLoad(plan.spec, instance.pid, instance.helperPids?.() ?? [], setup, options);
    } finally {
      await plan.cleanup().catch(() => {});
    }
    const stall = setup.readStall ? ((await instance.stall?.()) ?? null) : null;
    const note = plan.note ?? (plan.spec.protocol === "http" ? "HTTP POST /publish, keep-alive" : undefined);
    return { ...measured, stall, note };
  } finally {
    await instance.stop();
  }
}

/**
 * Another load process measured over the same window as the publishers (a subscriber reading
 * what they publish): its CPU is metered with theirs, and its count read when the window opens and closes.
 */
export type WindowWatcher = { pid: number; count(): number };

/** One run's publishing, and the watcher's count per second over the same window (null without one). */
export type LoadMeasurement = Omit<PublishRun, "stall" | "note"> & { watchedRate: number | null };

export async function driveLoad(
  spec: ConfirmedPublishSpec,
  brokerPid: number | null,
  helperPids: number[],
  setup: PublishSetup,
  options: BenchOptions,
  watcher?: WindowWatcher,
): Promise<LoadMeasurement> {
  const processes = Array.from({ length: setup.processes }, () => new LoadProcess("confirmed-publish"));
  try {
    processes.forEach((load, i) =>
      load.send({
        kind: "configure",
        spec,
        inflight: share(setup.inflight, setup.processes, i),
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
    const meter = new CpuMeter([brokerPid ?? -1, ...processes.map((load) => load.pid), ...(watcher ? [watcher.pid] : [])], helperPids);
    const watchedFrom = watcher?.count() ?? 0;
    const windowStart = performance.now();
    await Bun.sleep(options.measureMs);
    const { perPid, other, helpers } = meter.read();
    const watchedRate = watcher ? ((watcher.count() - watchedFrom) * 1000) / (performance.now() - windowStart) : null;
    const [broker = null, ...load] = perPid;
    const answers = await Promise.all(results);
    const histogram = merge(answers.map((answer) => answer.latencyBuckets));
    return {
      rate: answers.reduce((sum, answer) => sum + (answer.measuredMs > 0 ? (answer.completed * 1000) / answer.measuredMs : 0), 0),
      confirmedTotal: answers.reduce((sum, answer) => sum + (answer.confirmedTotal ?? answer.completed), 0),
      errors: answers.reduce((sum, answer) => sum + answer.errors, 0),
      firstError: answers.find((answer) => answer.firstError)?.firstError ?? null,
      p50: percentileMs(histogram, 0.5),
      p99: percentileMs(histogram, 0.99),
      cpu: { broker: brokerPid === null ? null : broker, load, other, helpers },
      watchedRate,
    };
  } finally {
    await Promise.all(processes.map((load) => load.finish()));
  }
}

/**
 * Count mode: publishes exactly `total` confirmed messages (to fill a queue), `inflight` at a
 * time, within `timeoutMs`. Returns messages per second; throws unless every one was confirmed.
 */
export async function prefill(spec: ConfirmedPublishSpec, total: number, inflight: number, timeoutMs: number): Promise<number> {
  const load = new LoadProcess("confirmed-publish");
  try {
    load.send({ kind: "configure", spec, inflight, warmupMs: 0, measureMs: timeoutMs, maxRequests: total, total });
    await load.next("ready", READY_TIMEOUT_MS);
    const result = load.next("result", timeoutMs + 30_000);
    load.send({ kind: "go" });
    const answer = await result;
    if (answer.completed !== total) {
      throw new Error(`filling the queue: ${answer.completed} of ${total} confirmed within ${timeoutMs} ms (${answer.errors} errors, first: ${answer.firstError})`);
    }
    return (answer.completed * 1000) / answer.measuredMs;
  } finally {
    await load.finish();
  }
}

function formatMedian(values: Array<number | null>): string {
  return median(values.filter((value): value is number => value !== null))?.toFixed(1) ?? "?";
}

/** Process i's share of `total` split over `parts` as evenly as integers allow. */
function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}
