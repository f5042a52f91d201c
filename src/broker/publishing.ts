import { deadLetteredMessage, isDeathCycle } from "../core/dead-letter.ts";
import { BrokerFailure, ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import type { MessageHeaders } from "../core/exchanges/types.ts";
import { messageBytes, type PublishedMessage } from "../core/message.ts";
import { validateRoutingKey } from "../core/names.ts";
import type { DeathReason, EnqueueOptions, Entry, QueueState } from "../core/queue.ts";
import type { Dispatch, DurableCopy, StoreWrites } from "./dispatch.ts";
import { FLOW_LOG_MS, MAX_REPORTED_CYCLES } from "./limits.ts";
import type { BrokerState } from "./state.ts";

export type PublishRequest = {
  exchange: string;
  routingKey: string;
  body: string;
  headers: MessageHeaders;
  /** Milliseconds the message may wait in a queue. */
  ttl?: number;
  /** Milliseconds before it may be delivered. */
  delay?: number;
  messageId?: string;
};

export type PublishResult = { routed: number; durable: number; id: string; duplicate: boolean };

const NOTHING_TO_STORE: readonly DurableCopy[] = Object.freeze([]);

/**
 * Publishing: route → enqueue → persist → confirm, de-duplication by message_id, flow control, and
 * dead-lettering (a dead message is published again, to its queue's dead-letter exchange).
 * [CONFIRM-1] A publish that reached a durable queue resolves only after store.append committed.
 */
export class Publishing {
  /** Publishes with a message_id still waiting for their commit, by message_id. */
  private readonly uncommittedIds = new Map<string, Promise<Result<PublishResult>>>();
  private readonly reportedCycles = new Set<string>();
  published = 0;
  /** Bytes of durable copies handed to the store and not yet committed (they are in memory until then). */
  private unstoredBytes = 0;
  private flowRefusals = 0;
  private flowLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly state: BrokerState,
    private readonly dispatch: Dispatch,
  ) {}

  /**
   * Answers at once (no promise) when the message reached no durable queue: nothing to wait for,
   * and a promise per message is a measurable share of the transient fan-out path.
   */
  publish(request: PublishRequest): Result<PublishResult> | Promise<Result<PublishResult>> {
    const { deps, gauge, recentIds, topology } = this.state;
    if (this.state.closing) return fail(ErrorCodes.SHUTTING_DOWN, "the broker is shutting down");
    if (typeof request.body !== "string") return fail(ErrorCodes.VALIDATION, "payload is required (any JSON value)");
    const keyError = validateRoutingKey(request.routingKey);
    if (keyError) return { ok: false, error: keyError };
    const now = deps.clock.now();
    const messageId = request.messageId;
    const original = messageId === undefined ? undefined : recentIds.originalId(messageId, now);
    if (messageId !== undefined && original !== undefined) return this.duplicate(messageId, original);
    const routed = topology.route(request.exchange, request.routingKey, request.headers);
    if (!routed.ok) return routed;
    const alarm = deps.diskAlarm?.();
    if (alarm !== undefined && routed.value.some((q) => q.durable)) return fail(ErrorCodes.DISK_ALARM, alarm);
    if (gauge.bytes > deps.maxQueuedBytes) this.forgetHistory(gauge.bytes - deps.maxQueuedBytes);
    // [PAGE-1] A durable queue's message waits on disk once stored: only what must stay in memory
    // (transient queues, delayed messages, writes the store has not taken yet) is refused.
    if (gauge.bytes > deps.maxQueuedBytes && (this.unstoredBytes > deps.maxQueuedBytes / 4 || routed.value.some((q) => !q.durable) || (request.delay ?? 0) > 0)) {
      this.refusedForFlow(now);
      return fail(ErrorCodes.FLOW_CONTROL, `the broker holds ${gauge.bytes} message bytes in memory, its limit (MAX_QUEUED_BYTES); publish later`);
    }
    // Built without a spread: copying properties was a measurable share of the fan-out path.
    const message: PublishedMessage =
      messageId === undefined
        ? { id: deps.newId(), exchange: request.exchange, routingKey: request.routingKey, headers: request.headers, body: request.body, timestamp: now }
        : { id: deps.newId(), exchange: request.exchange, routingKey: request.routingKey, headers: request.headers, body: request.body, timestamp: now, messageId };
    // Validate before any side effect: a full reject-publish queue refuses the whole publish.
    const bytes = messageBytes(message);
    const full = routed.value.find((q) => !q.admits(bytes));
    if (full !== undefined) {
      return fail(ErrorCodes.QUEUE_FULL, `queue "${full.name}" is full (overflow reject-publish); the message was not published`);
    }
    // [DEDUP-2] An unroutable publish enqueued nothing: its message_id stays unused.
    const dedupUntil = messageId === undefined || routed.value.length === 0 ? undefined : now + deps.dedupWindowMs;
    if (messageId !== undefined && dedupUntil !== undefined) recentIds.remember(messageId, dedupUntil, message.id);
    const copies = this.enqueue(routed.value, message, now, { ttl: request.ttl, delay: request.delay }, dedupUntil);
    this.published++;
    const { stats } = this.state;
    if (routed.value.length === 0) stats.unroutable++;
    else stats.routed += routed.value.length;
    const answer = ok({ routed: routed.value.length, durable: copies.length, id: message.id, duplicate: false });
    if (copies.length === 0) return answer;
    const stored = this.persist(copies).then(
      () => {
        stats.confirmed++;
        return answer;
      },
      (error) => {
        if (messageId !== undefined && dedupUntil !== undefined) recentIds.forget(messageId);
        if (error instanceof BrokerFailure) return { ok: false as const, error: error.error };
        throw error;
      },
    );
    if (messageId === undefined || dedupUntil === undefined) return stored;
    this.uncommittedIds.set(messageId, stored);
    const settled = () => {
      if (this.uncommittedIds.get(messageId) === stored) this.uncommittedIds.delete(messageId);
    };
    stored.then(settled, settled);
    return stored;
  }

  /**
   * [DEDUP-1] A repeated message_id: confirmed with the original message's id, enqueued once. While
   * the original waits for its commit the duplicate waits too, and fails if it fails: a duplicate is
   * never confirmed for a message that was not stored.
   */
  private duplicate(messageId: string, original: string): Result<PublishResult> | Promise<Result<PublishResult>> {
    const answer = ok({ routed: 0, durable: 0, id: original, duplicate: true });
    const first = this.uncommittedIds.get(messageId);
    return first === undefined ? answer : first.then((result) => (result.ok ? answer : result));
  }

  /**
   * [COMMIT-1] Stores the durable queues' copies, then lets them be delivered: a client never sees
   * a message a crash could take back. If the store refuses, the copies leave their queues undelivered.
   */
  private persist(copies: readonly DurableCopy[]): Promise<void> {
    const settle = (commit: boolean) => {
      for (const { queue, entry } of copies) this.dispatch.run(queue, commit ? queue.commit(entry) : queue.abandon(entry));
      for (const queue of new Set(copies.map((c) => c.queue))) this.dispatch.deliverWaiting(queue);
    };
    let bytes = 0;
    for (const copy of copies) bytes += copy.entry.bytes;
    this.unstoredBytes += bytes;
    const started = performance.now();
    return this.state.deps.store.append(copies.map((c) => c.row)).then(
      () => {
        this.state.stats.commitLatency.observe((performance.now() - started) / 1000);
        this.unstoredBytes -= bytes;
        settle(true);
      },
      (error) => {
        this.unstoredBytes -= bytes;
        settle(false);
        throw error;
      },
    );
  }

  /** Puts the message in each queue and starts delivery; returns the durable queues' copies, to store. */
  private enqueue(queues: QueueState[], message: PublishedMessage, now: number, options: EnqueueOptions, dedupUntil?: number): readonly DurableCopy[] {
    // Only durable queues ask to persist: the transient fan-out path allocates nothing here.
    let writes: StoreWrites | undefined;
    for (const queue of queues) {
      if (queue.durable) writes ??= { appends: [], dedupUntil };
      this.dispatch.run(queue, queue.enqueue(message, now, options), now, writes);
      this.dispatch.deliverWaiting(queue);
    }
    return writes?.appends ?? NOTHING_TO_STORE;
  }

  /**
   * A management move: the message, unchanged, into `target` (its limits apply, as to a publish);
   * resolves once stored there. False when the queue would refuse it (reject-publish, full).
   */
  copyInto(target: QueueState, message: PublishedMessage, now: number): Promise<boolean> {
    if (!target.admits(messageBytes(message))) return Promise.resolve(false);
    const copies = this.enqueue([target], message, now, {});
    return copies.length === 0 ? Promise.resolve(true) : this.persist(copies).then(() => true);
  }

  /** Republishes a dead message to the queue's dead-letter exchange, if it has one; else it is dropped. */
  deadLetter(queue: QueueState, entry: Entry, reason: DeathReason, now: number): void {
    const dlx = queue.args.deadLetterExchange;
    if (dlx === undefined) return;
    const message = deadLetteredMessage(entry.message, reason, queue.name, { exchange: dlx, routingKey: queue.args.deadLetterRoutingKey }, now);
    // [DLX-2] "" is the default exchange: the queue named by the dead-letter routing key.
    const routed = this.state.topology.route(dlx, message.routingKey, message.headers);
    if (!routed.ok) {
      this.state.deps.log?.(`dead-letter exchange "${dlx}" of queue "${queue.name}" does not exist; message ${message.id} dropped`);
      return;
    }
    // [DLX-3] A queue it already died in, with no rejection since, would make it cycle forever.
    const targets = routed.value.filter((target) => {
      if (!isDeathCycle(target.name, message.headers)) return true;
      this.reportCycle(queue, target);
      return false;
    });
    // [DLX-5] Restored after a crash, it may have been dead-lettered in the run before (the store
    // had not yet forgotten it there): its copy says it may be a repeat, never redelivered:false.
    const copies = this.enqueue(targets, message, now, { redelivered: entry.restoredRedelivered });
    if (copies.length > 0) {
      this.persist(copies).catch((error) => this.state.deps.log?.(`storing a dead-lettered message failed: ${String(error)}`));
    }
  }

  /** Logs a dead-letter cycle the first time it drops a message (RabbitMQ logs each cycle once too). */
  private reportCycle(from: QueueState, to: QueueState): void {
    const key = `${from.name}\u0000${to.name}`;
    if (this.reportedCycles.size < MAX_REPORTED_CYCLES && !this.reportedCycles.has(key)) {
      this.reportedCycles.add(key);
      this.state.deps.log?.(`dead-letter cycle: a message from queue "${from.name}" already died in "${to.name}" with no rejection since; dropped there (logged once)`);
    }
  }

  /** Flow control refusals are logged at most once per FLOW_LOG_MS, with how many there were: a log line per refusal would be a flood. */
  private refusedForFlow(now: number): void {
    this.flowRefusals++;
    if (now - this.flowLoggedAt < FLOW_LOG_MS) return;
    this.state.deps.log?.(`flow control: ${this.flowRefusals} publishes refused (429) since the last report; the queues hold MAX_QUEUED_BYTES (${this.state.deps.maxQueuedBytes})`);
    this.flowLoggedAt = now;
    this.flowRefusals = 0;
  }

  /** [SLOW-2] Past MAX_QUEUED_BYTES, retained history is forgotten (oldest first) before any publish is refused. */
  private forgetHistory(bytes: number): void {
    let left = bytes;
    for (const queue of this.state.topology.queues.values()) {
      if (left <= 0) return;
      left -= queue.forgetHistory(left);
    }
  }
}
