/**
 * Scenario 8: publish→deliver latency at a fixed rate (2,000 msg/s) for a fixed time (10 s) after
 * a warm-up, one subscriber, transient (pubsub: a queue with one subscriber; raw: a topic; RabbitMQ:
 * a fanout exchange to an exclusive auto-ack queue; NATS: a core subject). The publisher stamps
 * each message with its send time on the clock every process shares; the subscriber subtracts it
 * from the time the message arrived. Percentiles come from all messages of the measured window.
 */
import { percentileMs } from "../load/latency-histogram.ts";
import { LoadProcess } from "../load/process-handle.ts";
import type { FromLoad } from "../load/messages.ts";
import { nowUs, PAYLOAD_MARKER, type FanoutSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter } from "../proc-stats.ts";
import { failedRow, median, type Row } from "../row.ts";
import type { StallReading, Target } from "../targets/target.ts";
import { cpuNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";

const READY_TIMEOUT_MS = 20_000;
const PROBE_TIMEOUT_MS = 10_000;
/** After the warm-up burst is delivered: time for the JIT's compiler threads to finish. */
const WARM_PAUSE_MS = 1_000;
const WARM_TIMEOUT_MS = 30_000;
/** After the last message, deliveries still on their way get this long. */
const SETTLE_MS = 300;

type LatencyRun = {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  recorded: number;
  received: number;
  sent: number;
  lagMs: number;
  stall: StallReading | null;
  cpu: CpuUse;
  note: string | undefined;
};

const PERCENTILES = [
  { label: "p50", pick: (run: LatencyRun) => run.p50 },
  { label: "p99", pick: (run: LatencyRun) => run.p99 },
  { label: "p99.9", pick: (run: LatencyRun) => run.p999 },
] as const;

export async function latencyScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const label = (percentile: string) =>
    `8. publish→deliver latency ${percentile}, ${options.latencyRate.toLocaleString("en-US")} msg/s for ${options.latencyMs / 1000} s, 1 subscriber, transient`;
  const rows: Row[] = [];
  for (const target of targets) {
    const { runs, discarded, failure } = await repeatClean(options.runs, () => latencyOnce(target, options));
    for (const { label: percentile, pick } of PERCENTILES) {
      if (failure) {
        rows.push(failedRow(label(percentile), target.name, "ms", failure));
        continue;
      }
      const values = runs.map(pick);
      const notes = [runs[0]?.note ?? ""];
      if (percentile === "p50") {
        const expected = Math.floor((options.latencyRate * options.latencyMs) / 1000);
        notes.push(
          `${median(runs.map((run) => run.recorded))?.toLocaleString("en-US")} messages measured per run (${expected.toLocaleString("en-US")} published in the window)`,
          `worst single message: ${median(runs.map((run) => run.max))?.toFixed(2)} ms (median over runs)`,
          "load: 1 publisher + 1 subscriber process",
          cpuNote(runs.map((run) => run.cpu)),
        );
        const stalls = runs.map((run) => run.stall?.recentMs).filter((value): value is number => typeof value === "number");
        if (stalls.length) notes.push(`broker's worst event-loop stall in the last 10 s of the run: ${median(stalls)!.toFixed(1)} ms`);
        const lag = Math.max(...runs.map((run) => run.lagMs));
        if (lag > 5) notes.push(`publisher fell up to ${lag.toFixed(1)} ms behind its schedule (those messages went out in a burst)`);
        const lost = Math.max(...runs.map((run) => run.sent - run.received));
        if (lost > 0) notes.push(`**up to ${lost} message(s) not delivered**`);
        const note = discardedNote(discarded);
        if (note) notes.push(note);
      }
      rows.push({ scenario: label(percentile), target: target.name, unit: "ms", value: median(values), runs: values, notes: notes.filter(Boolean) });
    }
  }
  return rows;
}

