import { validateName } from "../core/names.ts";
import type { QueueState } from "../core/queue.ts";
import type { CheckpointScope, Retention } from "../store/store.ts";
import type { Dispatch } from "./dispatch.ts";
import { queueOptions, type BrokerState } from "./state.ts";

/** Checkpoints since start: how many of each scope, rows removed, failures, the slowest (ms, in line with other writes). */
export type CheckpointStats = { full: number; acks: number; removed: number; failures: number; maxMs: number };

/**
 * Durability: rebuilding from the store at start, checkpoints (removals and last seqs), delivery
 * counts, and the clean close that marks what may have been delivered.
 */
export class Durability {
  private checkpointing: Promise<void> | undefined;
  private runningScope: CheckpointScope | undefined;
  private recordingDeliveries: Promise<void> | undefined;
  /** What checkpoints did since start, for /metrics. */
  readonly stats: CheckpointStats = { full: 0, acks: 0, removed: 0, failures: 0, maxMs: 0 };
  /** Last seqs as the store last recorded them, per queue (not per name: a queue made again starts over). */
  private readonly recordedSeqs = new WeakMap<QueueState, number>();

  constructor(
    private readonly state: BrokerState,
    private readonly dispatch: Dispatch,
  ) {}

  async restore(): Promise<void> {
    const { deps, topology, recentIds } = this.state;
    const now = deps.clock.now();
    const snapshot = await deps.store.load(now);
    // [NAME-4] Names stored before today's rules are restored (their messages are not lost), and said so.
    const legacy = (kind: "exchange" | "queue", name: string) => {
      const invalid = validateName(kind, name);
      if (invalid) deps.log?.(`restored ${kind} ${JSON.stringify(name)} has a name now refused (${invalid.message}): drain and delete it`);
    };
    for (const e of snapshot.exchanges) {
      legacy("exchange", e.name);
      topology.applyDeclareExchange(e.name, e.kind, true);
    }
    for (const q of snapshot.queues) {
      legacy("queue", q.name);
      topology.applyDeclareQueue(q.name, queueOptions(this.state, true, q.args), q.lastSeq);
    }
    for (const b of snapshot.bindings) {
      const checked = topology.checkBinding(b);
      if (checked.ok) topology.applyBind(checked.value.exchange, checked.value.binding);
      else deps.log?.(`skipping stored binding ${b.exchange} -> ${b.queue}: ${checked.error.message}`);
    }
    // [PAGE-1] Delayed messages not yet due wait in memory; every other stored one stays on disk,
    // counted, and is read back page by page as its queue drains.
    for (const m of snapshot.delayed) {
      topology.queues.get(m.queue)?.restore(m.seq, m.message, {
        expiresAt: m.expiresAt,
        deliverAt: m.deliverAt,
        // After a crash any restored message may have been delivered: say so (at-least-once).
        redelivered: !snapshot.cleanShutdown || m.redelivered === true,
        deliveries: m.deliveries,
      });
    }
    for (const q of snapshot.queues) topology.queues.get(q.name)?.restoreBacklog({ ...q.stored, delayedAfter: now });
    for (const r of snapshot.recentIds) recentIds.remember(r.messageId, r.until, r.id);
  }

  /**
   * Removes messages that left their queues from the store and records last seqs; `"full"` also
   * prunes recent ids and the WAL. Never what makes a publish durable. One runs at a time: a call
   * while one runs gets that one.
   */
  checkpoint(scope: CheckpointScope = "full"): Promise<void> {
    const running = this.checkpointing;
    // A full one asked for while an acks-only one runs goes right after it, not skipped.
    if (running !== undefined && (scope === "acks" || this.runningScope === "full")) return running;
    const next = (running ?? Promise.resolve()).then(() => {
      this.runningScope = scope;
      return this.runCheckpoint(scope);
    });
    const tracked: Promise<void> = next.finally(() => {
      if (this.checkpointing === tracked) {
        this.checkpointing = undefined;
        this.runningScope = undefined;
      }
    });
    this.checkpointing = tracked;
    if (running === undefined) this.runningScope = scope;
    return tracked;
  }

