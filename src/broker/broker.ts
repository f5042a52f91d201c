import { deadLetteredMessage, isDeathCycle } from "../core/dead-letter.ts";
import { BrokerFailure, ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import type { MessageHeaders } from "../core/exchanges/types.ts";
import { messageBytes, type Message } from "../core/message.ts";
import { validateName, validateRoutingKey } from "../core/names.ts";
import type { DeathReason, Effects, Entry, MemoryGauge, Queue } from "../core/queue.ts";
import { DEFAULT_QUEUE_ARGS, withDefaultHistory, type QueueArgs } from "../core/queue-args.ts";
import { Topology, type BindingSpec, type ExchangeSpec, type QueueSpec } from "../core/topology.ts";
import type { Store, StoredMessage } from "../store/store.ts";
import type { Delivery } from "./delivery.ts";
import { deliveryFrame } from "./frames.ts";
import { DELIVERY_RECORD_MS, DRAIN_BATCH, DRAIN_BATCH_BYTES, DRAIN_RETRY_MS, MAX_REPORTED_CYCLES, TICK_MS } from "./limits.ts";
import { RecentIds } from "./recent-ids.ts";
import { seqRanges } from "./seq-ranges.ts";
import { bindingView, exchangeView, queueView, type BindingView, type ExchangeView, type QueueView } from "./views.ts";

export type BrokerDeps = {
  store: Store;
  delivery: Delivery;
  now: () => number;
  newId: () => string;
  checkpointMs: number;
  ackTimeoutMs: number;
  dedupWindowMs: number;
  /** Message bytes all queues may hold together before publishes are refused (flow control). */
  maxQueuedBytes: number;
  log?: (line: string) => void;
};

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
/** A durable queue's copy of a message, waiting for its commit. */
type Pending = { queue: Queue; entry: Entry; row: StoredMessage };
const NOTHING_TO_STORE: readonly Pending[] = Object.freeze([]);
/**
 * Where run() gathers what effects ask of the store, for its caller to write in one call: the
 * copies to append (`persist`, with the publish's dedup deadline), seqs to forget, delivery counts,
 * seqs to mark redelivered. Each caller brings the part its commands can ask for.
 */
type StoreWrites = {
  appends?: Pending[];
  dedupUntil?: number;
  removals?: Map<string, [number, number][]>;
  counts?: Map<string, readonly (readonly [number, number])[]>;
  redelivered?: Map<string, readonly number[]>;
};

export type PublishResult = { routed: number; durable: number; id: string; duplicate: boolean };
export type SubscribeResult = { replay: string[]; gap: { firstAvailable: number } | undefined };

/**
 * Where core, store and delivery meet: publish → route → enqueue → commit → deliver.
 * [CONFIRM-1] A publish that reached a durable queue resolves only after store.append committed.
 */
export class Broker {
  private readonly topology = new Topology();
  private readonly gauge: MemoryGauge = { bytes: 0 };
  private readonly recentIds = new RecentIds();
  /** Publishes with a message_id still waiting for their commit, by message_id. */
  private readonly uncommittedIds = new Map<string, Promise<Result<PublishResult>>>();
  private readonly reportedCycles = new Set<string>();
  private readonly draining = new Set<string>();
  private readonly drainTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private serialTail: Promise<unknown> = Promise.resolve();
  private timers: ReturnType<typeof setInterval>[] = [];
  private checkpointing: Promise<void> | undefined;
  private recordingDeliveries: Promise<void> | undefined;
  private closing = false;
  private tag = 0;
  private readonly nextTag = () => ++this.tag;
  published = 0;

  private constructor(private readonly deps: BrokerDeps) {}

  static async start(deps: BrokerDeps): Promise<Broker> {
    const broker = new Broker(deps);
    await broker.restore();
    const every = (ms: number, run: () => void) => {
      const timer = setInterval(run, ms);
      timer.unref?.();
      broker.timers.push(timer);
    };
    every(deps.checkpointMs, () => void broker.checkpoint());
    every(TICK_MS, () => broker.tick());
    every(DELIVERY_RECORD_MS, () => void broker.recordDeliveries());
    return broker;
  }

  private async restore(): Promise<void> {
    const snapshot = await this.deps.store.load();
    // [NAME-4] Names stored before today's rules are restored (their messages are not lost), and said so.
    const legacy = (kind: "exchange" | "queue", name: string) => {
      const invalid = validateName(kind, name);
      if (invalid) this.deps.log?.(`restored ${kind} ${JSON.stringify(name)} has a name now refused (${invalid.message}): drain and delete it`);
    };
    for (const e of snapshot.exchanges) {
      legacy("exchange", e.name);
      this.topology.applyDeclareExchange(e.name, e.kind, true);
    }
    for (const q of snapshot.queues) {
      legacy("queue", q.name);
      this.topology.applyDeclareQueue(q.name, this.queueOptions(true, q.args), q.lastSeq);
    }
    for (const b of snapshot.bindings) {
      const checked = this.topology.checkBinding(b);
      if (checked.ok) this.topology.applyBind(checked.value.exchange, checked.value.binding);
      else this.deps.log?.(`skipping stored binding ${b.exchange} -> ${b.queue}: ${checked.error.message}`);
    }
    for (const m of snapshot.messages) {
      this.topology.queues.get(m.queue)?.restore(m.seq, m.message, {
        expiresAt: m.expiresAt,
        deliverAt: m.deliverAt,
        // After a crash any restored message may have been delivered: say so (at-least-once).
        redelivered: !snapshot.cleanShutdown || m.redelivered === true,
        deliveries: m.deliveries,
      });
    }
    for (const r of snapshot.recentIds) this.recentIds.remember(r.messageId, r.until, r.id);
  }

  private queueOptions(durable: boolean, args: QueueArgs = DEFAULT_QUEUE_ARGS, owner?: string) {
    return { durable, args, owner, ackTimeoutMs: this.deps.ackTimeoutMs, gauge: this.gauge };
  }

  // ---- topology ------------------------------------------------------------------------------

  declareExchange(spec: ExchangeSpec): Promise<Result<{ created: boolean }>> {
    return this.serial(async () => {
      const checked = this.topology.checkDeclareExchange(spec);
      if (!checked.ok) return checked;
      if (checked.value.exists) return ok({ created: false });
      const name = spec.name as string;
      const durable = spec.durable ?? true;
      if (durable) await this.deps.store.putExchange({ name, kind: checked.value.kind });
      this.topology.applyDeclareExchange(name, checked.value.kind, durable);
      return ok({ created: true });
    });
  }

  deleteExchange(name: string, ifUnused = false): Promise<Result<void>> {
    return this.serial(async () => {
      const checked = this.topology.checkDeleteExchange(name, ifUnused);
      if (!checked.ok) return checked;
      if (checked.value.durable) await this.deps.store.deleteExchange(name);
      this.topology.applyDeleteExchange(name);
      return ok(undefined);
    });
  }

  declareQueue(spec: QueueSpec): Promise<Result<{ created: boolean; name: string }>> {
    return this.serial(async () => {
      const durable = spec.durable ?? false;
      // [SLOW-2] Compared, stored and shown with its history default filled in.
      const args = withDefaultHistory(spec.args ?? DEFAULT_QUEUE_ARGS, durable);
      if (args.exclusive && spec.owner === undefined) {
        return fail(ErrorCodes.VALIDATION, "an exclusive queue belongs to a connection: declare it over WebSocket (DECLARE_QUEUE)");
      }
      if (args.exclusive && durable) return fail(ErrorCodes.VALIDATION, "an exclusive queue cannot be durable: it goes with its connection");
      const owner = args.exclusive ? spec.owner : undefined;
      const checked = this.topology.checkDeclareQueue({ name: spec.name, durable, args, owner });
      if (!checked.ok) return checked;
      const name = spec.name as string;
      if (checked.value.exists) return ok({ created: false, name });
      if (durable) await this.deps.store.putQueue({ name, lastSeq: 0, args });
      this.topology.applyDeclareQueue(name, this.queueOptions(durable, args, owner));
      return ok({ created: true, name });
    });
  }

  /** `owner`: the connection asking, if any (HTTP is none): an exclusive queue is only its owner's. [EXCL-1] */
  deleteQueue(name: string, guards: { ifUnused?: boolean; ifEmpty?: boolean } = {}, owner?: string): Promise<Result<{ messages: number }>> {
    return this.serial(async () => {
      const checked = this.topology.checkDeleteQueue(name, guards, owner);
      if (!checked.ok) return checked;
      return ok({ messages: await this.removeQueue(checked.value, "queue deleted") });
    });
  }

  /** Inside serial(): store first, then memory, then tell whoever was attached. */
  private async removeQueue(queue: Queue, reason: string): Promise<number> {
    if (queue.durable) await this.deps.store.deleteQueue(queue.name);
    const messages = queue.depth;
    this.topology.applyDeleteQueue(queue.name);
    queue.release();
    this.stopDraining(queue.name);
    this.deps.delivery.detachAll(queue.name, reason);
    return messages;
  }

  purgeQueue(name: string, owner?: string): Promise<Result<{ messages: number }>> {
    return this.serial(async () => {
      const owned = this.topology.checkQueueOwner(name, owner);
      if (!owned.ok) return owned;
      const queue = owned.value;
      if (queue.durable) {
        // [SEQ-1] Record the last seq before the messages go: otherwise a crash before the next
        // checkpoint would restart the queue's seqs below ones already handed out.
        await this.deps.store.checkpoint(new Map(), new Map([[name, queue.lastSeq]]), this.deps.now());
        await this.deps.store.purge(name);
      }
      return ok({ messages: queue.purge() });
    });
  }

  bind(spec: BindingSpec): Promise<Result<{ created: boolean }>> {
    return this.serial(async () => {
      const checked = this.topology.checkBinding(spec);
      if (!checked.ok) return checked;
      const { binding, exchange, queue, exists } = checked.value;
      if (exists) return ok({ created: false });
      if (exchange.durable && queue.durable) await this.deps.store.putBinding(binding);
      this.topology.applyBind(exchange, binding);
      return ok({ created: true });
    });
  }

  unbind(spec: BindingSpec): Promise<Result<void>> {
    return this.serial(async () => {
      const checked = this.topology.checkBinding(spec);
      if (!checked.ok) return checked;
      const { binding, exchange, queue, exists } = checked.value;
      if (!exists) {
        return fail(ErrorCodes.BINDING_NOT_FOUND, `no binding from "${exchange.name}" to "${queue.name}" with that key and arguments`);
      }
      if (exchange.durable && queue.durable) await this.deps.store.deleteBinding(binding);
      this.topology.applyUnbind(exchange, binding);
      return ok(undefined);
    });
  }

  // ---- reading -------------------------------------------------------------------------------

  exchanges(): ExchangeView[] {
    return [...this.topology.exchanges.values()].map(exchangeView);
  }
  exchange(name: string): Result<ExchangeView> {
    const e = this.topology.exchanges.get(name);
    return e ? ok(exchangeView(e)) : fail(ErrorCodes.EXCHANGE_NOT_FOUND, `exchange "${name}" does not exist`);
  }
  queues(): QueueView[] {
    return [...this.topology.queues.values()].map(queueView);
  }
  queue(name: string): Result<QueueView> {
    const q = this.topology.queues.get(name);
    return q ? ok(queueView(q)) : fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
  }
  bindings(filter: { exchange?: string; queue?: string } = {}): BindingView[] {
    return this.topology
      .bindings()
      .filter((b) => (filter.exchange === undefined || b.exchange === filter.exchange) && (filter.queue === undefined || b.queue === filter.queue))
      .map(bindingView);
  }
  get queuedBytes(): number {
    return this.gauge.bytes;
  }
  get delivered(): number {
    let n = 0;
    for (const q of this.topology.queues.values()) n += q.delivered;
    return n;
  }

  // ---- publishing ----------------------------------------------------------------------------

  /**
   * Answers at once (no promise) when the message reached no durable queue: nothing to wait for,
   * and a promise per message is a measurable share of the transient fan-out path.
   */
  publish(request: PublishRequest): Result<PublishResult> | Promise<Result<PublishResult>> {
    if (this.closing) return fail(ErrorCodes.SHUTTING_DOWN, "the broker is shutting down");
    if (typeof request.body !== "string") return fail(ErrorCodes.VALIDATION, "payload is required (any JSON value)");
    const keyError = validateRoutingKey(request.routingKey);
    if (keyError) return { ok: false, error: keyError };
    const now = this.deps.now();
    const messageId = request.messageId;
    const original = messageId === undefined ? undefined : this.recentIds.originalId(messageId, now);
    if (original !== undefined) return this.duplicate(messageId!, original);
    const routed = this.topology.route(request.exchange, request.routingKey, request.headers);
    if (!routed.ok) return routed;
    if (this.gauge.bytes > this.deps.maxQueuedBytes) this.forgetHistory(this.gauge.bytes - this.deps.maxQueuedBytes);
    if (this.gauge.bytes > this.deps.maxQueuedBytes) {
      return fail(ErrorCodes.FLOW_CONTROL, `the broker holds ${this.gauge.bytes} message bytes, its limit (MAX_QUEUED_BYTES); publish later`);
    }
    const message: Message = {
      id: this.deps.newId(),
      exchange: request.exchange,
      routingKey: request.routingKey,
      headers: request.headers,
      body: request.body,
      timestamp: now,
      ...(request.messageId === undefined ? {} : { messageId: request.messageId }),
    };
    // Validate before any side effect: a full reject-publish queue refuses the whole publish.
    const bytes = messageBytes(message);
    const full = routed.value.find((q) => !q.admits(bytes));
    if (full !== undefined) {
      return fail(ErrorCodes.QUEUE_FULL, `queue "${full.name}" is full (overflow reject-publish); the message was not published`);
    }
    // [DEDUP-2] An unroutable publish enqueued nothing: its message_id stays unused.
    const dedupUntil = messageId === undefined || routed.value.length === 0 ? undefined : now + this.deps.dedupWindowMs;
    if (dedupUntil !== undefined) this.recentIds.remember(messageId!, dedupUntil, message.id);
    const pending = this.enqueue(routed.value, message, now, { ttl: request.ttl, delay: request.delay }, dedupUntil);
    this.published++;
    const answer = ok({ routed: routed.value.length, durable: pending.length, id: message.id, duplicate: false });
    if (pending.length === 0) return answer;
    const stored = this.persist(pending).then(
      () => answer,
      (error) => {
        if (dedupUntil !== undefined) this.recentIds.forget(messageId!);
        if (error instanceof BrokerFailure) return { ok: false as const, error: error.error };
        throw error;
      },
    );
    if (dedupUntil === undefined) return stored;
    this.uncommittedIds.set(messageId!, stored);
    const settled = () => {
      if (this.uncommittedIds.get(messageId!) === stored) this.uncommittedIds.delete(messageId!);
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
  private persist(pending: readonly Pending[]): Promise<void> {
    const settle = (commit: boolean) => {
      for (const { queue, entry } of pending) this.run(queue, commit ? queue.commit(entry) : queue.abandon(entry));
      for (const queue of new Set(pending.map((p) => p.queue))) this.pump(queue);
    };
    return this.deps.store.append(pending.map((p) => p.row)).then(
      () => settle(true),
      (error) => {
        settle(false);
        throw error;
      },
    );
  }

  /** Puts the message in each queue and starts delivery; returns the durable queues' copies, to store. */
  private enqueue(queues: Queue[], message: Message, now: number, options: { ttl?: number; delay?: number }, dedupUntil?: number): readonly Pending[] {
    // Only durable queues ask to persist: the transient fan-out path allocates nothing here.
    let writes: StoreWrites | undefined;
    for (const queue of queues) {
      if (queue.durable) writes ??= { appends: [], dedupUntil };
      this.run(queue, queue.enqueue(message, now, options), now, writes);
      this.pump(queue);
    }
    return writes?.appends ?? NOTHING_TO_STORE;
  }

  /** Republishes a dead message to the queue's dead-letter exchange, if it has one; else it is dropped. */
  private deadLetter(queue: Queue, entry: Entry, reason: DeathReason, now: number): void {
    const dlx = queue.args.deadLetterExchange;
    if (dlx === undefined) return;
    const message = deadLetteredMessage(entry.message, reason, queue.name, { exchange: dlx, routingKey: queue.args.deadLetterRoutingKey }, now);
    // [DLX-2] "" is the default exchange: the queue named by the dead-letter routing key.
    const routed = this.topology.route(dlx, message.routingKey, message.headers);
    if (!routed.ok) {
      this.deps.log?.(`dead-letter exchange "${dlx}" of queue "${queue.name}" does not exist; message ${message.id} dropped`);
      return;
    }
    // [DLX-3] A queue it already died in, with no rejection since, would make it cycle forever.
    const targets = routed.value.filter((target) => {
      if (!isDeathCycle(target.name, message.headers)) return true;
      this.reportCycle(queue, target);
      return false;
    });
    const pending = this.enqueue(targets, message, now, {});
    if (pending.length > 0) {
      this.persist(pending).catch((error) => this.deps.log?.(`storing a dead-lettered message failed: ${String(error)}`));
    }
  }

  /** Logs a dead-letter cycle the first time it drops a message (RabbitMQ logs each cycle once too). */
  private reportCycle(from: Queue, to: Queue): void {
    const key = `${from.name}\u0000${to.name}`;
    if (this.reportedCycles.size < MAX_REPORTED_CYCLES && !this.reportedCycles.has(key)) {
      this.reportedCycles.add(key);
      this.deps.log?.(`dead-letter cycle: a message from queue "${from.name}" already died in "${to.name}" with no rejection since; dropped there (logged once)`);
    }
  }

  // ---- subscribers ---------------------------------------------------------------------------

  /**
   * Checks the queue, and what a subscriber resuming after `since` must be sent first. The
   * transport sends the replay, subscribes the socket to the queue's topic in the same turn (no
   * gap, no duplicate), then calls attached().
   */
  subscribe(name: string, owner: string, since?: number): Result<SubscribeResult> {
    const queue = this.usable(name, owner);
    if (!queue.ok) return queue;
    if (since === undefined) return ok({ replay: [], gap: undefined });
    const replay = queue.value.replay(since);
    return ok({
      replay: replay.entries.map((entry) => deliveryFrame(queue.value, entry)),
      gap: replay.gap ? { firstAvailable: replay.firstAvailable } : undefined,
    });
  }

  private usable(name: string, owner: string): Result<Queue> {
    const queue = this.topology.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
    if (queue.owner !== undefined && queue.owner !== owner) {
      return fail(ErrorCodes.QUEUE_EXCLUSIVE, `queue "${name}" is exclusive to another connection`);
    }
    return ok(queue);
  }

  /** A subscriber joined: the queue's backlog, if any, starts flowing to its subscribers, in order. */
  attached(name: string): void {
    const queue = this.topology.queues.get(name);
    if (queue === undefined) return;
    queue.attachSubscriber();
    this.pump(queue);
  }

  detached(name: string): void {
    const queue = this.topology.queues.get(name);
    if (queue !== undefined) this.run(queue, queue.detachSubscriber());
  }

  // ---- consumers -----------------------------------------------------------------------------

  /** `accepted` runs once the queue took the consumer, before its first delivery: the transport answers there. */
  consume(consumer: string, name: string, owner: string, prefetch: number, accepted?: () => void): Result<void> {
    const queue = this.usable(name, owner);
    if (!queue.ok) return queue;
    queue.value.attachConsumer(consumer, prefetch);
    accepted?.();
    this.pump(queue.value);
    return ok(undefined);
  }

  /** The consumer stopped (CANCEL or disconnect): what it held goes back to the head of the queue. */
  cancel(consumer: string, name: string): void {
    const queue = this.topology.queues.get(name);
    if (queue === undefined || !queue.hasConsumer(consumer)) return;
    this.run(queue, queue.detachConsumer(consumer), this.deps.now());
    this.pump(queue);
  }

  ack(consumer: string, name: string, tag: number): Result<void> {
    const queue = this.topology.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.UNKNOWN_DELIVERY_TAG, `unknown delivery tag ${tag}`);
    const acked = queue.ack(consumer, tag);
    if (!acked.ok) return acked;
    this.run(queue, acked.value);
    this.pump(queue);
    return ok(undefined);
  }

  nack(consumer: string, name: string, tag: number, requeue: boolean): Result<void> {
    const queue = this.topology.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.UNKNOWN_DELIVERY_TAG, `unknown delivery tag ${tag}`);
    const nacked = queue.nack(consumer, tag, requeue);
    if (!nacked.ok) return nacked;
    this.run(queue, nacked.value, this.deps.now());
    this.pump(queue);
    return ok(undefined);
  }

  /** A connection closed: exclusive queues it owned go with it. */
  connectionClosed(owner: string): void {
    for (const queue of [...this.topology.queues.values()]) {
      if (queue.owner !== owner) continue;
      void this.serial(async () => {
        if (this.topology.queues.get(queue.name) === queue) await this.removeQueue(queue, "its exclusive connection closed");
      });
    }
  }

  /** An auto-delete queue's last user left: it goes, unless someone attached again meanwhile. */
  private autoDelete(queue: Queue): void {
    void this.serial(async () => {
      const current = this.topology.queues.get(queue.name);
      if (current === queue && queue.subscribers + queue.consumerCount === 0) await this.removeQueue(queue, "auto-delete: its last user left");
    });
  }

  // ---- delivery ------------------------------------------------------------------------------

  /**
   * Does what a queue command asked, effect by effect, in order: the one place the broker
   * interprets a queue's effects. Store-bound effects go into `writes`, for the caller to write.
   * False when a subscriber had unsent data after a broadcast (the backlog slows down).
   */
  private run(queue: Queue, effects: Effects, now?: number, writes?: StoreWrites): boolean {
    let flowing = true;
    for (const effect of effects) {
      switch (effect.kind) {
        case "deliverToSubscribers":
          if (!this.deps.delivery.broadcast(queue.name, deliveryFrame(queue, effect.entry))) flowing = false;
          break;
        case "deliverToConsumer": {
          const { consumer, entry, tag, redelivered } = effect;
          this.deps.delivery.toConsumer(consumer, deliveryFrame(queue, entry, { tag, redelivered, deliveries: entry.deliveries }), tag);
          break;
        }
        case "deadLetter":
          this.deadLetter(queue, effect.entry, effect.reason, (now ??= this.deps.now()));
          break;
        case "revoke":
          this.deps.delivery.revoke(effect.consumer, effect.tag);
          break;
        case "persist": {
          const { entry } = effect;
          const dedupUntil = writes?.dedupUntil;
          const row = { queue: queue.name, seq: entry.seq, message: entry.message, expiresAt: entry.expiresAt, deliverAt: entry.deliverAt, dedupUntil };
          gathering(writes?.appends, effect.kind).push({ queue, entry, row });
          break;
        }
        case "forget":
          gathering(writes?.removals, effect.kind).set(queue.name, seqRanges(effect.seqs));
          break;
        case "recordDeliveries":
          gathering(writes?.counts, effect.kind).set(queue.name, effect.counts);
          break;
        case "markRedelivered":
          gathering(writes?.redelivered, effect.kind).set(queue.name, effect.seqs);
          break;
        case "autoDelete":
          this.autoDelete(queue);
          break;
      }
    }
    return flowing;
  }

  /** Moves messages on: to consumers when there are any, else the backlog to subscribers. */
  private pump(queue: Queue): void {
    // [REDELIVERED-1] Nothing goes out once close() began: a delivery after the store closed
    // could not be marked, and the next run would hand it out again as new.
    if (this.closing) return;
    if (queue.consumerCount > 0) {
      const now = this.deps.now();
      this.run(queue, queue.dispatch(now, this.nextTag), now);
      return;
    }
    if (queue.subscribers === 0 || queue.depth === 0 || this.draining.has(queue.name)) return;
    const now = this.deps.now();
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
    if (queue.depth === 0) return;
    // A backlog: continue next turn so publishes and other sockets are served in between.
    this.draining.add(queue.name);
    const resume = () => {
      this.drainTimers.delete(queue.name);
      this.draining.delete(queue.name);
      if (this.topology.queues.get(queue.name) === queue) this.pump(queue);
    };
    if (pressured) this.drainTimers.set(queue.name, setTimeout(resume, DRAIN_RETRY_MS));
    else setImmediate(resume);
  }

  /** [SLOW-2] Past MAX_QUEUED_BYTES, retained history is forgotten (oldest first) before any publish is refused. */
  private forgetHistory(bytes: number): void {
    let left = bytes;
    for (const queue of this.topology.queues.values()) {
      if (left <= 0) return;
      left -= queue.forgetHistory(left);
    }
  }

  /** Some subscriber of the queue caught up: resume a paused backlog at once. */
  drained(name: string): void {
    const timer = this.drainTimers.get(name);
    if (timer === undefined) return;
    this.stopDraining(name);
    const queue = this.topology.queues.get(name);
    if (queue !== undefined) this.pump(queue);
  }

  private stopDraining(name: string): void {
    const timer = this.drainTimers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.drainTimers.delete(name);
    this.draining.delete(name);
  }

  /** TTLs, delays and ack timeouts. */
  private tick(): void {
    const now = this.deps.now();
    this.recentIds.prune(now);
    for (const queue of this.topology.queues.values()) {
      this.run(queue, queue.tick(now), now);
      this.pump(queue);
    }
  }

  // ---- durability ----------------------------------------------------------------------------

  /** Removes messages that left their queues from the store and records last seqs. Never what makes a publish durable. */
  checkpoint(): Promise<void> {
    this.checkpointing ??= this.runCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(): Promise<void> {
    const removals = new Map<string, [number, number][]>();
    const lastSeqs = new Map<string, number>();
    for (const queue of this.topology.queues.values()) {
      if (!queue.durable) continue;
      this.run(queue, queue.checkpoint(), undefined, { removals });
      lastSeqs.set(queue.name, queue.lastSeq);
    }
    try {
      await this.serial(() => this.deps.store.checkpoint(removals, lastSeqs, this.deps.now()));
    } catch (error) {
      this.deps.log?.(`checkpoint failed, will retry: ${error instanceof Error ? error.message : String(error)}`);
      // Put the removals back so the next checkpoint tries them again.
      for (const [name, ranges] of removals) this.topology.queues.get(name)?.retryRemovals(ranges);
    }
  }

  /** [COUNT-1] Hands the delivery counts of durable messages to the store; one such write in flight at a time. */
  private recordDeliveries(): Promise<void> {
    if (this.recordingDeliveries !== undefined) return this.recordingDeliveries;
    const counts = new Map<string, readonly (readonly [number, number])[]>();
    for (const queue of this.topology.queues.values()) {
      if (queue.durable) this.run(queue, queue.recordDeliveries(), undefined, { counts });
    }
    if (counts.size === 0) return Promise.resolve();
    this.recordingDeliveries = this.deps.store
      .recordDeliveries(counts)
      .catch((error) => this.deps.log?.(`recording delivery counts failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.recordingDeliveries = undefined;
      });
    return this.recordingDeliveries;
  }

  /** Refuses new publishes, stops deliveries, checkpoints, marks what may have been delivered as redelivered and closes the store. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const name of [...this.drainTimers.keys()]) this.stopDraining(name);
    // A periodic checkpoint already running took its removals earlier: a second one takes the acks since.
    await this.checkpoint();
    await this.checkpoint();
    await this.serialTail.catch(() => undefined);
    // The one in flight, then whatever was handed out since it began.
    await this.recordDeliveries();
    await this.recordDeliveries();
    // [REDELIVERED-1] Stored as redelivered: what consumers hold, what is flagged already, and what
    // left its queue after that checkpoint began (acks keep coming while it runs; the store still
    // has those messages, so they come again, and must say so).
    const possiblyDelivered = new Map<string, readonly number[]>();
    for (const queue of this.topology.queues.values()) {
      if (queue.durable) this.run(queue, queue.close(), undefined, { redelivered: possiblyDelivered });
    }
    await this.deps.store.close(possiblyDelivered);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Topology changes and checkpoints run one at a time, so a check still holds when it is applied. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.serialTail.then(operation, operation);
    this.serialTail = run.catch(() => undefined);
    return run;
  }
}

/** A store-bound effect came from a command whose caller writes no such thing: a bug, not a state. */
function gathering<T>(into: T | undefined, kind: string): T {
  if (into === undefined) throw new Error(`queue effect "${kind}" outside a store write that gathers it`);
  return into;
}

export type { BindingView, ExchangeView, QueueView, Entry };
