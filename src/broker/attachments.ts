import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import type { Entry, QueueState } from "../core/queue.ts";
import type { QueueRef } from "./delivery-sink.ts";
import type { Dispatch } from "./dispatch.ts";
import type { BrokerState } from "./state.ts";

/** What a subscriber resuming after a seq is sent first: entries (data); the transport encodes them. */
export type SubscribeResult = { queue: QueueRef; replay: readonly Entry[]; gap: { firstAvailable: number } | undefined };

/**
 * Subscribers and consumers attaching and leaving, and consumers' acks and nacks: each command's
 * effects are run, then whatever waits is handed out.
 */
export class Attachments {
  constructor(
    private readonly state: BrokerState,
    private readonly dispatch: Dispatch,
  ) {}

  /**
   * Checks the queue, and what a subscriber resuming after `since` must be sent first. The
   * transport sends the replay, subscribes the socket to the queue's topic in the same turn (no
   * gap, no duplicate), then calls attached().
   */
  subscribe(name: string, owner: string, since?: number): Result<SubscribeResult> {
    const queue = this.usable(name, owner);
    if (!queue.ok) return queue;
    if (since === undefined) return ok({ queue: queue.value, replay: [], gap: undefined });
    const replay = queue.value.replay(since);
    return ok({ queue: queue.value, replay: replay.entries, gap: replay.gap ? { firstAvailable: replay.firstAvailable } : undefined });
  }

  private usable(name: string, owner: string): Result<QueueState> {
    const queue = this.state.topology.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
    if (queue.owner !== undefined && queue.owner !== owner) {
      return fail(ErrorCodes.QUEUE_EXCLUSIVE, `queue "${name}" is exclusive to another connection`);
    }
    return ok(queue);
  }

  /** A subscriber joined: the queue's backlog, if any, starts flowing to its subscribers, in order. */
  attached(name: string): void {
    const queue = this.state.topology.queues.get(name);
    if (queue === undefined) return;
    queue.attachSubscriber();
    this.dispatch.deliverWaiting(queue);
  }

  detached(name: string): void {
    const queue = this.state.topology.queues.get(name);
    if (queue !== undefined) this.dispatch.run(queue, queue.detachSubscriber());
  }

  /** `accepted` runs once the queue took the consumer, before its first delivery: the transport answers there. */
  consume(consumer: string, name: string, owner: string, prefetch: number, accepted?: () => void): Result<void> {
    const queue = this.usable(name, owner);
    if (!queue.ok) return queue;
    queue.value.attachConsumer(consumer, prefetch);
    accepted?.();
    this.dispatch.deliverWaiting(queue.value);
    return ok(undefined);
  }

  /** The consumer stopped (CANCEL or disconnect): what it held goes back to the head of the queue. */
  cancel(consumer: string, name: string): void {
    const queue = this.state.topology.queues.get(name);
    if (queue === undefined || !queue.hasConsumer(consumer)) return;
    this.dispatch.run(queue, queue.detachConsumer(consumer), this.state.deps.clock.now());
    this.dispatch.deliverWaiting(queue);
  }

  ack(consumer: string, name: string, tag: number): Result<void> {
    const queue = this.state.topology.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.UNKNOWN_DELIVERY_TAG, `unknown delivery tag ${tag}`);
    const acked = queue.ack(consumer, tag);
    if (!acked.ok) return acked;
    this.dispatch.run(queue, acked.value);
    this.dispatch.deliverWaiting(queue);
    return ok(undefined);
  }

  nack(consumer: string, name: string, tag: number, requeue: boolean): Result<void> {
    const queue = this.state.topology.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.UNKNOWN_DELIVERY_TAG, `unknown delivery tag ${tag}`);
    const nacked = queue.nack(consumer, tag, requeue);
    if (!nacked.ok) return nacked;
    this.dispatch.run(queue, nacked.value, this.state.deps.clock.now());
    this.dispatch.deliverWaiting(queue);
    return ok(undefined);
  }
}
