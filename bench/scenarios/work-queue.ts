/**
 * Scenario 5: a work queue. One publisher streams 256-byte messages into a durable queue (no
 * confirms: WebSocket PUBLISH frames without id, AMQP basic.publish, core NATS PUB into a
 * JetStream stream), at most `window` messages ahead of the acknowledgements; `consumers`
 * competing consumers with `prefetch` each acknowledge every message. The number is acknowledged
 * messages per second, all consumers together; at the end every published message must have been
 * acknowledged once.
 */
import { LoadProcess } from "../load/process-handle.ts";
import type { Progress } from "../load/messages.ts";
import { PAYLOAD_MARKER, type ConsumerSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter } from "../proc-stats.ts";
import { failedRow, median, skippedRow, type Row } from "../row.ts";
import type { Target, WorkQueueSpec } from "../targets/target.ts";
import { cpuNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";

const REPORT_EVERY_MS = 10;
const READY_TIMEOUT_MS = 20_000;
const PROBE_TIMEOUT_MS = 10_000;
const QUIET_MS = 500;
const DRAIN_TIMEOUT_MS = 10_000;
const MAX_MESSAGES = 200_000_000;
/** pubsub removes acknowledged messages from its store at each checkpoint: every second here, so that cost is measured. */
export const CHECKPOINT_ENV = { CHECKPOINT_IN_SECONDS: "1" };

type WorkRun = {
  rate: number;
  sent: number;
  acked: number;
  redelivered: number;
  resyncs: number;
  firstError: string | null;
  cpu: CpuUse;
  note: string | undefined;
};

export async function workQueueScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const scenario = `5. work queue: acked msg/s, 1 publisher → ${options.consumers} consumers, prefetch ${options.prefetch}, durable`;
  const rows: Row[] = [];
  for (const target of targets) {
    const reason = target.notApplicable?.workqueue;
    if (reason) {
      rows.push(skippedRow(scenario, target.name, "msg/s", reason));
      continue;
    }
    const { runs, discarded, failure } = await repeatClean(options.runs, () => workOnce(target, options));
    if (failure) {
      rows.push(failedRow(scenario, target.name, "msg/s", failure));
      continue;
    }
    const rates = runs.map((run) => run.rate);
    const processes = Math.min(options.consumers, options.subscriberProcs);
    const notes = [
      runs[0]?.note ?? "",
      `load: 1 publisher + ${processes} consumer process(es)`,
      cpuNote(runs.map((run) => run.cpu)),
      discardedNote(discarded),
    ].filter((note): note is string => Boolean(note));
    const missing = Math.max(...runs.map((run) => run.sent - run.acked));
    const extra = Math.max(...runs.map((run) => run.acked - run.sent));
    if (missing > 0) notes.push(`**up to ${missing} published message(s) never acknowledged by the end**`);
    else if (extra > 0) notes.push(`**up to ${extra} more acknowledgements than messages published** (redeliveries)`);
    else notes.push("every published message acknowledged exactly once");
    const redelivered = runs.reduce((sum, run) => sum + run.redelivered, 0);
    if (redelivered) notes.push(`${redelivered} deliveries flagged redelivered`);
    const resyncs = runs.reduce((sum, run) => sum + run.resyncs, 0);
    if (resyncs) notes.push(`publisher window written off ${resyncs}× (acks stalled)`);
    const firstError = runs.find((run) => run.firstError)?.firstError;
    if (firstError) notes.push(`**error: ${firstError}**`);
    rows.push({ scenario, target: target.name, unit: "msg/s", value: median(rates), runs: rates, notes });
  }
  return rows;
}

async function workOnce(target: Target, options: BenchOptions): Promise<WorkRun> {
  const instance = await target.start({ env: CHECKPOINT_ENV });
  try {
    if (!instance.workQueuePlan) throw new Error("no work queue on this target");
    const plan = await instance.workQueuePlan(options.consumers, options.prefetch);
    try {
      return { ...(await driveWork(plan.spec, instance.pid, options)), note: plan.note };
    } finally {
      await plan.cleanup().catch(() => {});
    }
  } finally {
    await instance.stop();
  }
}