async function latencyOnce(target: Target, options: BenchOptions): Promise<LatencyRun> {
  const instance = await target.start();
  try {
    if (!instance.fanoutPlan) throw new Error("no fan-out on this target");
    const plan = await instance.fanoutPlan(1, "one-queue");
    try {
      const measured = await driveLatency(plan.spec, instance.pid, options);
      const stall = (await instance.stall?.()) ?? null;
      return { ...measured, stall, note: plan.note };
    } finally {
      await plan.cleanup().catch(() => {});
    }
  } finally {
    await instance.stop();
  }
}

async function driveLatency(spec: FanoutSpec, brokerPid: number | null, options: BenchOptions): Promise<Omit<LatencyRun, "stall" | "note">> {
  const durationMs = options.warmupMs + options.latencyMs;
  const deadlineMs = durationMs + READY_TIMEOUT_MS * 2 + PROBE_TIMEOUT_MS + WARM_TIMEOUT_MS + WARM_PAUSE_MS + 30_000;
  const subscriber = new LoadProcess("subscribers");
  const publisher = new LoadProcess("latency-publisher");
  let progress: Extract<FromLoad, { kind: "progress" }> | null = null;
  subscriber.onMessage((message) => {
    if (message.kind === "progress") progress = message;
  });
  const received = () => (progress as { total: number } | null)?.total ?? 0;
  try {
    subscriber.send({ kind: "configure", specs: spec.subscribers, reportEveryMs: 50, deadlineMs, latency: true });
    await subscriber.next("ready", READY_TIMEOUT_MS);
    publisher.send({ kind: "configure", role: "latency-publisher", spec: spec.publisher, rate: options.latencyRate, durationMs, deadlineMs });
    await publisher.next("ready", READY_TIMEOUT_MS);

    publisher.send({ kind: "probe" });
    const probeDeadline = performance.now() + PROBE_TIMEOUT_MS;
    while (received() < 1) {
      if (performance.now() > probeDeadline) throw new Error("the subscriber received nothing within 10 s of probing");
      await Bun.sleep(20);
    }
    const first = (progress as { firstDelivery: string | null } | null)?.firstDelivery ?? "";
    if (!first.includes(PAYLOAD_MARKER)) throw new Error(`first delivery lacks the payload: ${first.slice(0, 120)}`);
    if (options.latencyWarm > 0) {
      // [BENCH-WARM-1] At 2,000 msg/s a 1 s warm-up ends before a broker's hot path is compiled:
      // pubsub's first seconds had 5-10x the slow messages of later ones (JIT worker threads
      // compiling beside it on two cores). A burst runs that code often enough, for every target.
      const warmed = publisher.next("warmed", WARM_TIMEOUT_MS);
      publisher.send({ kind: "warm", count: options.latencyWarm });
      const { sent } = await warmed;
      const warmDeadline = performance.now() + WARM_TIMEOUT_MS;
      while (received() < sent) {
        if (performance.now() > warmDeadline) throw new Error(`the warm-up burst was not delivered within 30 s (${received()} of ${sent})`);
        await Bun.sleep(20);
      }
      await Bun.sleep(WARM_PAUSE_MS);
    }

    const published = publisher.next("published", durationMs + 10_000);
    subscriber.send({ kind: "record", fromUs: nowUs() + options.warmupMs * 1000 });
    publisher.send({ kind: "go" });
    await Bun.sleep(options.warmupMs);
    const meter = new CpuMeter([brokerPid ?? -1, publisher.pid, subscriber.pid]);
    const { sent, lagMs = 0 } = await published;
    const { perPid, other } = meter.read();
    await Bun.sleep(SETTLE_MS);
    const result = subscriber.next("latency", 5_000);
    subscriber.send({ kind: "stop" });
    const { buckets, recorded, received: delivered } = await result;
    if (recorded === 0) throw new Error("no message was measured");
    const [broker = null, ...load] = perPid;
    return {
      p50: percentileMs(buckets, 0.5)!,
      p99: percentileMs(buckets, 0.99)!,
      p999: percentileMs(buckets, 0.999)!,
      max: percentileMs(buckets, 1)!,
      recorded,
      received: delivered,
      sent,
      lagMs,
      cpu: { broker: brokerPid === null ? null : broker, load, other },
    };
  } finally {
    await Promise.all([publisher.finish(), subscriber.finish()]);
  }
}
