import type { DeathReason, Effects, Entry, QueueState } from "../core/queue.ts";
import type { StoredMessage } from "../store/store.ts";
import { DRAIN_BATCH, DRAIN_BATCH_BYTES, DRAIN_RETRY_MS } from "./limits.ts";
import type { Cancel } from "./scheduler.ts";
import { seqRanges } from "./seq-ranges.ts";
import type { BrokerState } from "./state.ts";

/** A durable queue's copy of a message, waiting for its commit. */
export type DurableCopy = { readonly queue: QueueState; readonly entry: Entry; readonly row: StoredMessage };

/**
 * Where run() gathers what effects ask of the store, for its caller to write in one call: the
 * copies to append (`persist`, with the publish's dedup deadline), seqs to forget, delivery counts,
 * seqs to mark redelivered. Each caller brings the part its commands can ask for.
 */
export type StoreWrites = {
  appends?: DurableCopy[];
  dedupUntil?: number;
  removals?: Map<string, [number, number][]>;
  retains?: Map<string, [number, number][]>;
  counts?: Map<string, readonly (readonly [number, number])[]>;
  redelivered?: Map<string, readonly number[]>;
};

/** What effects ask of the other parts: dead letters are republished (publishing), auto-delete queues removed (topology). */
export type DispatchHooks = {
  deadLetter(queue: QueueState, entry: Entry, reason: DeathReason, now: number): void;
  autoDelete(queue: QueueState): void;
  /** [PAGE-1] A durable queue's window may want its next page from the store (paging.ts). */
  readAhead(queue: QueueState): void;
};

/**
 * Delivery: interprets a queue's effects (the one place that does), moves waiting messages on to
 * consumers or subscribers, drains a backlog in slices across turns of the event loop, and ticks
 * TTLs, delays and ack timeouts.
 */
export class Dispatch {
  /** Queues whose backlog continues on a later turn. */
  private readonly draining = new Set<string>();
  /** Backlogs paused by a backpressured subscriber, with their retry. */
  private readonly paused = new Map<string, Cancel>();
  private tag = 0;
  private readonly nextTag = () => ++this.tag;

  constructor(
    private readonly state: BrokerState,
    private readonly hooks: DispatchHooks,
  ) {}

  /**
   * Does what a queue command asked, effect by effect, in order. Store-bound effects go into
   * `writes`, for the caller to write. False when a subscriber had unsent data after a broadcast
   * (the backlog slows down).
   */
  run(queue: QueueState, effects: Effects, now?: number, writes?: StoreWrites): boolean {
    const { sink } = this.state;
    let flowing = true;
    for (const effect of effects) {
      switch (effect.kind) {
        case "deliverToSubscribers":
          if (!sink.toSubscribers(queue, effect.entry)) flowing = false;
          break;
        case "deliverToConsumer": {
          const { consumer, entry, tag, redelivered } = effect;
          if (redelivered) this.state.stats.redelivered++;
          sink.toConsumer(consumer, queue, entry, { tag, redelivered, deliveries: entry.deliveries });
          break;
        }
        case "deadLetter":
          this.state.stats.deadLettered[effect.reason]++;
          this.hooks.deadLetter(queue, effect.entry, effect.reason, (now ??= this.state.deps.clock.now()));
          break;
        case "revoke":
          sink.revoke(effect.consumer, effect.tag);
          break;
        case "persist": {
          const { entry } = effect;
          const dedupUntil = writes?.dedupUntil;
          const row = {
            queue: queue.name,
            seq: entry.seq,
            message: entry.message,
            expiresAt: entry.expiresAt,
            deliverAt: entry.deliverAt,
            dedupUntil,
            // [DLX-5] A dead-lettered copy that may be a repeat keeps saying so once it is on disk only.
            ...(entry.redelivered ? { redelivered: true } : {}),
          };
          gathering(writes?.appends, effect.kind).push({ queue, entry, row });
          break;
        }
        case "forget":
          gathering(writes?.removals, effect.kind).set(queue.name, seqRanges(effect.seqs));
          break;
        case "retain":
          gathering(writes?.retains, effect.kind).set(queue.name, seqRanges(effect.seqs));
          break;
        case "recordDeliveries":
          gathering(writes?.counts, effect.kind).set(queue.name, effect.counts);
          break;
        case "markRedelivered":
          gathering(writes?.redelivered, effect.kind).set(queue.name, effect.seqs);
          break;
        case "autoDelete":
          this.hooks.autoDelete(queue);
          break;
      }
    }
    return flowing;
  }

