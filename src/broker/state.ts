import type { MemoryGauge, QueueOptions } from "../core/queue.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../core/queue-args.ts";
import { Topology } from "../core/topology.ts";
import type { Store } from "../store/store.ts";
import type { DeliverySink } from "./delivery-sink.ts";
import { RecentIds } from "./recent-ids.ts";
import { newStats, type BrokerStats } from "./stats.ts";
import type { Clock, Scheduler } from "./scheduler.ts";

export type BrokerDeps = {
  store: Store;
  clock: Clock;
  scheduler: Scheduler;
  newId: () => string;
  checkpointMs: number;
  ackTimeoutMs: number;
  dedupWindowMs: number;
  /** Message bytes all queues may hold together before publishes are refused (flow control). */
  maxQueuedBytes: number;
  log?: (line: string) => void;
  /**
   * The disk alarm (DISK_FREE_LIMIT): while it returns a reason, publishes that reach a durable queue
   * are refused with DISK_ALARM; transient traffic keeps flowing.
   */
  diskAlarm?: () => string | undefined;
  /**
   * [HIST-2] A replay read from the store stops past this many bytes (the transport's subscriber
   * buffer: it could not hold more); the subscriber is then cut and resumes from where it got to.
   */
  replayMaxBytes?: number;
};

/**
 * What the broker's parts (topology-ops, publishing, dispatch, durability) share: the deps, the
 * sink, the topology with its queues, the memory gauge, the dedup ids, whether close() began, and
 * the one line that topology changes and checkpoints wait in.
 */
export type BrokerState = {
  readonly deps: BrokerDeps;
  readonly sink: DeliverySink;
  readonly topology: Topology;
  readonly gauge: MemoryGauge;
  readonly recentIds: RecentIds;
  readonly serial: Serial;
  /** Counters for /metrics and the dashboard. */
  readonly stats: BrokerStats;
  closing: boolean;
};

export const newState = (deps: BrokerDeps, sink: DeliverySink): BrokerState => ({
  deps,
  sink,
  topology: new Topology(),
  gauge: { bytes: 0, limit: deps.maxQueuedBytes },
  recentIds: new RecentIds(),
  serial: new Serial(),
  stats: newStats(),
  closing: false,
});

/** A queue's options as this broker makes them: its ack timeout and the shared memory gauge. */
export const queueOptions = (state: BrokerState, durable: boolean, args: QueueArgs = DEFAULT_QUEUE_ARGS, owner?: string): QueueOptions => ({
  durable,
  args,
  owner,
  ackTimeoutMs: state.deps.ackTimeoutMs,
  gauge: state.gauge,
});

/** Topology changes and checkpoints run one at a time, so a check still holds when it is applied. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.tail.then(operation, operation);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once everything queued so far has run, failed or not. */
  idle(): Promise<unknown> {
    return this.tail.catch(() => undefined);
  }
}
