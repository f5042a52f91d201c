/**
 * Scenario 6: consume-and-ack from a pre-filled durable queue, with prefetch 1, 10 and 100.
 *
 * Each run: a fresh broker (pubsub) or fresh queue (RabbitMQ, NATS); the queue is filled with
 * confirmed publishes (the sum of the phases' budgets, 1,024 in flight); then one phase per
 * prefetch, one after the other, each a fresh consumer connection that acknowledges every message.
 * A phase acknowledges exactly its budget (later deliveries are left unacknowledged and go back
 * when the consumer closes) or stops after warm-up + measure seconds, whichever comes first; the rate is taken from the consumer's own timestamped counts, after a
 * warm-up (the warm-up time, or a tenth of the budget, whichever comes first).
 */
import { LoadProcess } from "../load/process-handle.ts";
import type { Progress } from "../load/messages.ts";
import { PAYLOAD_MARKER, type ConsumerSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter } from "../proc-stats.ts";
import { failedRow, median, skippedRow, type Row } from "../row.ts";
import type { Target } from "../targets/target.ts";
import { prefill } from "./confirmed-publish.ts";
import { cpuNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";
import { CHECKPOINT_ENV } from "./work-queue.ts";

const REPORT_EVERY_MS = 10;
const READY_TIMEOUT_MS = 20_000;
const PREFILL_INFLIGHT = 1024;
/**
 * The queue holds this much more than the phases' budgets together: a phase stops a few messages
 * past its budget, and the last phase must not find the queue empty.
 */
const PREFILL_SLACK = 1.1;
const PREFILL_TIMEOUT_MS = 60_000;
/** A phase that acknowledged nothing for this long is broken. */
const STALL_TIMEOUT_MS = 10_000;

type Phase = {
  rate: number;
  measuredMs: number;
  budgetReached: boolean;
  redelivered: number;
  firstError: string | null;
  cpu: CpuUse;
};
type ConsumeRun = { phases: Phase[]; fillRate: number; cpu: CpuUse; note: string | undefined };

export async function consumeScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const label = (prefetch: number) => `6. consume-and-ack msg/s from a pre-filled durable queue, prefetch ${prefetch}`;
  const rows: Row[] = [];
  for (const target of targets) {
    const reason =
      target.notApplicable?.consume ??
      (target.name === "nats" && !options.consumeNats
        ? "not measured by default (issue 3 compares pubsub with RabbitMQ; JetStream acks are in scenario 5): add --consume-nats"
        : undefined);
    if (reason) {
      for (const prefetch of options.consumePrefetches) rows.push(skippedRow(label(prefetch), target.name, "msg/s", reason));
      continue;
    }
    const { runs, discarded, failure } = await repeatClean(options.runs, () => consumeOnce(target, options));
    options.consumePrefetches.forEach((prefetch, i) => {
      if (failure) {
        rows.push(failedRow(label(prefetch), target.name, "msg/s", failure));
        return;
      }
      const phases = runs.map((run) => run.phases[i]!);
      const rates = phases.map((phase) => phase.rate);
      const budgetRuns = phases.filter((phase) => phase.budgetReached).length;
      const notes = [
        runs[0]?.note ?? "",
        `filled with ${prefillCount(options).toLocaleString("en-US")} messages at ` +
          `${Math.round(median(runs.map((run) => run.fillRate)) ?? 0).toLocaleString("en-US")} confirmed msg/s`,
        `measured over ${Math.round(median(phases.map((phase) => phase.measuredMs)) ?? 0)} ms` +
          (budgetRuns ? ` (${budgetRuns} run(s) ended at the phase's budget of ${options.consumeBudget[i]!.toLocaleString("en-US")})` : ""),
        "load: 1 consumer process",
        cpuNote(phases.map((phase) => phase.cpu)),
        discardedNote(discarded),
      ].filter((note): note is string => Boolean(note));
      const redelivered = phases.reduce((sum, phase) => sum + phase.redelivered, 0);
      if (redelivered) notes.push(`${redelivered} deliveries flagged redelivered (held unacked by the previous phase's consumer)`);
      const firstError = phases.find((phase) => phase.firstError)?.firstError;
      if (firstError) notes.push(`**error: ${firstError}**`);
      rows.push({ scenario: label(prefetch), target: target.name, unit: "msg/s", value: median(rates), runs: rates, notes });
    });
  }
  return rows;
}

