import { Deque } from "./deque.ts";
import { ErrorCodes, fail, ok, type Result } from "./errors.ts";
import { messageBytes, type Message } from "./message.ts";
import { DEFAULT_QUEUE_ARGS, withDefaultHistory, type HeldQueueArgs, type QueueArgs } from "./queue-args.ts";

export type DeathReason = "expired" | "rejected" | "maxlen" | "delivery_limit";

/** A message's life in one queue. Mutable fields change only inside this module. */
export type Entry = {
  readonly seq: number;
  readonly message: Message;
  readonly bytes: number;
  /** Times handed to a consumer. */
  deliveries: number;
  /** Came back from a consumer, or restored after a crash: the next delivery says `redelivered`. */
  redelivered: boolean;
  /** Already sent to the queue's subscribers. */
  observed: boolean;
  /**
   * [COMMIT-1] In the store (always true for transient queues). Nothing is delivered before: a
   * message a client saw can never be lost by a crash, nor its seq reused.
   */
  committed: boolean;
  /** Left the queue (acked, sent to subscribers, dropped or dead-lettered). */
  gone: boolean;
  /**
   * [HIST-1] Left without ever being delivered (dropped by max_length/max_bytes, expired, purged,
   * refused by the store): not part of the stream, so never replayed to a resuming subscriber.
   */
  discarded: boolean;
  readonly expiresAt: number | undefined;
  readonly deliverAt: number | undefined;
  /**
   * [TTL0-1] TTL 0 (RabbitMQ): delivered at once to a consumer that can take it, else expired.
   * While set, the entry is not expired yet; cleared at its first delivery, after which its TTL
   * has long passed (a requeue expires it).
   */
  atOnce: boolean;
};

export type Dispatch = { readonly consumer: string; readonly entry: Entry; readonly tag: number; readonly redelivered: boolean };
export type DeadLetter = { readonly entry: Entry; readonly reason: DeathReason };
export type Enqueued = {
  readonly entry: Entry;
  /** Send to the subscribers now (they are caught up, and the message is due). */
  readonly observeNow: boolean;
  readonly dead: DeadLetter[];
};
export type Replay = { readonly entries: Entry[]; readonly firstAvailable: number; readonly gap: boolean };

type Consumer = { readonly id: string; readonly prefetch: number; unacked: number };
type InFlight = { readonly entry: Entry; readonly consumer: string; readonly deadline: number };

/** Bytes held by all queues together, shared so the broker can refuse publishes past a limit. */
export type MemoryGauge = { bytes: number };

export type QueueOptions = { durable: boolean; args?: QueueArgs; ackTimeoutMs?: number; owner?: string; gauge?: MemoryGauge };
export type RestoreFlags = { expiresAt?: number; deliverAt?: number; redelivered: boolean; deliveries?: number };

/** RabbitMQ's default consumer timeout: an unacked delivery goes back to the queue after this. */
export const DEFAULT_ACK_TIMEOUT_MS = 30 * 60_000;

/**
 * One queue's state and nothing else: no I/O, no clock (time is passed in), no ids (tags are
 * passed in). Subscribers observe every message; consumers own them. A message leaves the queue
 * when a consumer acks it or, with no consumer attached, once it was sent to the subscribers.
 */
export class Queue {
  readonly durable: boolean;
  readonly args: HeldQueueArgs;
  readonly ackTimeoutMs: number;
  /** The connection of an exclusive queue. */
  readonly owner: string | undefined;
  private readonly gauge: MemoryGauge;
  private readonly ready = new Deque<Entry>();
  private readyBytes = 0;
  /** Ready entries with an expiry: the periodic sweep runs only while there are some. */
  private expiring = 0;
  /** [TTL0-1] Ready entries still waiting for their one chance. */
  private atOnceReady = 0;
  /** Delayed messages, ordered by deliverAt. */
  private delayed: Entry[] = [];
  private readonly inFlight = new Map<number, InFlight>();
  private readonly consumers = new Map<string, Consumer>();
  private rotation = 0;
  private readonly history = new Deque<Entry>();
  private removed: number[] = [];
  /** [COUNT-1] Durable entries handed to a consumer since the last takeDeliveryCounts(). */
  private counted = new Set<Entry>();
  private nextSeq: number;
  subscribers = 0;
  /** Whether anyone ever attached: auto-delete queues go when the last one leaves. */
  everAttached = false;
  published = 0;
  delivered = 0;
  acked = 0;
  deadLettered = 0;

