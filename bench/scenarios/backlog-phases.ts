/**
 * The phases of scenario 10, each bounded by a message count and by time: filling one durable
 * queue with no consumer (confirmed publishes, refusals counted and published again), the first
 * delivery after a restart, and draining the backlog with competing consumers.
 */
import { LoadProcess } from "../load/process-handle.ts";
import type { ConfirmedPublishResult, Progress } from "../load/messages.ts";
import { openConsumer } from "../load/protocols/open.ts";
import type { ConfirmedPublishSpec, ConsumerSpec } from "../load/specs.ts";
import { CpuMeter } from "../proc-stats.ts";
import type { TargetInstance } from "../targets/target.ts";
import type { CpuUse } from "./cpu-note.ts";

const READY_TIMEOUT_MS = 20_000;
/** Publishes outstanding while filling: enough that the broker, not the round trip, sets the pace. */
export const FILL_INFLIGHT = 1024;
/** A refused publish's slot waits this long: 1,024 slots then ask a refusing broker ≤ 10,240 times a second. */
const FILL_ERROR_BACKOFF_MS = 100;
/** A broker that confirmed nothing for this long (refusing everything, or gone) ends the fill early. */
export const FILL_GIVE_UP_MS = 60_000;
/** Attempts (confirmed or refused) per fill, whatever the time: keeps the loop finite against a broken timer. */
const MAX_FILL_ATTEMPTS = 100_000_000;
const PROGRESS_EVERY_MS = 1_000;
const LOG_EVERY_MS = 10_000;
/** `recent_max_stall_ms` covers 10 s: read twice as often, no stall is missed. */
const STALL_SAMPLE_MS = 5_000;
/** After a restart, a consumer that got nothing by then means the backlog was not restored. */
const FIRST_DELIVERY_TIMEOUT_MS = 300_000;
/** A drain that acknowledged nothing for this long is over. */
export const DRAIN_QUIET_MS = 60_000;
const DRAIN_REPORT_EVERY_MS = 20;

const log = (line: string) => console.error(`bench:   ${line}`);

export type FillResult = {
  confirmed: number;
  refused: number;
  refusedByKind: Record<string, number>;
  firstRefusal: string | null;
  /** `go` → the last confirm: the rate's denominator (a fill that stalled went on well after it). */
  elapsedMs: number;
  /** `go` → the publisher stopped. */
  ranMs: number;
  /** Why it stopped before every message was confirmed, or null. */
  endedEarly: string | null;
  cpu: CpuUse;
  /** Worst `recent_max_stall_ms` read during the phase (every 5 s and at its end); null without /metrics. */
  sampledStallMs: number | null;
};

/** Publishes until `total` are confirmed, refused ones again, within `phaseMs`. */
export async function fill(spec: ConfirmedPublishSpec, total: number, phaseMs: number, instance: TargetInstance): Promise<FillResult> {
  const load = new LoadProcess("confirmed-publish");
  let lastLogAt = performance.now();
  load.onMessage((message) => {
    if (message.kind !== "fill-progress" || performance.now() - lastLogAt < LOG_EVERY_MS) return;
    lastLogAt = performance.now();
    log(`fill: ${message.confirmed.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} confirmed, ${message.refused.toLocaleString("en-US")} refused`);
  });
  try {
    load.send({
      kind: "configure",
      spec,
      inflight: FILL_INFLIGHT,
      warmupMs: 0,
      measureMs: phaseMs,
      maxRequests: MAX_FILL_ATTEMPTS,
      total,
      retryRefused: true,
      errorBackoffMs: FILL_ERROR_BACKOFF_MS,
      giveUpAfterMs: FILL_GIVE_UP_MS,
      reportEveryMs: PROGRESS_EVERY_MS,
    });
    await load.next("ready", READY_TIMEOUT_MS);
    const result = load.next("result", phaseMs + 60_000);
    result.catch(() => {}); // awaited below; this only marks it handled
    const meter = new CpuMeter([instance.pid ?? -1, load.pid], instance.helperPids?.() ?? []);
    const stalls = sampleStalls(instance);
    load.send({ kind: "go" });
    let answer: ConfirmedPublishResult;
    try {
      answer = await result;
    } finally {
      await stalls.stop();
    }
    const { perPid, other, helpers } = meter.read();
    return {
      confirmed: answer.completed,
      refused: answer.errors,
      refusedByKind: answer.errorKinds ?? {},
      firstRefusal: answer.firstError,
      elapsedMs: answer.lastConfirmMs ?? answer.measuredMs,
      ranMs: answer.measuredMs,
      endedEarly: answer.endedEarly ?? null,
      cpu: { broker: instance.pid === null ? null : (perPid[0] ?? null), load: perPid.slice(1), other, helpers },
      sampledStallMs: stalls.worst(),
    };
  } finally {
    await load.finish();
  }
}

/**
 * Milliseconds from `startedAt` to the first delivery to a consumer opened now (in this process,
 * so that no load process's own start-up is timed), prefetch 1. The message is not acknowledged:
 * it goes back to the queue when the consumer closes.
 */