async function consumeOnce(target: Target, options: BenchOptions): Promise<ConsumeRun> {
  const instance = await target.start({ env: CHECKPOINT_ENV });
  try {
    if (!instance.backlogPlan) throw new Error("no durable queue with consumers on this target");
    const plan = await instance.backlogPlan();
    try {
      const fillRate = await prefill(plan.spec.prefill, prefillCount(options), PREFILL_INFLIGHT, PREFILL_TIMEOUT_MS);
      const phases: Phase[] = [];
      for (const [i, prefetch] of options.consumePrefetches.entries()) {
        const spec = await plan.spec.consumer(prefetch);
        phases.push(await consumePhase(spec, options.consumeBudget[i]!, instance.pid, instance.helperPids?.() ?? [], options));
      }
      // The run is as clean as its busiest phase.
      const busiest = phases.reduce((worst, phase) => ((phase.cpu.other ?? 0) > (worst.cpu.other ?? 0) ? phase : worst));
      return { phases, fillRate, cpu: busiest.cpu, note: plan.note };
    } finally {
      await plan.cleanup().catch(() => {});
    }
  } finally {
    await instance.stop();
  }
}

function prefillCount(options: BenchOptions): number {
  return Math.ceil(options.consumeBudget.reduce((a, b) => a + b, 0) * PREFILL_SLACK);
}

async function consumePhase(
  spec: ConsumerSpec,
  budget: number,
  brokerPid: number | null,
  helperPids: number[],
  options: BenchOptions,
): Promise<Phase> {
  const load = new LoadProcess("consumers");
  const samples: Progress[] = [];
  load.onMessage((message) => {
    if (message.kind === "progress" && message.atUs !== undefined) samples.push(message);
  });
  try {
    const deadlineMs = options.warmupMs + options.measureMs + READY_TIMEOUT_MS + STALL_TIMEOUT_MS + 10_000;
    load.send({ kind: "configure", role: "consumers", specs: [spec], reportEveryMs: REPORT_EVERY_MS, deadlineMs, limit: budget });
    await load.next("ready", READY_TIMEOUT_MS);
    const meter = new CpuMeter([brokerPid ?? -1, load.pid], helperPids);
    load.send({ kind: "go" });
    const warmupBy = Math.max(1, Math.floor(budget / 10));
    let mark: Progress | null = null;
    let end: Progress | null = null;
    let lastGrowth = performance.now();
    let lastTotal = 0;
    let firstAt: number | null = null;
    while (!end) {
      await Bun.sleep(REPORT_EVERY_MS);
      const latest = samples.at(-1);
      if (!latest) continue;
      if (latest.firstError) throw new Error(`consumer error: ${latest.firstError}`);
      if (latest.total > lastTotal) {
        lastTotal = latest.total;
        lastGrowth = performance.now();
      } else if (performance.now() - lastGrowth > STALL_TIMEOUT_MS) {
        throw new Error(`consumer stalled at ${latest.total} of ${budget} acknowledged (prefetch ${spec.prefetch})`);
      }
      if (firstAt === null && latest.total > 0) firstAt = latest.atUs!;
      if (!mark && firstAt !== null) {
        mark = samples.find((sample) => sample.total >= warmupBy || sample.atUs! - firstAt! >= options.warmupMs * 1000) ?? null;
      }
      if (mark) {
        end =
          samples.find((sample) => sample.total >= budget) ??
          samples.find((sample) => sample.atUs! - mark!.atUs! >= options.measureMs * 1000) ??
          null;
      }
    }
    const { perPid, other, helpers } = meter.read();
    load.send({ kind: "stop" });
    const first = samples.find((sample) => sample.firstDelivery)?.firstDelivery ?? "";
    if (!first.includes(PAYLOAD_MARKER)) throw new Error(`first delivery lacks the payload: ${first.slice(0, 120)}`);
    const measuredMs = (end.atUs! - mark!.atUs!) / 1000;
    if (measuredMs <= 0) throw new Error(`the budget of ${budget} was consumed before any measurement: raise --consume-budget`);
    return {
      rate: ((end.total - mark!.total) * 1000) / measuredMs,
      measuredMs,
      budgetReached: end.total >= budget,
      redelivered: end.redelivered ?? 0,
      firstError: null,
      cpu: { broker: brokerPid === null ? null : (perPid[0] ?? null), load: perPid.slice(1), other, helpers },
    };
  } finally {
    await load.finish(3_000);
  }
}