  constructor(
    readonly name: string,
    options: QueueOptions,
    lastSeq = 0,
  ) {
    this.durable = options.durable;
    this.args = withDefaultHistory(options.args ?? DEFAULT_QUEUE_ARGS, options.durable);
    this.ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.owner = options.owner;
    this.gauge = options.gauge ?? { bytes: 0 };
    this.nextSeq = lastSeq + 1;
  }

  // ---- reading --------------------------------------------------------------------------------

  /** Messages waiting: ready and delayed (not those out with consumers). */
  get depth(): number {
    return this.ready.length + this.delayed.length;
  }
  get unacked(): number {
    return this.inFlight.size;
  }
  get bytes(): number {
    return this.readyBytes;
  }
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  get consumerCount(): number {
    return this.consumers.size;
  }
  hasConsumer(id: string): boolean {
    return this.consumers.has(id);
  }

  // ---- publishing -----------------------------------------------------------------------------

  /** Whether a message of this size may enter; only `reject-publish` queues ever say no. */
  admits(bytes: number): boolean {
    if (this.args.overflow !== "reject-publish") return true;
    if (this.args.maxLength !== undefined && this.ready.length >= this.args.maxLength) return false;
    if (this.args.maxBytes !== undefined && this.readyBytes + bytes > this.args.maxBytes) return false;
    return true;
  }

  enqueue(message: Message, now: number, options: { ttl?: number; delay?: number } = {}): Enqueued {
    const ttls = [this.args.messageTtl, options.ttl].filter((t): t is number => t !== undefined);
    const delayed = options.delay !== undefined && options.delay > 0;
    const entry: Entry = {
      seq: this.nextSeq++,
      message,
      bytes: messageBytes(message),
      deliveries: 0,
      redelivered: false,
      observed: false,
      committed: !this.durable,
      gone: false,
      discarded: false,
      expiresAt: ttls.length > 0 ? message.timestamp + Math.min(...ttls) : undefined,
      deliverAt: delayed ? now + options.delay! : undefined,
      // A delayed message's TTL 0 has passed by its release, like any TTL shorter than the delay.
      atOnce: !delayed && ttls.length > 0 && Math.min(...ttls) === 0,
    };
    this.published++;
    this.gauge.bytes += entry.bytes;
    this.remember(entry, now);
    if (entry.deliverAt !== undefined) {
      this.insertDelayed(entry);
      return { entry, observeNow: false, dead: [] };
    }
    return this.admitReady(entry);
  }

  /** Puts back a message read from the store at start-up, in seq order. */
  restore(seq: number, message: Message, flags: RestoreFlags): void {
    const entry: Entry = {
      seq,
      message,
      bytes: messageBytes(message),
      deliveries: flags.deliveries ?? 0,
      redelivered: flags.redelivered,
      observed: false,
      committed: true,
      gone: false,
      discarded: false,
      expiresAt: flags.expiresAt,
      deliverAt: flags.deliverAt,
      // Its one chance was before the restart: restored, its TTL 0 has passed.
      atOnce: false,
    };
    this.gauge.bytes += entry.bytes;
    if (entry.seq >= this.nextSeq) this.nextSeq = entry.seq + 1;
    if (entry.deliverAt !== undefined) this.insertDelayed(entry);
    else this.pushReady(entry);
  }

  private admitReady(entry: Entry): Enqueued {
    // [TTL0-1] Nobody can take it now: it expires now. (A durable one is decided here too; the
    // dispatch after its commit, a millisecond later, hands it out or expires it.)
    if (entry.atOnce && !this.canTakeNow()) return { entry, observeNow: false, dead: [this.kill(entry, "expired")] };
    if (!entry.committed) {
      // [COMMIT-1] Waits in order; delivery starts when the store has it (commit()).
      this.pushReady(entry);
      return { entry, observeNow: false, dead: this.enforceLimits() };
    }
    // Live to subscribers only when they are caught up; otherwise the backlog goes first, in order.
    const caughtUp = this.consumers.size > 0 || this.ready.length === 0;
    if (this.subscribers > 0 && caughtUp) {
      entry.observed = true;
      if (this.consumers.size === 0) {
        // Nobody owns it: having been sent to the subscribers, it leaves the queue.
        this.delivered++;
        this.leave(entry);
        return { entry, observeNow: true, dead: [] };
      }
    }
    this.pushReady(entry);
    return { entry, observeNow: entry.observed, dead: this.enforceLimits() };
  }