export async function firstDelivery(spec: ConsumerSpec, startedAt: number): Promise<number> {
  const delivered = Promise.withResolvers<number>();
  const consumer = await openConsumer(spec, () => {
    delivered.resolve(performance.now());
    return false;
  });
  try {
    await consumer.start();
    const at = await Promise.race([delivered.promise, Bun.sleep(FIRST_DELIVERY_TIMEOUT_MS).then(() => null)]);
    if (at === null) throw new Error(`no delivery within ${FIRST_DELIVERY_TIMEOUT_MS / 1000} s of the restart${consumer.firstError ? `: ${consumer.firstError}` : ""}`);
    return at - startedAt;
  } finally {
    await consumer.close();
  }
}

export type DrainResult = {
  acked: number;
  elapsedMs: number;
  endedEarly: string | null;
  redelivered: number;
  firstDelivery: string | null;
  firstError: string | null;
  cpu: CpuUse;
  sampledStallMs: number | null;
  /** What the broker says is left, read before the consumers close. */
  left: { ready: number; unacked: number | null } | null;
};

/** Competing consumers acknowledge every message until `expected` are acknowledged, within `phaseMs`. */
export async function drain(
  specs: ConsumerSpec[],
  processes: number,
  expected: number,
  phaseMs: number,
  instance: TargetInstance,
  depth: (() => Promise<{ ready: number; unacked: number | null }>) | undefined,
): Promise<DrainResult> {
  const groups = Array.from({ length: Math.min(specs.length, processes) }, () => [] as ConsumerSpec[]);
  specs.forEach((spec, i) => groups[i % groups.length]!.push(spec));
  const holders = groups.map(() => new LoadProcess("consumers"));
  const latest: Progress[] = holders.map(() => ({ kind: "progress", total: 0, min: 0, closed: 0, firstDelivery: null }));
  holders.forEach((holder, i) =>
    holder.onMessage((message) => {
      if (message.kind === "progress") latest[i] = message;
    }),
  );
  const acked = () => latest.reduce((sum, progress) => sum + progress.total, 0);
  try {
    const deadlineMs = phaseMs + READY_TIMEOUT_MS + 30_000;
    holders.forEach((holder, i) =>
      holder.send({ kind: "configure", role: "consumers", specs: groups[i]!, reportEveryMs: DRAIN_REPORT_EVERY_MS, deadlineMs, limit: null }),
    );
    await Promise.all(holders.map((holder) => holder.next("ready", READY_TIMEOUT_MS)));
    const meter = new CpuMeter([instance.pid ?? -1, ...holders.map((holder) => holder.pid)], instance.helperPids?.() ?? []);
    const stalls = sampleStalls(instance);
    const startedAt = performance.now();
    for (const holder of holders) holder.send({ kind: "go" });
    let endedEarly: string | null = null;
    let endAt = startedAt;
    let last = 0;
    let lastGrowthAt = startedAt;
    let lastLogAt = startedAt;
    try {
      while (acked() < expected) {
        await Bun.sleep(DRAIN_REPORT_EVERY_MS);
        const now = performance.now();
        const count = acked();
        if (count > last) {
          last = count;
          lastGrowthAt = endAt = now;
        }
        if (latest.some((progress) => progress.closed)) endedEarly = "the broker closed a consumer connection";
        else if (now - lastGrowthAt > DRAIN_QUIET_MS) endedEarly = `nothing acknowledged for ${DRAIN_QUIET_MS / 1000} s`;
        else if (now - startedAt > phaseMs) endedEarly = "time limit";
        if (endedEarly) break;
        if (now - lastLogAt > LOG_EVERY_MS) {
          lastLogAt = now;
          log(`drain: ${count.toLocaleString("en-US")} of ${expected.toLocaleString("en-US")} acknowledged`);
        }
      }
      if (!endedEarly) endAt = performance.now();
    } finally {
      await stalls.stop();
    }
    const { perPid, other, helpers } = meter.read();
    const left = depth ? await depth().catch(() => null) : null;
    return {
      acked: acked(),
      elapsedMs: endAt - startedAt,
      endedEarly,
      redelivered: latest.reduce((sum, progress) => sum + (progress.redelivered ?? 0), 0),
      firstDelivery: latest.find((progress) => progress.firstDelivery)?.firstDelivery ?? null,
      firstError: latest.find((progress) => progress.firstError)?.firstError ?? null,
      cpu: { broker: instance.pid === null ? null : (perPid[0] ?? null), load: perPid.slice(1), other, helpers },
      sampledStallMs: stalls.worst(),
      left,
    };
  } finally {
    for (const holder of holders) holder.send({ kind: "stop" });
    await Promise.all(holders.map((holder) => holder.finish(3_000)));
  }
}

/** Reads the broker's `recent_max_stall_ms` every few seconds until stopped (and once more then), keeping the worst. */
function sampleStalls(instance: TargetInstance): { stop(): Promise<void>; worst(): number | null } {
  let worst: number | null = null;
  const read = async () => {
    const reading = await instance.stall?.().catch(() => null);
    const recent = reading?.recentMs;
    if (typeof recent === "number") worst = Math.max(worst ?? 0, recent);
  };
  // A broker too busy to answer is given until the next sample, not forever.
  const bounded = () => Promise.race([read(), Bun.sleep(STALL_SAMPLE_MS)]);
  let reading: Promise<unknown> = Promise.resolve();
  const timer = instance.stall ? setInterval(() => (reading = reading.then(bounded)), STALL_SAMPLE_MS) : null;
  return {
    async stop() {
      if (!timer) return;
      clearInterval(timer);
      await reading;
      await bounded();
    },
    worst: () => worst,
  };
}
