/**
 * Scenario 3: delivered messages per second with 1 and with 10 subscribers, every subscriber
 * receiving every message, transient, the publisher on a one-way stream (WebSocket frames, AMQP
 * basic.publish, NATS PUB) paced by the slowest subscriber (see fanout-publisher-process.ts).
 *
 * pubsub's main row puts every subscriber on ONE queue (every subscriber of a queue receives every
 * message, through one Bun topic: like for like with raw's one topic and N sockets); the extra
 * "N queues" row (a fanout exchange to a queue per subscriber) shows the cost of routing to N queues.
 */
import { LoadProcess } from "../load/process-handle.ts";
import { PAYLOAD_MARKER, type FanoutSpec, type SubscriberSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter } from "../proc-stats.ts";
import { failedRow, median, type Row } from "../row.ts";
import type { FanoutLayout, Target } from "../targets/target.ts";
import { cpuNote, cpuPerUnitNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";

export const SUBSCRIBER_COUNTS = [1, 10] as const;
/** Subscriber processes report their counts this often; the publisher's pacing lags by about this. */
const REPORT_EVERY_MS = 10;
const READY_TIMEOUT_MS = 20_000;
/** Every subscriber must have received a probe message by then, or the wiring is broken. */
const PROBE_TIMEOUT_MS = 10_000;
/** After the publisher stops, counting loss waits until no delivery arrived for this long … */
const QUIET_MS = 500;
/** … or until this much time passed: a broker's backlog (up to a window per subscriber) drains by then. */
const DRAIN_TIMEOUT_MS = 10_000;
const MAX_MESSAGES = 200_000_000;

/** pubsub and its variants that take part in fan-out also get the "N queues" row. */
const QUEUE_LAYOUT_TARGETS: readonly string[] = ["pubsub", "pubsub-auth", "pubsub-baseline"];
/** [BATCH-1] Batched subscribers: today's build only (an older one refuses the field). */
const BATCHED_TARGETS: readonly string[] = ["pubsub"];

type FanoutRun = { rate: number; loss: number; resyncs: number; cpu: CpuUse; note: string | undefined };

export async function fanoutScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const subscribers of SUBSCRIBER_COUNTS) {
    const scenario = `3. delivered msg/s, fan-out to ${subscribers} subscriber${subscribers > 1 ? "s" : ""}, transient`;
    const variants: Array<{ target: Target; label: string; layout: FanoutLayout; batch: boolean }> = [];
    for (const target of targets) {
      const queueLayouts = QUEUE_LAYOUT_TARGETS.includes(target.name) && subscribers > 1 && options.fanoutQueues;
      const batched = BATCHED_TARGETS.includes(target.name) && options.fanoutBatched;
      variants.push({ target, label: target.name, layout: "one-queue", batch: false });
      if (batched) variants.push({ target, label: `${target.name}, batched`, layout: "one-queue", batch: true });
      if (queueLayouts) variants.push({ target, label: `${target.name}, ${subscribers} queues`, layout: "queue-per-subscriber", batch: false });
      if (queueLayouts && batched) variants.push({ target, label: `${target.name}, ${subscribers} queues, batched`, layout: "queue-per-subscriber", batch: true });
    }
    for (const { target, label, layout, batch } of variants) {
      const { runs, discarded, failure } = await repeatClean(options.runs, () => fanoutOnce(target, subscribers, options, layout, batch));
      if (failure) {
        rows.push(failedRow(scenario, label, "msg/s", failure));
        continue;
      }
      const rates = runs.map((run) => run.rate);
      const subscriberProcs = Math.min(subscribers, options.subscriberProcs);
      const maxLoss = Math.max(...runs.map((run) => run.loss));
      const resyncs = runs.reduce((sum, run) => sum + run.resyncs, 0);
      const notes = [
        runs[0]?.note ?? "",
        `load: 1 publisher + ${subscriberProcs} subscriber process(es)`,
        cpuNote(runs.map((run) => run.cpu)),
        cpuPerUnitNote(runs, "delivery"),
        discardedNote(discarded),
      ].filter((note): note is string => Boolean(note));
      notes.push(
        maxLoss > 0.001
          ? `**up to ${(maxLoss * 100).toFixed(1)}% of deliveries missing at the end** (dropped, or still queued after the drain wait)`
          : "every message delivered to every subscriber",
      );
      if (resyncs) notes.push(`publisher window written off ${resyncs}× (deliveries stalled or dropped)`);
      rows.push({ scenario, target: label, unit: "msg/s", value: median(rates), runs: rates, notes });
    }
  }
  return rows;
}