  /**
   * [COMMIT-1] The store has the message: it may now be delivered. True when it should go to the
   * subscribers right away (consumers own it, subscribers only observe it); with no consumer it
   * reaches them through the backlog, in order.
   */
  commit(entry: Entry): boolean {
    entry.committed = true;
    if (entry.gone || entry.observed || this.subscribers === 0 || this.consumers.size === 0) return false;
    entry.observed = true;
    return true;
  }

  /** The store refused the message: it leaves without ever having been delivered. */
  abandon(entry: Entry): void {
    if (entry.gone) return;
    for (const dropped of this.ready.filter((e) => e !== entry)) this.dropped(dropped);
    this.delayed = this.delayed.filter((e) => e !== entry);
    this.discard(entry);
  }

  /** [TTL0-1] Whether a message entering now would be delivered now: consumers' free credit beyond what waits ahead, or caught-up subscribers. */
  private canTakeNow(): boolean {
    if (this.consumers.size === 0) return this.subscribers > 0 && this.ready.length === 0;
    let credit = 0;
    for (const consumer of this.consumers.values()) credit += consumer.prefetch === 0 ? Infinity : consumer.prefetch - consumer.unacked;
    return credit > this.ready.length;
  }

  private pushReady(entry: Entry, front = false): void {
    if (front) this.ready.unshift(entry);
    else this.ready.push(entry);
    this.readyBytes += entry.bytes;
    if (entry.expiresAt !== undefined) this.expiring++;
    if (entry.atOnce) this.atOnceReady++;
  }

  private shiftReady(): Entry | undefined {
    const entry = this.ready.shift();
    if (entry !== undefined) this.dropped(entry);
    return entry;
  }

  /** Book-keeping for an entry that left the ready list. */
  private dropped(entry: Entry): void {
    this.readyBytes -= entry.bytes;
    if (entry.expiresAt !== undefined) this.expiring--;
    if (entry.atOnce) this.atOnceReady--;
  }

  /** drop-head: the oldest ready messages make room, and are dead-lettered as `maxlen`. */
  private enforceLimits(): DeadLetter[] {
    const { maxLength, maxBytes, overflow } = this.args;
    if (overflow !== "drop-head" || (maxLength === undefined && maxBytes === undefined)) return [];
    const dead: DeadLetter[] = [];
    while (
      this.ready.length > 0 &&
      ((maxLength !== undefined && this.ready.length > maxLength) || (maxBytes !== undefined && this.readyBytes > maxBytes))
    ) {
      dead.push(this.kill(this.shiftReady()!, "maxlen"));
    }
    return dead;
  }

  /** Dead-letters, as `expired`, the ready entries `expire` picks; the others keep their order. */
  private expireWhere(expire: (entry: Entry) => boolean): DeadLetter[] {
    const dead: DeadLetter[] = [];
    for (const entry of this.ready.filter((e) => !expire(e))) {
      this.dropped(entry);
      dead.push(this.kill(entry, "expired"));
    }
    return dead;
  }

  private insertDelayed(entry: Entry): void {
    let i = this.delayed.length;
    while (i > 0 && this.delayed[i - 1]!.deliverAt! > entry.deliverAt!) i--;
    this.delayed.splice(i, 0, entry);
  }

  // ---- subscribers ----------------------------------------------------------------------------

