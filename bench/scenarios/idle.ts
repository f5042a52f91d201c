/**
 * Scenario 9: 10,000 idle subscriber connections (pubsub: WebSockets subscribed to one queue; raw:
 * WebSockets on one topic; NATS: TCP connections subscribed to one subject), held by several load
 * processes. Measured: the broker's RSS growth divided by the connections (RSS per connection; only
 * for brokers the harness starts fresh: a shared service's heap reuses memory from earlier runs, so
 * its RSS growth was measured at 17 KiB, −0.4 and −1.7 KiB per connection in three runs in a row),
 * and the time from sending one message to the moment the last connection received it.
 *
 * The broadcast is sent by the harness itself over one connection; each load process reports the
 * moment all of its connections had the message (each message carries its index in the payload),
 * on the clock all processes share. The time includes the load processes reading 10,000 frames on
 * the same 2 cores as the broker.
 */
import { LoadProcess } from "../load/process-handle.ts";
import { openStampedPublisher } from "../load/protocols/open.ts";
import type { StampedPublisher } from "../load/protocols/roles.ts";
import { nowUs, type SubscriberSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter, rssKib } from "../proc-stats.ts";
import { failedRow, median, skippedRow, type Row } from "../row.ts";
import type { Target } from "../targets/target.ts";
import { cpuNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";

/** Connections each load process opens at once. */
const CONCURRENCY = 64;
const CONNECT_TIMEOUT_MS = 90_000;
const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 20_000;
/** Before reading RSS: the broker's allocations for new connections settle. */
const SETTLE_MS = 1_000;
const BROADCASTS = 5;
const BROADCAST_TIMEOUT_MS = 10_000;
const BROADCAST_GAP_MS = 100;
/**
 * pubsub's defaults (MAX_CONNECTIONS 10,000, MAX_CONNECTIONS_PER_ADDRESS 1,000) would refuse what
 * this scenario opens from one loopback address with 503: lifted, since the point is what a
 * connection costs, not the limits (issue 13's own tests cover those).
 */
const NO_CONNECTION_LIMITS = { MAX_CONNECTIONS: "0", MAX_CONNECTIONS_PER_ADDRESS: "0" };
/** Brokers the harness does not start: their RSS growth is not a per-connection cost (see the row). */
const SHARED_SERVICES = ["rabbitmq", "nats"];

type IdleRun = {
  perConnectionKib: number;
  broadcastMs: number;
  broadcasts: number[];
  connectMs: number;
  rssBeforeMib: number;
  rssAfterMib: number;
  cpu: CpuUse;
  note: string | undefined;
};

export async function idleScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const count = options.idleConnections.toLocaleString("en-US");
  const rssLabel = `9. ${count} idle subscriber connections: broker RSS per connection`;
  const broadcastLabel = `9. ${count} idle subscriber connections: time to broadcast one message to all`;
  const rows: Row[] = [];
  for (const target of targets) {
    const reason = target.notApplicable?.idle;
    if (reason) {
      rows.push(skippedRow(rssLabel, target.name, "KiB", reason), skippedRow(broadcastLabel, target.name, "ms", reason));
      continue;
    }
    const { runs, discarded, failure } = await repeatClean(options.runs, () => idleOnce(target, options));
    if (failure) {
      rows.push(failedRow(rssLabel, target.name, "KiB", failure), failedRow(broadcastLabel, target.name, "ms", failure));
      continue;
    }
    const processes = Math.min(options.idleProcs, options.idleConnections);
    const rss = runs.map((run) => run.perConnectionKib);
    const broadcast = runs.map((run) => run.broadcastMs);
    const mib = (pick: (run: IdleRun) => number) => median(runs.map(pick))!.toFixed(1);
    if (SHARED_SERVICES.includes(target.name)) {
      // A service that was running before the harness: its heap already holds (and reuses) memory
      // from earlier work, so the growth of its RSS is not what a connection costs.
      rows.push(
        skippedRow(
          rssLabel,
          target.name,
          "KiB",
          `not comparable: a shared, long-running service whose runtime keeps and reuses memory from earlier runs ` +
            `(RSS growth per connection measured: ${rss.map((kib) => kib.toFixed(1)).join(" / ")} KiB); ` +
            `connections held by ${processes} load processes, opened in ${Math.round(median(runs.map((run) => run.connectMs))!)} ms`,
        ),
      );
    } else {
      rows.push({
        scenario: rssLabel,
        target: target.name,
        unit: "KiB",
        value: median(rss),
        runs: rss,
        notes: [
          runs[0]?.note ?? "",
          `broker VmRSS ${mib((run) => run.rssBeforeMib)} MiB before the connections, ${mib((run) => run.rssAfterMib)} MiB ` +
            `${SETTLE_MS / 1000} s after all were subscribed; (after − before) / ${count}`,
          `connections held by ${processes} load processes; opening all took ${Math.round(median(runs.map((run) => run.connectMs))!)} ms`,
        ].filter(Boolean),
      });
    }
    rows.push({
      scenario: broadcastLabel,
      target: target.name,
      unit: "ms",
      value: median(broadcast),
      runs: broadcast,
      notes: [
        runs[0]?.note ?? "",
        `send → the last of ${count} connections has it; median of ${BROADCASTS} broadcasts per run ` +
          `(all runs: ${runs.flatMap((run) => run.broadcasts).map((ms) => ms.toFixed(1)).join(", ")} ms)`,
        `includes ${processes} load processes reading the frames on the same 2 cores`,
        cpuNote(runs.map((run) => run.cpu)),
        discardedNote(discarded) ?? "",
      ].filter(Boolean),
    });
  }
  return rows;
}