  /** Hands out what waits: to consumers when there are any, else the backlog to subscribers. */
  deliverWaiting(queue: QueueState): void {
    // [REDELIVERED-1] Nothing goes out once close() began: a delivery after the store closed
    // could not be marked, and the next run would hand it out again as new.
    if (this.state.closing) return;
    this.deliverNow(queue);
    if (queue.durable) this.hooks.readAhead(queue);
  }

  private deliverNow(queue: QueueState): void {
    const { clock, scheduler } = this.state.deps;
    if (queue.consumerCount > 0) {
      const now = clock.now();
      this.run(queue, queue.dispatch(now, this.nextTag), now);
      return;
    }
    if (queue.subscribers === 0 || queue.depth === 0 || this.draining.has(queue.name)) return;
    const now = clock.now();
    let pressured = false;
    let count = 0;
    let bytes = 0;
    // [SLOW-1] One message at a time: a broadcast may cut a slow subscriber, and when that was the
    // last one, the rest of the batch stays in the queue instead of counting as delivered to nobody.
    while (count < DRAIN_BATCH && bytes < DRAIN_BATCH_BYTES && queue.subscribers > 0) {
      const effects = queue.nextForSubscribers(now);
      // Dead letters for expired ones on the way, then the one sent (if any is left).
      const last = effects[effects.length - 1];
      if (last === undefined) break;
      if (!this.run(queue, effects, now)) pressured = true;
      if (last.kind === "deliverToSubscribers") {
        count++;
        bytes += last.entry.bytes;
      }
    }
    // Nothing deliverable in memory (the rest is on disk or not yet committed): the page read or
    // the commit calls back, so no turn is spent waiting for it.
    if (queue.depth === 0 || !queue.hasDeliverable) return;
    // A backlog: continue next turn so publishes and other sockets are served in between.
    this.draining.add(queue.name);
    const resume = () => {
      this.paused.delete(queue.name);
      this.draining.delete(queue.name);
      if (this.state.topology.queues.get(queue.name) === queue) this.deliverWaiting(queue);
    };
    if (pressured) this.paused.set(queue.name, scheduler.after(DRAIN_RETRY_MS, resume));
    else scheduler.soon(resume);
  }

  /** Some subscriber of the queue caught up: resume a paused backlog at once. */
  drained(name: string): void {
    if (!this.paused.has(name)) return;
    this.stopDraining(name);
    const queue = this.state.topology.queues.get(name);
    if (queue !== undefined) this.deliverWaiting(queue);
  }

  stopDraining(name: string): void {
    this.paused.get(name)?.();
    this.paused.delete(name);
    this.draining.delete(name);
  }

  /** close(): no paused backlog retries any more. */
  stopAllDraining(): void {
    for (const name of [...this.paused.keys()]) this.stopDraining(name);
  }

  /** TTLs, delays and ack timeouts. */
  tick(): void {
    const now = this.state.deps.clock.now();
    this.state.recentIds.prune(now);
    for (const queue of this.state.topology.queues.values()) {
      this.run(queue, queue.tick(now), now);
      this.deliverWaiting(queue);
    }
  }
}

/** A store-bound effect came from a command whose caller writes no such thing: a bug, not a state. */
function gathering<T>(into: T | undefined, kind: string): T {
  if (into === undefined) throw new Error(`queue effect "${kind}" outside a store write that gathers it`);
  return into;
}