  /** With no consumer: the next backlog messages for the subscribers; they leave the queue. */
  takeForSubscribers(now: number, maxCount: number, maxBytes: number): { send: Entry[]; dead: DeadLetter[] } {
    const send: Entry[] = [];
    const dead: DeadLetter[] = [];
    if (this.consumers.size > 0 || this.subscribers === 0) return { send, dead };
    let bytes = 0;
    while (send.length < maxCount && bytes < maxBytes && this.ready.peek()?.committed === true) {
      const entry = this.shiftReady()!;
      if (expired(entry, now)) {
        dead.push(this.kill(entry, "expired"));
        continue;
      }
      if (!entry.observed) {
        entry.observed = true;
        send.push(entry);
        bytes += entry.bytes;
        this.delivered++;
      }
      this.leave(entry);
    }
    return { send, dead };
  }

  /**
   * What a subscriber resuming after `since` missed: retained messages after it that it will not
   * get from the backlog. `gap` when history no longer reaches back to `since + 1`.
   */
  replay(since: number): Replay {
    // Ready messages not yet observed will reach the subscriber through the backlog when no consumer owns them.
    const backlogFrom = this.consumers.size === 0 ? (this.ready.peek()?.seq ?? Infinity) : Infinity;
    // [RESUME-1] Delayed messages not yet due go live when they are; once delivered they are replayed like any other.
    const stillDelayed = new Set(this.delayed);
    const entries: Entry[] = [];
    let firstAvailable = Infinity;
    for (const entry of this.history) {
      firstAvailable = Math.min(firstAvailable, entry.seq);
      // Not yet committed: it goes live to this subscriber once it is. [COMMIT-1]
      if (entry.seq <= since || entry.seq >= backlogFrom || stillDelayed.has(entry) || !entry.committed || entry.discarded) continue;
      // Released behind newer ones and not yet sent: it reaches the subscriber through the backlog.
      if (this.consumers.size === 0 && entry.deliverAt !== undefined && !entry.observed) continue;
      entries.push(entry);
    }
    // [RESUME-3] What still waits in the backlog is available too: no false GAP for it.
    firstAvailable = Math.min(firstAvailable, backlogFrom, this.nextSeq);
    const wanted = since + 1;
    const gap = wanted < firstAvailable && wanted <= this.lastSeq;
    return { entries, firstAvailable, gap };
  }

  private remember(entry: Entry, now: number): void {
    const { historySize } = this.args;
    if (historySize === 0) return;
    // [MEM-2] Retained history holds memory too: it counts against the broker's limit (an entry
    // both waiting and retained counts twice, erring on the safe side).
    this.history.push(entry);
    this.gauge.bytes += entry.bytes;
    while (this.history.length > historySize) this.forgetOldest();
    this.forgetOldHistory(now);
  }

  /**
   * [SLOW-2] Flow control: retained history is what gives way first when the broker's memory limit
   * is reached (nothing else would ever free it). Forgets the oldest until `bytes` are freed; returns
   * the bytes freed.
   */
  forgetHistory(bytes: number): number {
    let freed = 0;
    while (freed < bytes && this.history.length > 0) {
      freed += this.history.peek()!.bytes;
      this.forgetOldest();
    }
    return freed;
  }

  private forgetOldest(): void {
    const oldest = this.history.shift();
    if (oldest !== undefined) this.gauge.bytes -= oldest.bytes;
  }

  /** [RESUME-2] history_ttl: retained messages older than it are dropped (also when nothing new is published). */
  private forgetOldHistory(now: number): void {
    const { historyTtl } = this.args;
    if (historyTtl === undefined) return;
    while ((this.history.peek()?.message.timestamp ?? Infinity) < now - historyTtl) this.forgetOldest();
  }

  // ---- consumers ------------------------------------------------------------------------------

  /** Adds a consumer, or changes the prefetch of one already here. */
  addConsumer(id: string, prefetch: number): void {
    const existing = this.consumers.get(id);
    if (existing !== undefined) this.consumers.set(id, { ...existing, prefetch });
    else this.consumers.set(id, { id, prefetch, unacked: 0 });
    this.everAttached = true;
  }

  /** The consumer left: what it held goes back to the head, in order, marked redelivered. */
  removeConsumer(id: string): DeadLetter[] {
    if (!this.consumers.delete(id)) return [];
    const held = [...this.inFlight].filter(([, f]) => f.consumer === id);
    for (const [tag] of held) this.inFlight.delete(tag);
    return this.requeue(held.map(([, f]) => f.entry));
  }