async function fanoutOnce(target: Target, subscribers: number, options: BenchOptions, layout: FanoutLayout, batch: boolean): Promise<FanoutRun> {
  const instance = await target.start();
  try {
    if (!instance.fanoutPlan) throw new Error("no fan-out on this target");
    const plan = await instance.fanoutPlan(subscribers, layout, batch);
    try {
      const measured = await driveFanout(plan.spec, instance.pid, options);
      return { ...measured, note: plan.note };
    } finally {
      await plan.cleanup().catch(() => {});
    }
  } finally {
    await instance.stop();
  }
}

async function driveFanout(
  spec: FanoutSpec,
  brokerPid: number | null,
  options: BenchOptions,
): Promise<Omit<FanoutRun, "note">> {
  const groups = splitRoundRobin(spec.subscribers, Math.min(spec.subscribers.length, options.subscriberProcs));
  const deadlineMs = options.warmupMs + options.measureMs + READY_TIMEOUT_MS + PROBE_TIMEOUT_MS + 30_000;
  const publisher = new LoadProcess("fanout-publisher");
  const holders = groups.map(() => new LoadProcess("subscribers"));
  const latest = holders.map(() => ({ total: 0, min: 0, closed: 0, firstDelivery: null as string | null }));
  let acked = 0;
  holders.forEach((holder, i) =>
    holder.onMessage((message) => {
      if (message.kind !== "progress") return;
      latest[i] = message;
      const slowest = Math.min(...latest.map((progress) => progress.min));
      if (slowest > acked) {
        acked = slowest;
        publisher.send({ kind: "acked", count: acked });
      }
    }),
  );
  const total = () => latest.reduce((sum, progress) => sum + progress.total, 0);
  const closed = () => latest.reduce((sum, progress) => sum + progress.closed, 0);

  try {
    holders.forEach((holder, i) =>
      holder.send({ kind: "configure", specs: groups[i]!, reportEveryMs: REPORT_EVERY_MS, deadlineMs }),
    );
    await Promise.all(holders.map((holder) => holder.next("ready", READY_TIMEOUT_MS)));
    publisher.send({ kind: "configure", spec: spec.publisher, window: options.window, maxMessages: MAX_MESSAGES, deadlineMs });
    await publisher.next("ready", READY_TIMEOUT_MS);

    // Wiring check: every subscriber receives a probe, and it carries the published payload.
    publisher.send({ kind: "probe" });
    const probeDeadline = performance.now() + PROBE_TIMEOUT_MS;
    while (latest.some((progress) => progress.min < 1)) {
      if (performance.now() > probeDeadline) throw new Error("subscribers received nothing within 10 s of probing");
      if (closed()) throw new Error("the broker closed a subscriber connection");
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
    if (closed()) throw new Error("the broker closed a subscriber connection during the run");

    const published = publisher.next("published", 5_000);
    publisher.send({ kind: "stop" });
    const { sent, resyncs } = await published;
    await drained(total);
    // Each holder sends a last report, then exits.
    for (const holder of holders) holder.send({ kind: "stop" });
    await Promise.all(holders.map((holder) => holder.finish(3_000)));
    const expected = sent * spec.subscribers.length;
    return {
      rate: (endCount - startCount) / elapsedS,
      loss: expected > 0 ? Math.max(0, 1 - total() / expected) : 0,
      resyncs,
      cpu: { broker: brokerPid === null ? null : broker, load, other },
    };
  } finally {
    await Promise.all([publisher, ...holders].map((load) => load.finish()));
  }
}

/** Resolves once the delivered count stopped growing (or at the drain timeout). */
async function drained(total: () => number): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  let last = total();
  let quietSince = performance.now();
  while (performance.now() < deadline && performance.now() - quietSince < QUIET_MS) {
    await Bun.sleep(REPORT_EVERY_MS * 5);
    if (total() !== last) {
      last = total();
      quietSince = performance.now();
    }
  }
}

function splitRoundRobin(specs: SubscriberSpec[], groups: number): SubscriberSpec[][] {
  const split = Array.from({ length: groups }, () => [] as SubscriberSpec[]);
  specs.forEach((spec, i) => split[i % groups]!.push(spec));
  return split;
}
