/**
 * Scenario 10: a large backlog. One durable queue with no consumer is filled with
 * `backlogMessages` confirmed publishes of `backlogPayloadBytes` (refusals such as 503
 * FLOW_CONTROL are counted and published again; the fill is capped in time); the broker is
 * restarted on that data (pubsub: SIGTERM and spawn again; RabbitMQ: `rabbitmqctl stop_app` /
 * `start_app`, where it may); then competing consumers drain the backlog, acknowledging every
 * message. Memory, data on disk and (pubsub) the worst event-loop stall are read along the way.
 * One run per target, not a median of several: a full run takes many minutes.
 */
import type { BenchOptions } from "../options.ts";
import { rssKib } from "../proc-stats.ts";
import { errorMessage, skippedRow, type Row, type Unit } from "../row.ts";
import { PAYLOAD_MARKER } from "../load/specs.ts";
import type { DiskUsage, Restarted, Target, TargetInstance } from "../targets/target.ts";
import { DRAIN_QUIET_MS, drain, fill, FILL_GIVE_UP_MS, FILL_INFLIGHT, firstDelivery } from "./backlog-phases.ts";
import { cpuNote } from "./cpu-note.ts";
import { CHECKPOINT_ENV } from "./work-queue.ts";

/**
 * pubsub's limit on message bytes held in memory, set low so that a million messages are far past
 * it: the backlog must live on disk, not in memory (today's broker refuses past it: FLOW_CONTROL).
 */
export const BACKLOG_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Harness-spawned brokers (ignored by services already running); the checkpoint as in scenarios 5 and 6. */
export const BACKLOG_ENV = { ...CHECKPOINT_ENV, MAX_QUEUED_BYTES: String(BACKLOG_MAX_QUEUED_BYTES) };
/** The first delivery's consumer closed without acknowledging: its message is back in the queue by then. */
const REQUEUE_SETTLE_MS = 500;
const ONE_RUN = "one run (not a median of 3: too long)";

type Key = "fill" | "fillRss" | "disk" | "ready" | "firstDelivery" | "restartRss" | "drain" | "fillStall" | "drainStall";
type Outcome = { value: number; notes: string[] } | { skipped: string };

function labels(options: BenchOptions): Record<Key, { label: string; unit: Unit }> {
  const size = `${options.backlogMessages.toLocaleString("en-US")} × ${formatBytes(options.backlogPayloadBytes)}`;
  return {
    fill: { label: `10. backlog fill: confirmed msg/s, ${size} → 1 durable queue, no consumer`, unit: "msg/s" },
    fillRss: { label: "10. backlog: broker RSS at the end of the fill", unit: "MiB" },
    disk: { label: "10. backlog: data on disk at the end of the fill", unit: "MiB" },
    ready: { label: "10. backlog restart: spawn → first 200 of GET /ping (RabbitMQ: start_app → AMQP accepted)", unit: "ms" },
    firstDelivery: { label: "10. backlog restart: spawn → first delivery to a consumer connecting once it answers", unit: "ms" },
    restartRss: { label: "10. backlog restart: broker RSS at that first delivery", unit: "MiB" },
    drain: {
      label: `10. backlog drain: acked msg/s until empty, ${options.consumers} consumers, prefetch ${options.prefetch}`,
      unit: "msg/s",
    },
    fillStall: { label: "10. backlog: worst event-loop stall during the fill (max_stall_ms)", unit: "ms" },
    drainStall: { label: "10. backlog: worst event-loop stall, restart to end of the drain (max_stall_ms)", unit: "ms" },
  };
}

export async function backlogScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const byKey = labels(options);
  for (const target of targets) {
    const reason = target.notApplicable?.backlog;
    const outcomes = reason ? new Map<Key, Outcome>() : await backlogOnce(target, options);
    for (const [key, { label, unit }] of Object.entries(byKey) as Array<[Key, { label: string; unit: Unit }]>) {
      const outcome = outcomes.get(key) ?? { skipped: reason ?? "not measured" };
      rows.push(
        "skipped" in outcome
          ? skippedRow(label, target.name, unit, outcome.skipped)
          : { scenario: label, target: target.name, unit, value: outcome.value, runs: [outcome.value], notes: [ONE_RUN, ...outcome.notes] },
      );
    }
  }
  return rows;
}