  /** Hands ready messages to consumers with credit, round robin; expired ones are dead-lettered. */
  dispatch(now: number, nextTag: () => number): { dispatches: Dispatch[]; dead: DeadLetter[] } {
    const dispatches: Dispatch[] = [];
    const dead: DeadLetter[] = [];
    const consumers = [...this.consumers.values()];
    if (consumers.length === 0) return { dispatches, dead };
    while (this.ready.peek()?.committed === true) {
      const consumer = this.nextWithCredit(consumers);
      if (consumer === undefined) break;
      const entry = this.shiftReady()!;
      if (expired(entry, now)) {
        dead.push(this.kill(entry, "expired"));
        continue;
      }
      // [COUNT-1] Restored with its count at the limit (handed out that often, then a crash or a
      // shutdown took it back): a requeue would have dead-lettered it; so does this.
      if (entry.deliveries >= this.args.deliveryLimit) {
        dead.push(this.kill(entry, "delivery_limit"));
        continue;
      }
      const redelivered = entry.redelivered || entry.deliveries > 0;
      entry.atOnce = false;
      entry.deliveries++;
      if (this.durable) this.counted.add(entry);
      consumer.unacked++;
      const tag = nextTag();
      this.inFlight.set(tag, { entry, consumer: consumer.id, deadline: now + this.ackTimeoutMs });
      this.delivered++;
      dispatches.push({ consumer: consumer.id, entry, tag, redelivered });
    }
    // [TTL0-1] Committed, and no consumer took it just now: its chance is gone.
    if (this.atOnceReady > 0) dead.push(...this.expireWhere((e) => e.atOnce && e.committed));
    return { dispatches, dead };
  }

  private nextWithCredit(consumers: Consumer[]): Consumer | undefined {
    for (let i = 0; i < consumers.length; i++) {
      const consumer = consumers[(this.rotation + i) % consumers.length]!;
      if (consumer.prefetch === 0 || consumer.unacked < consumer.prefetch) {
        this.rotation = (this.rotation + i + 1) % consumers.length;
        return consumer;
      }
    }
    return undefined;
  }

  ack(consumer: string, tag: number): Result<Entry> {
    const flight = this.takeFlight(consumer, tag);
    if (!flight.ok) return flight;
    this.acked++;
    this.leave(flight.value.entry);
    return ok(flight.value.entry);
  }

  /** requeue: back to the head (or dead-lettered past the delivery limit); otherwise dead-lettered as `rejected`. */
  nack(consumer: string, tag: number, requeue: boolean): Result<DeadLetter[]> {
    const flight = this.takeFlight(consumer, tag);
    if (!flight.ok) return flight;
    return ok(requeue ? this.requeue([flight.value.entry]) : [this.kill(flight.value.entry, "rejected")]);
  }

  private takeFlight(consumer: string, tag: number): Result<InFlight> {
    const flight = this.inFlight.get(tag);
    if (flight === undefined || flight.consumer !== consumer) {
      return fail(ErrorCodes.UNKNOWN_DELIVERY_TAG, `unknown delivery tag ${tag} (already acknowledged, or never delivered here)`);
    }
    this.inFlight.delete(tag);
    const holder = this.consumers.get(consumer);
    if (holder !== undefined) holder.unacked--;
    return ok(flight);
  }

  private requeue(entries: Entry[]): DeadLetter[] {
    const dead: DeadLetter[] = [];
    const back = entries.filter((entry) => {
      if (entry.deliveries < this.args.deliveryLimit) return true;
      dead.push(this.kill(entry, "delivery_limit"));
      return false;
    });
    back.sort((a, b) => b.seq - a.seq);
    for (const entry of back) {
      entry.redelivered = true;
      this.pushReady(entry, true);
    }
    return dead;
  }

  // ---- time -----------------------------------------------------------------------------------