  private runCheckpoint(scope: CheckpointScope): Promise<void> {
    // In line with topology changes and [HIST-2] replays from the store: what a replay read as
    // waiting cannot become retained in the store behind its back.
    return this.state.serial.run(() => this.checkpointNow(scope));
  }

  private async checkpointNow(scope: CheckpointScope): Promise<void> {
    const { deps, topology } = this.state;
    const removals = new Map<string, [number, number][]>();
    const retains = new Map<string, [number, number][]>();
    const lastSeqs = new Map<string, number>();
    const retention = new Map<string, Retention>();
    const now = deps.clock.now();
    const recorded: [QueueState, number][] = [];
    for (const queue of topology.queues.values()) {
      if (!queue.durable) continue;
      this.dispatch.run(queue, queue.checkpoint(), undefined, { removals, retains });
      // [SEQ-1] Only the seqs that moved: with thousands of queues, an idle one costs no write.
      if (this.recordedSeqs.get(queue) !== queue.lastSeq) {
        lastSeqs.set(queue.name, queue.lastSeq);
        recorded.push([queue, queue.lastSeq]);
      }
      if (scope === "full") retention.set(queue.name, queue.retention(now));
    }
    try {
      // [ACK-1] With nothing acked and no new seq since, the frequent one writes nothing.
      if (scope === "acks" && removals.size === 0 && retains.size === 0 && lastSeqs.size === 0) return;
      const started = performance.now();
      await deps.store.checkpoint(removals, lastSeqs, now, scope, { retains, retention });
      const took = performance.now() - started;
      this.stats[scope]++;
      if (took > this.stats.maxMs) this.stats.maxMs = took;
      for (const ranges of [...removals.values(), ...retains.values()]) for (const [from, to] of ranges) this.stats.removed += to - from + 1;
      for (const [queue, seq] of recorded) this.recordedSeqs.set(queue, seq);
    } catch (error) {
      this.stats.failures++;
      deps.log?.(`checkpoint failed, will retry: ${error instanceof Error ? error.message : String(error)}`);
      // Put the removals back so the next checkpoint tries them again.
      for (const [name, ranges] of removals) topology.queues.get(name)?.retryRemovals(ranges);
      for (const [name, ranges] of retains) topology.queues.get(name)?.retryRemovals(ranges, true);
    }
  }

  /** [COUNT-1] Hands the delivery counts of durable messages to the store; one such write in flight at a time. */
  recordDeliveries(): Promise<void> {
    if (this.recordingDeliveries !== undefined) return this.recordingDeliveries;
    const { deps, topology } = this.state;
    const counts = new Map<string, readonly (readonly [number, number])[]>();
    for (const queue of topology.queues.values()) {
      if (queue.durable) this.dispatch.run(queue, queue.recordDeliveries(), undefined, { counts });
    }
    if (counts.size === 0) return Promise.resolve();
    this.recordingDeliveries = deps.store
      .recordDeliveries(counts)
      .catch((error) => deps.log?.(`recording delivery counts failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.recordingDeliveries = undefined;
      });
    return this.recordingDeliveries;
  }

  /** Refuses new publishes, stops deliveries, checkpoints, marks what may have been delivered as redelivered and closes the store. */
  async close(): Promise<void> {
    this.state.closing = true;
    this.dispatch.stopAllDraining();
    // A periodic checkpoint already running took its removals earlier: a second one takes the acks since.
    await this.checkpoint();
    await this.checkpoint();
    await this.state.serial.idle();
    // The one in flight, then whatever was handed out since it began.
    await this.recordDeliveries();
    await this.recordDeliveries();
    // [REDELIVERED-1] Stored as redelivered: what consumers hold, what is flagged already, and what
    // left its queue after that checkpoint began (acks keep coming while it runs; the store still
    // has those messages, so they come again, and must say so).
    const possiblyDelivered = new Map<string, readonly number[]>();
    for (const queue of this.state.topology.queues.values()) {
      if (queue.durable) this.dispatch.run(queue, queue.close(), undefined, { redelivered: possiblyDelivered });
    }
    await this.state.deps.store.close(possiblyDelivered);
  }
}
