import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import type { Entry, QueueState, StoredReplay } from "../core/queue.ts";
import { messageBytes } from "../core/message.ts";
import { MAX_REPLAY_READS, REPLAY_READ_ROWS } from "./limits.ts";
import type { QueueRef } from "./delivery-sink.ts";
import type { Dispatch } from "./dispatch.ts";
import type { BrokerState } from "./state.ts";

/** What a subscriber resuming after a seq is sent first: entries (data); the transport encodes them. */
/**
 * `truncated` [HIST-2]: the replay stopped at `replayMaxBytes` (the subscriber's buffer could not
 * take more anyway): the transport cuts the subscriber after it (4008), so it resumes from there.
 */
export type SubscribeResult = { queue: QueueRef; replay: readonly Entry[]; gap: { firstAvailable: number } | undefined; truncated?: boolean };

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
  /**
   * `ready`: with a replay from the store, called with the result in the same turn that made it,
   * inside the line checkpoints wait in: the transport subscribes there, so nothing committed or
   * checkpointed in between is missed or sent twice.
   */
  subscribe(name: string, owner: string, since?: number, ready?: (result: Result<SubscribeResult>) => void): Result<SubscribeResult> | Promise<Result<SubscribeResult>> {
    const queue = this.usable(name, owner);
    if (!queue.ok) return queue;
    if (since === undefined) return ok({ queue: queue.value, replay: [], gap: undefined });
    const q = queue.value;
    // [HIST-2] A durable queue's memory no longer reaches back: its history is read from the store first.
    if (q.durable && q.args.historySize > 0 && since + 1 < q.historyStart) return this.replayFromStore(q, owner, since, ready);
    const replay = q.replay(since);
    return ok({ queue: q, replay: replay.entries, gap: replay.gap ? { firstAvailable: replay.firstAvailable } : undefined });
  }

  /**
   * [HIST-2] Reads the stored history from `since` up to where memory's begins, page by page, in
   * line with checkpoints (serial) so nothing read as waiting turns retained unseen; the replay is
   * then made in one turn, with the in-memory part, so nothing is missed or sent twice.
   */
  private replayFromStore(queue: QueueState, owner: string, since: number, ready?: (result: Result<SubscribeResult>) => void): Promise<Result<SubscribeResult>> {
    const { deps, serial } = this.state;
    const maxBytes = deps.replayMaxBytes ?? Number.POSITIVE_INFINITY;
    const answer = (result: Result<SubscribeResult>) => {
      ready?.(result);
      return result;
    };
    return serial.run(async () => {
      const rows: StoredReplay["rows"][number][] = [];
      let floor = 0;
      let bytes = 0;
      let truncated = false;
      let from = queue.storedReplayRange(since).from;
      for (let reads = 0; ; reads++) {
        const to = queue.storedReplayRange(since).to;
        if (from > to) break;
        if (bytes > maxBytes) {
          truncated = true;
          break;
        }
        if (reads === MAX_REPLAY_READS) return answer(fail(ErrorCodes.STORE_UNAVAILABLE, `the history of queue "${queue.name}" grew faster than it could be read; subscribe again`));
        const page = await deps.store.readHistory(queue.name, { from, to, limit: REPLAY_READ_ROWS });
        floor = page.floor;
        for (const row of page.rows) bytes += messageBytes(row.message);
        rows.push(...page.rows);
        from = page.rows.length < REPLAY_READ_ROWS ? to + 1 : page.rows[page.rows.length - 1]!.seq + 1;
      }
      // Nothing read (the range was empty): the floor still decides GAP.
      if (rows.length === 0) floor = (await deps.store.readHistory(queue.name, { from: 0, to: -1, limit: 1 })).floor;
      const still = this.usable(queue.name, owner);
      if (!still.ok) return answer(still);
      if (still.value !== queue) return answer(fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${queue.name}" was deleted`));
      const replay = queue.replayStored(since, { rows, floor, truncated }, deps.clock.now());
      return answer(ok({ queue, replay: replay.entries, gap: replay.gap ? { firstAvailable: replay.firstAvailable } : undefined, truncated }));
    });
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
  attached(name: string, since?: number): void {
    const queue = this.state.topology.queues.get(name);
    if (queue === undefined) return;
    queue.attachSubscriber(since);
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