  /** Expires messages, releases delayed ones that are due, and takes back deliveries past the ack timeout. */
  tick(now: number): { dead: DeadLetter[]; due: Entry[]; revoked: { consumer: string; tag: number }[] } {
    const dead: DeadLetter[] = [];
    const due: Entry[] = [];
    this.forgetOldHistory(now);
    while (this.delayed.length > 0 && this.delayed[0]!.deliverAt! <= now) {
      const entry = this.delayed.shift()!;
      if (expired(entry, now)) {
        dead.push(this.kill(entry, "expired"));
        continue;
      }
      const admitted = this.admitReady(entry);
      dead.push(...admitted.dead);
      if (admitted.observeNow) due.push(entry);
    }
    // [TTL0-1] A committed TTL-0 message still here missed its chance (nobody dispatched since).
    if (this.expiring > 0) dead.push(...this.expireWhere((e) => expired(e, now) || (e.atOnce && e.committed)));
    // Deadlines grow in insertion order (now + a fixed timeout), so the late ones come first.
    const late: [number, InFlight][] = [];
    for (const pair of this.inFlight) {
      if (pair[1].deadline > now) break;
      late.push(pair);
    }
    for (const [tag, flight] of late) {
      this.inFlight.delete(tag);
      const holder = this.consumers.get(flight.consumer);
      if (holder !== undefined) holder.unacked--;
    }
    dead.push(...this.requeue(late.map(([, f]) => f.entry)));
    return { dead, due, revoked: late.map(([tag, f]) => ({ consumer: f.consumer, tag })) };
  }

  // ---- removal --------------------------------------------------------------------------------

  /** Drops every ready and delayed message (not those out with consumers); returns how many. */
  purge(): number {
    const dropped = [...this.ready.clear(), ...this.delayed];
    this.delayed = [];
    this.readyBytes = 0;
    this.expiring = 0;
    this.atOnceReady = 0;
    for (const entry of dropped) this.discard(entry);
    return dropped.length;
  }

  /**
   * Seqs a clean shutdown stores as redelivered: out with consumers, or flagged already (given back
   * by a consumer, or restored after a crash). Otherwise the run after the clean one would hand
   * them out as new. [REDELIVERED-1]
   */
  possiblyDeliveredSeqs(): number[] {
    const seqs = [...this.inFlight.values()].map((f) => f.entry.seq);
    for (const entry of this.ready) if (entry.redelivered) seqs.push(entry.seq);
    for (const entry of this.delayed) if (entry.redelivered) seqs.push(entry.seq);
    return seqs;
  }

  /** The queue is deleted: its messages no longer count against the broker's memory. */
  release(): void {
    for (const entry of this.history) this.gauge.bytes -= entry.bytes;
    for (const entry of this.ready) this.gauge.bytes -= entry.bytes;
    for (const entry of this.delayed) this.gauge.bytes -= entry.bytes;
    for (const flight of this.inFlight.values()) this.gauge.bytes -= flight.entry.bytes;
  }

  /** Seqs that left the queue since the last call: the store may forget them. */
  takeRemoved(): number[] {
    const removed = this.removed;
    this.removed = [];
    return removed;
  }

  /** [COUNT-1] [seq, deliveries] of the durable messages handed out since the last call: the store records them. */
  takeDeliveryCounts(): [number, number][] {
    if (this.counted.size === 0) return [];
    const counts: [number, number][] = [];
    for (const entry of this.counted) counts.push([entry.seq, entry.deliveries]);
    this.counted = new Set();
    return counts;
  }

  /** A checkpoint that failed gives its removals back, to be tried again. */
  forgetLater(ranges: readonly (readonly [number, number])[]): void {
    for (const [from, to] of ranges) for (let seq = from; seq <= to; seq++) this.removed.push(seq);
  }

  private leave(entry: Entry): void {
    entry.gone = true;
    this.gauge.bytes -= entry.bytes;
    // Only durable queues' messages are in the store to be forgotten.
    if (this.durable) this.removed.push(entry.seq);
  }

  private kill(entry: Entry, reason: DeathReason): DeadLetter {
    this.deadLettered++;
    this.discard(entry);
    return { entry, reason };
  }

  /** The entry leaves; if nobody ever had it, it was never part of the stream. [HIST-1] */
  private discard(entry: Entry): void {
    if (entry.deliveries === 0 && !entry.observed) entry.discarded = true;
    this.leave(entry);
  }
}

/** [TTL0-1] A TTL-0 message waiting for its one chance is not expired yet: the dispatch decides. */
const expired = (entry: Entry, now: number): boolean => entry.expiresAt !== undefined && entry.expiresAt <= now && !entry.atOnce;