async function idleOnce(target: Target, options: BenchOptions): Promise<IdleRun> {
  const instance = await target.start({ env: NO_CONNECTION_LIMITS });
  try {
    if (!instance.idlePlan) throw new Error("no idle subscribers on this target");
    if (instance.pid === null) throw new Error("the broker's process is not known: no RSS to read");
    const plan = await instance.idlePlan();
    const publisher = await openStampedPublisher(plan.spec.publisher);
    try {
      const measured = await driveIdle(plan.spec.subscriber, publisher, instance.pid, options);
      return { ...measured, note: plan.note };
    } finally {
      await publisher.close().catch(() => {});
      await plan.cleanup().catch(() => {});
    }
  } finally {
    await instance.stop();
  }
}

async function driveIdle(
  subscriber: SubscriberSpec,
  publisher: StampedPublisher,
  brokerPid: number,
  options: BenchOptions,
): Promise<Omit<IdleRun, "note">> {
  const counts = splitCounts(options.idleConnections, Math.min(options.idleProcs, options.idleConnections));
  const deadlineMs = CONNECT_TIMEOUT_MS + PROBE_TIMEOUT_MS + BROADCASTS * BROADCAST_TIMEOUT_MS + 30_000;
  await Bun.sleep(SETTLE_MS / 2);
  const rssBefore = rssKib(brokerPid);
  if (rssBefore === null) throw new Error("cannot read the broker's VmRSS");
  const holders = counts.map(() => new LoadProcess("idle-subscribers"));
  /** index → processes that reported every one of their connections had it, and when. */
  const reached = new Map<number, number[]>();
  holders.forEach((holder) =>
    holder.onMessage((message) => {
      if (message.kind !== "reached") return;
      const times = reached.get(message.index) ?? [];
      times.push(message.atUs);
      reached.set(message.index, times);
    }),
  );
  const everyone = (index: number) => (reached.get(index)?.length ?? 0) === holders.length;
  try {
    const connectStart = performance.now();
    holders.forEach((holder, i) =>
      holder.send({ kind: "configure", role: "idle-subscribers", spec: subscriber, count: counts[i]!, concurrency: CONCURRENCY, deadlineMs }),
    );
    await Promise.all(holders.map((holder) => holder.next("ready", CONNECT_TIMEOUT_MS)));
    const connectMs = performance.now() - connectStart;

    // Probe until one message reached every connection: all subscriptions are in place.
    let index = 0;
    const probeDeadline = performance.now() + PROBE_TIMEOUT_MS;
    let probed = -1;
    while (probed < 0) {
      if (performance.now() > probeDeadline) throw new Error(`not every connection received a probe within ${PROBE_TIMEOUT_MS / 1000} s`);
      publisher.send(++index);
      await Bun.sleep(PROBE_EVERY_MS);
      for (let i = 1; i <= index; i++) if (everyone(i)) probed = i;
    }
    await Bun.sleep(SETTLE_MS);
    const rssAfter = rssKib(brokerPid);
    if (rssAfter === null) throw new Error("cannot read the broker's VmRSS");

    const meter = new CpuMeter([brokerPid, ...holders.map((holder) => holder.pid)]);
    const broadcasts: number[] = [];
    for (let b = 0; b < BROADCASTS; b++) {
      const current = ++index;
      const sentAt = nowUs();
      publisher.send(current);
      const deadline = performance.now() + BROADCAST_TIMEOUT_MS;
      while (!everyone(current)) {
        if (performance.now() > deadline) throw new Error(`broadcast ${b + 1} did not reach every connection within ${BROADCAST_TIMEOUT_MS / 1000} s`);
        await Bun.sleep(1);
      }
      broadcasts.push((Math.max(...reached.get(current)!) - sentAt) / 1000);
      await Bun.sleep(BROADCAST_GAP_MS);
    }
    const { perPid, other } = meter.read();
    for (const holder of holders) holder.send({ kind: "stop" });
    const [broker = null, ...load] = perPid;
    return {
      perConnectionKib: (rssAfter - rssBefore) / options.idleConnections,
      broadcastMs: median(broadcasts)!,
      broadcasts,
      connectMs,
      rssBeforeMib: rssBefore / 1024,
      rssAfterMib: rssAfter / 1024,
      cpu: { broker, load, other },
    };
  } finally {
    await Promise.all(holders.map((holder) => holder.finish(5_000)));
  }
}

function splitCounts(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