async function backlogOnce(target: Target, options: BenchOptions): Promise<Map<Key, Outcome>> {
  const outcomes = new Map<Key, Outcome>();
  const set = (key: Key, value: number | null, notes: Array<string | null | undefined | false>, otherwise: string) =>
    outcomes.set(key, value === null || !Number.isFinite(value) ? { skipped: otherwise } : { value, notes: notes.filter((n): n is string => Boolean(n)) });
  const skipRest = (reason: string) => {
    for (const key of Object.keys(labels(options)) as Key[]) if (!outcomes.has(key)) outcomes.set(key, { skipped: reason });
  };
  let instance: TargetInstance;
  try {
    instance = await target.start({ env: BACKLOG_ENV });
  } catch (error) {
    skipRest(errorMessage(error));
    return outcomes;
  }
  const mibOf = (pid: number | null) => {
    const kib = pid === null ? null : rssKib(pid);
    return kib === null ? null : kib / 1024;
  };
  const spawned = instance.readyMs !== null;
  try {
    if (!instance.backlogPlan) throw new Error("no durable queue with consumers on this target");
    const plan = await instance.backlogPlan(options.backlogPayloadBytes);
    const { depth } = plan.spec;
    try {
      // 1. Fill.
      const diskBefore = await diskOf(instance);
      const filled = await fill(plan.spec.prefill, options.backlogMessages, options.backlogPhaseMs, instance);
      const fillRss = mibOf(instance.pid);
      const afterFill = await depth?.().catch(() => null);
      const disk = await diskOf(instance);
      const fillStall = await instance.stall?.();
      const refusals = Object.entries(filled.refusedByKind)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, count]) => `${kind} ×${count.toLocaleString("en-US")}`);
      set(
        "fill",
        (filled.confirmed * 1000) / filled.elapsedMs,
        [
          plan.note ?? null,
          `confirmed ${filled.confirmed.toLocaleString("en-US")} of ${options.backlogMessages.toLocaleString("en-US")} in ` +
            `${(filled.elapsedMs / 1000).toFixed(1)} s` +
            (filled.endedEarly
              ? ` (the last confirm; **stopped early after ${(filled.ranMs / 1000).toFixed(1)} s: ${filled.endedEarly}**)`
              : ""),
          filled.refused
            ? `**${filled.refused.toLocaleString("en-US")} refused** (${refusals.join(", ")}), each published again 100 ms later`
            : "none refused",
          `${FILL_INFLIGHT} in flight on one connection, ${options.backlogPayloadBytes}-byte payloads; the fill stops after ` +
            `${options.backlogPhaseMs / 60_000} min, or after ${FILL_GIVE_UP_MS / 1000} s without a confirm`,
          spawned && `started with MAX_QUEUED_BYTES=${BACKLOG_MAX_QUEUED_BYTES} (64 MiB), CHECKPOINT_IN_SECONDS=1`,
          afterFill && `queue after the fill: ${afterFill.ready.toLocaleString("en-US")} messages`,
          cpuNote([filled.cpu]),
        ],
        "no message confirmed",
      );
      set("fillRss", fillRss, ["VmRSS right after the last confirm"], "RSS not readable (no broker pid)");
      set(
        "disk",
        disk && disk.bytes / 1024 / 1024,
        [disk?.what, diskBefore && `${formatMiB(diskBefore.bytes)} before the fill`],
        "n/a: the broker's data directory is not readable from here",
      );
      set(
        "fillStall",
        fillStall?.maxMs ?? null,
        [
          "max_stall_ms of GET /metrics at the end of the fill: the worst since this broker started (fresh, empty)",
          filled.sampledStallMs !== null && `worst recent_max_stall_ms read every 5 s during the fill: ${filled.sampledStallMs} ms`,
        ],
        "the broker reports no event-loop stalls (no GET /metrics)",
      );

      // 2. Restart on that data, and the first delivery after it.
      let restarted: Restarted | null = null;
      const notRestarted = (reason: string) => {
        for (const key of ["ready", "firstDelivery", "restartRss"] as const) outcomes.set(key, { skipped: `n/a (not restarted): ${reason}` });
      };
      if (!instance.restart) notRestarted("the harness cannot restart this broker");
      else {
        try {
          restarted = await instance.restart();
          const spec = await plan.spec.consumer(1);
          const firstMs = await firstDelivery(spec, restarted.startedAt);
          const restartRss = mibOf(instance.pid);
          set("ready", restarted.readyMs, [restarted.note], "no ready time");
          set(
            "firstDelivery",
            firstMs,
            ["consumer (prefetch 1) opened in the harness process as soon as the broker answered; the message is left unacknowledged"],
            "no delivery",
          );
          set("restartRss", restartRss, ["VmRSS at the first delivery after the restart"], "RSS not readable (no broker pid)");
        } catch (error) {
          notRestarted(errorMessage(error).replace(/^not restarted: /, ""));
          // A broker the harness spawned is gone when its restart failed; a service is still there.
          if (spawned) throw new Error(`restart failed: ${errorMessage(error)}`);
        }
      }

      // 3. Drain.
      await Bun.sleep(REQUEUE_SETTLE_MS);
      const before = await depth?.();
      const expected = before ? before.ready + (before.unacked ?? 0) : filled.confirmed;
      if (expected === 0) throw new Error("nothing to drain: the queue is empty");
      const specs = await Promise.all(Array.from({ length: options.consumers }, () => plan.spec.consumer(options.prefetch)));
      const processes = Math.min(options.consumers, options.subscriberProcs);
      const drained = await drain(specs, options.subscriberProcs, expected, options.backlogPhaseMs, instance, depth);
      const drainStall = await instance.stall?.();
      const drainRss = mibOf(instance.pid);
      const diskAfter = await diskOf(instance);
      const missing = filled.confirmed - expected;
      set(
        "drain",
        drained.elapsedMs > 0 ? (drained.acked * 1000) / drained.elapsedMs : null,
        [
          `${options.consumers} consumers in ${processes} process(es), an ack per message`,
          `acknowledged ${drained.acked.toLocaleString("en-US")} of ${expected.toLocaleString("en-US")} in ${(drained.elapsedMs / 1000).toFixed(1)} s` +
            (drained.endedEarly ? ` (**stopped early: ${drained.endedEarly}**)` : ""),
          restarted && missing > 0 && `**${missing.toLocaleString("en-US")} confirmed message(s) missing after the restart**`,
          !restarted && "drained without a restart",
          drained.left && `left in the queue: ${drained.left.ready.toLocaleString("en-US")} ready${drained.left.unacked !== null ? `, ${drained.left.unacked} unacked` : ""}`,
          drained.redelivered > 0 &&
            `${drained.redelivered.toLocaleString("en-US")} deliver${drained.redelivered === 1 ? "y" : "ies"} flagged redelivered` +
              (restarted ? " (1 expected: the message the first-delivery consumer left unacknowledged)" : ""),
          !drained.firstDelivery?.includes(PAYLOAD_MARKER) && `**first delivery lacks the payload: ${drained.firstDelivery?.slice(0, 80)}**`,
          drained.firstError && `**error: ${drained.firstError}**`,
          drainRss !== null && `broker RSS at the end: ${drainRss.toFixed(1)} MiB`,
          diskAfter && `data on disk at the end: ${formatMiB(diskAfter.bytes)}`,
          `the drain stops after ${options.backlogPhaseMs / 60_000} min, or after ${DRAIN_QUIET_MS / 1000} s without an ack`,
          cpuNote([drained.cpu]),
        ],
        "nothing acknowledged",
      );
      set(
        "drainStall",
        drainStall?.maxMs ?? null,
        [
          `max_stall_ms of GET /metrics at the end of the drain: the worst since ${restarted ? "the restart (first delivery included)" : "the broker started (fill included)"}`,
          drained.sampledStallMs !== null && `worst recent_max_stall_ms read every 5 s during the drain: ${drained.sampledStallMs} ms`,
        ],
        "the broker reports no event-loop stalls (no GET /metrics)",
      );
    } finally {
      await plan.cleanup().catch(() => {});
    }
  } catch (error) {
    skipRest(errorMessage(error));
  } finally {
    await instance.stop().catch(() => {});
  }
  return outcomes;
}

async function diskOf(instance: TargetInstance): Promise<DiskUsage | null> {
  return (await instance.diskUsage?.().catch(() => null)) ?? null;
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function formatBytes(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}