async function driveWork(spec: WorkQueueSpec, brokerPid: number | null, options: BenchOptions): Promise<Omit<WorkRun, "note">> {
  const groups = splitRoundRobin(spec.consumers, Math.min(spec.consumers.length, options.subscriberProcs));
  const deadlineMs = options.warmupMs + options.measureMs + READY_TIMEOUT_MS + PROBE_TIMEOUT_MS + DRAIN_TIMEOUT_MS + 30_000;
  const publisher = new LoadProcess("fanout-publisher");
  const holders = groups.map(() => new LoadProcess("consumers"));
  const latest: Progress[] = holders.map(() => ({ kind: "progress", total: 0, min: 0, closed: 0, firstDelivery: null }));
  const total = () => latest.reduce((sum, progress) => sum + progress.total, 0);
  let relayed = 0;
  holders.forEach((holder, i) =>
    holder.onMessage((message) => {
      if (message.kind !== "progress") return;
      latest[i] = message;
      const acked = total();
      if (acked > relayed) {
        relayed = acked;
        publisher.send({ kind: "acked", count: acked });
      }
    }),
  );
  try {
    holders.forEach((holder, i) =>
      holder.send({ kind: "configure", role: "consumers", specs: groups[i]!, reportEveryMs: REPORT_EVERY_MS, deadlineMs, limit: null }),
    );
    await Promise.all(holders.map((holder) => holder.next("ready", READY_TIMEOUT_MS)));
    for (const holder of holders) holder.send({ kind: "go" });
    publisher.send({ kind: "configure", spec: spec.publisher, window: options.window, maxMessages: MAX_MESSAGES, deadlineMs });
    await publisher.next("ready", READY_TIMEOUT_MS);

    // Wiring check: probes reach a consumer and carry the published payload.
    publisher.send({ kind: "probe" });
    const probeDeadline = performance.now() + PROBE_TIMEOUT_MS;
    while (total() < 1) {
      const error = latest.find((progress) => progress.firstError)?.firstError;
      if (error) throw new Error(`consumer error: ${error}`);
      if (performance.now() > probeDeadline) throw new Error("consumers acknowledged nothing within 10 s of probing");
      await Bun.sleep(REPORT_EVERY_MS);
    }
    const first = latest.find((progress) => progress.firstDelivery)?.firstDelivery ?? "";
    if (!first.includes(PAYLOAD_MARKER)) throw new Error(`first delivery lacks the payload: ${first.slice(0, 120)}`);

    publisher.send({ kind: "go" });
    await Bun.sleep(options.warmupMs);
    const meter = new CpuMeter([brokerPid ?? -1, publisher.pid, ...holders.map((holder) => holder.pid)]);
    const startCount = total();
    const startedAt = performance.now();
    await Bun.sleep(options.measureMs);
    const endCount = total();
    const elapsedS = (performance.now() - startedAt) / 1000;
    const { perPid, other } = meter.read();
    const [broker = null, ...load] = perPid;
    if (latest.some((progress) => progress.closed)) throw new Error("the broker closed a consumer connection during the run");

    const published = publisher.next("published", 5_000);
    publisher.send({ kind: "stop" });
    const { sent, resyncs } = await published;
    await drained(total);
    for (const holder of holders) holder.send({ kind: "stop" });
    await Promise.all(holders.map((holder) => holder.finish(3_000)));
    return {
      rate: (endCount - startCount) / elapsedS,
      sent,
      acked: total(),
      redelivered: latest.reduce((sum, progress) => sum + (progress.redelivered ?? 0), 0),
      resyncs,
      firstError: latest.find((progress) => progress.firstError)?.firstError ?? null,
      cpu: { broker: brokerPid === null ? null : broker, load, other },
    };
  } finally {
    await Promise.all([publisher, ...holders].map((process) => process.finish()));
  }
}

/** Resolves once the count stopped growing (or at the drain timeout). */
export async function drained(count: () => number): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  let last = count();
  let quietSince = performance.now();
  while (performance.now() < deadline && performance.now() - quietSince < QUIET_MS) {
    await Bun.sleep(REPORT_EVERY_MS * 5);
    if (count() !== last) {
      last = count();
      quietSince = performance.now();
    }
  }
}

function splitRoundRobin(specs: ConsumerSpec[], groups: number): ConsumerSpec[][] {
  const split = Array.from({ length: groups }, () => [] as ConsumerSpec[]);
  specs.forEach((spec, i) => split[i % groups]!.push(spec));
  return split;
}
