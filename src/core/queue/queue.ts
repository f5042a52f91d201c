import { ok, type Result } from "../errors.ts";
import { DEFAULT_ACK_TIMEOUT_MS, DEFAULT_HISTORY_MAX_BYTES, PAGE_READ_ROWS, PAGE_READ_ROWS_TIGHT, PAGE_WINDOW_BYTES, PAGE_WINDOW_MESSAGES } from "../limits.ts";
import type { PublishedMessage } from "../message.ts";
import { DEFAULT_QUEUE_ARGS, withDefaultHistory, type HeldQueueArgs, type QueueArgs } from "../queue-args.ts";
import { Consumers } from "./consumers.ts";
import { NO_EFFECTS, type Effect, type Effects } from "./effects.ts";
import { expired, newEntry, restoredEntry, type DeathReason, type EnqueueOptions, type Entry, type RestoreFlags } from "./entry.ts";
import { History, type MemoryGauge, type Replay } from "./history.ts";
import { ReadyList } from "./ready.ts";
import { Tail, type PageRequest } from "./tail.ts";

/** A message as the store holds it for a queue (the Store's StoredMessage builds on it): what restoredEntry needs. */
export type PagedRow = {
  readonly seq: number;
  readonly message: PublishedMessage;
  readonly expiresAt?: number;
  readonly deliverAt?: number;
  /** Handed to a consumer before a clean shutdown, or stored at a crash: it may have been delivered. */
  readonly redelivered?: boolean;
  /** [COUNT-1] Times handed to a consumer, as last recorded (recordDeliveries). */
  readonly deliveries?: number;
};

/** [HIST-2] Rows of a durable queue's stored history as the store reads them for a replay, with its history floor. */
export type StoredReplay = {
  readonly rows: readonly (PagedRow & { readonly retained: boolean })[];
  readonly floor: number;
  /** The rows stop short of memory's history (a byte limit): the replay ends with them. */
  readonly truncated?: boolean;
};

/** Seqs from..to of a durable queue on disk only, at most `limit` rows, as Store.readMessages takes them. */
export type DiskRange = { readonly from: number; readonly to: number; readonly limit: number; readonly delayedAfter: number };

/** A durable queue's stored messages as the store counts them at start-up (delayed ones included), without reading them. */
export type StoredBacklog = { readonly count: number; readonly bytes: number; readonly firstSeq: number; readonly lastSeq: number; readonly delayedAfter: number };

export type QueueOptions = { durable: boolean; args?: QueueArgs; ackTimeoutMs?: number; owner?: string; gauge?: MemoryGauge };

/**
 * One queue's state and nothing else (the management API's `Queue` is its view, views.ts): no I/O, no clock (time is passed in), no ids (tags are
 * passed in). Each command changes the state and returns what the broker must do as effects
 * (rabbit_fifo's `apply`); replies (an ack's D001, `admits`, a replay) are return values, and the
 * getters only read. Subscribers observe every message; consumers own them. A message leaves the
 * queue when a consumer acks it or, with no consumer attached, once it was sent to the subscribers.
 */
export class QueueState {
  readonly durable: boolean;
  readonly args: HeldQueueArgs;
  readonly ackTimeoutMs: number;
  /** The connection of an exclusive queue. */
  readonly owner: string | undefined;
  private readonly gauge: MemoryGauge;
  private readonly ready = new ReadyList();
  /**
   * Durable queues only: what waits behind the memory window, on disk (paged). Ready messages are
   * the window, then the tail, in that order; the broker reads the tail back as the window drains.
   */
  private readonly tail = new Tail();
  /**
   * drop-head past a limit with the window empty: the oldest messages on disk are dropped as they
   * are read back (bytes estimated until then).
   */
  private readonly owed = { count: 0, bytes: 0 };
  /** Delayed messages, ordered by deliverAt. */
  private delayed: Entry[] = [];
  /** Bytes of the delayed messages: they wait in this queue, so they count toward max_bytes. */
  private delayedBytes = 0;
  private readonly consumers = new Consumers();
  private readonly history: History;
  /** Seqs of durable messages that left since the last checkpoint(): the store may forget them. */
  private removals: number[] = [];
  /** [HIST-2] Seqs of durable messages that left after delivery since the last checkpoint(): the store keeps them as history. */
  private retains: number[] = [];
  /** [COUNT-1] Durable entries handed to a consumer since the last recordDeliveries(). */
  private counted = new Set<Entry>();
  private nextSeq: number;
  private subscriberCount = 0;
  /** [HIST-2] Waiting messages up to this seq every attached subscriber has already (see attachSubscriber). */
  private skipThrough = 0;
  /** Whether anyone ever attached: auto-delete queues go when the last one leaves. */
  private everAttached = false;
  /** Counters for the management views; read through the getters. */
  private readonly totals = { published: 0, delivered: 0, acked: 0, deadLettered: 0 };

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
    this.history = new History(this.args.historySize, this.args.historyTtl, this.gauge);
    this.nextSeq = lastSeq + 1;
  }

  // ---- reading --------------------------------------------------------------------------------

  /** Messages waiting: ready and delayed (not those out with consumers). */
  get depth(): number {
    return this.ready.length + this.delayed.length + this.tail.count - this.owed.count;
  }
  /** Whether a ready message can go out now (in memory and committed). */
  get hasDeliverable(): boolean {
    return this.ready.peek()?.committed === true;
  }
  /** Of those, the ones on disk only (read back as the window drains). */
  get pagedOut(): number {
    return Math.max(0, this.tail.count - this.tail.pending.length - this.owed.count);
  }
  /** Of those, the ones not yet due (published with a delay). */
  get delayedCount(): number {
    return this.delayed.length;
  }
  get unacked(): number {
    return this.consumers.unacked;
  }
  get bytes(): number {
    return this.ready.bytes + this.delayedBytes + this.tailBytes;
  }
  /** Bytes behind the window, less those owed to drop-head. */
  private get tailBytes(): number {
    return Math.max(0, this.tail.bytes - this.owed.bytes);
  }
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  get subscribers(): number {
    return this.subscriberCount;
  }
  get published(): number {
    return this.totals.published;
  }
  get delivered(): number {
    return this.totals.delivered;
  }
  get acked(): number {
    return this.totals.acked;
  }
  get deadLettered(): number {
    return this.totals.deadLettered;
  }
  get consumerCount(): number {
    return this.consumers.size;
  }
  hasConsumer(id: string): boolean {
    return this.consumers.has(id);
  }

  /** Whether a message of this size may enter; only `reject-publish` queues ever say no. */
  admits(bytes: number): boolean {
    if (this.args.overflow !== "reject-publish") return true;
    // [LIMIT-1] Delayed messages wait in the queue too: a delay must not get a publish past the limit.
    if (this.args.maxLength !== undefined && this.depth >= this.args.maxLength) return false;
    if (this.args.maxBytes !== undefined && this.bytes + bytes > this.args.maxBytes) return false;
    return true;
  }

  /**
   * [HIST-2] Where the history held in memory begins: a durable queue's resume from before it reads
   * the store's retained history first (replayStored).
   */
  get historyStart(): number {
    return this.history.firstSeq ?? this.nextSeq;
  }

  /**
   * [HIST-2] The seqs a replay after `since` needs from the store: from what history_size still
   * keeps up to where memory's history begins.
   */
  storedReplayRange(since: number): { from: number; to: number } {
    return { from: Math.max(since + 1, this.lastSeq - this.args.historySize + 1), to: this.historyStart - 1 };
  }

  /** Seq of the first waiting message a subscriber gets through the backlog (Infinity when consumers own them). */
  private get backlogFrom(): number {
    return this.consumers.size > 0 ? Infinity : Math.min(this.ready.peek()?.seq ?? Infinity, this.tail.firstSeq);
  }

  /**
   * [HIST-2] A durable queue's replay when memory no longer reaches back to `since`: the store's
   * rows from `since` up to historyStart (read in line with checkpoints, so what is still pending
   * here tells what left since the last one), then the history in memory. GAP only when retention
   * (history_size, history_ttl, history_max_bytes: the store's floor) no longer reaches back.
   */
  replayStored(since: number, stored: StoredReplay, now: number): Replay {
    const consumers = this.consumers.size > 0;
    const backlogFrom = this.backlogFrom;
    const left = new Set(this.retains);
    const forgotten = new Set(this.removals);
    const ttl = this.args.historyTtl;
    let floor = Math.max(stored.floor, this.lastSeq - this.args.historySize);
    const older: Entry[] = [];
    for (const row of stored.rows) {
      if (row.seq <= since || row.seq >= this.historyStart || forgotten.has(row.seq)) continue;
      if (ttl !== undefined && row.message.timestamp < now - ttl) {
        floor = Math.max(floor, row.seq);
        continue;
      }
      if (!row.retained && !left.has(row.seq)) {
        // Still waiting: without consumers it reaches the subscriber through the backlog; with
        // them subscribers saw it at its commit (a delayed one once it is due).
        if (!consumers || (row.deliverAt !== undefined && row.deliverAt > now)) continue;
      }
      older.push(restoredEntry(row.seq, row.message, { redelivered: row.redelivered === true, expiresAt: row.expiresAt, deliverAt: row.deliverAt }));
    }
    const recent = stored.truncated === true ? [] : this.replay(Math.max(since, this.historyStart - 1)).entries;
    const entries = [...older.filter((e) => e.seq > floor), ...recent];
    const wanted = since + 1;
    const firstAvailable = Math.min(floor + 1, backlogFrom, this.nextSeq);
    return { entries, firstAvailable, gap: wanted < firstAvailable && wanted <= this.lastSeq };
  }

  /** What a subscriber resuming after `since` missed; see History.replay. */
  replay(since: number): Replay {
    // Ready messages not yet observed will reach the subscriber through the backlog when no consumer owns them.
    return this.history.replay(since, { backlogFrom: this.backlogFrom, delayed: this.delayed, consumers: this.consumers.size > 0, nextSeq: this.nextSeq });
  }

  // ---- publishing -----------------------------------------------------------------------------

  /** Effects: `persist` (durable), `deliverToSubscribers` (caught up and due), `deadLetter` (TTL 0, drop-head). */
  enqueue(message: PublishedMessage, now: number, options: EnqueueOptions = {}): Effects {
    const entry = newEntry(this.nextSeq++, message, now, !this.durable, this.args.messageTtl, options);
    this.totals.published++;
    this.gauge.bytes += entry.bytes;
    this.history.remember(entry, now);
    let admitted = NO_EFFECTS;
    if (entry.deliverAt === undefined) admitted = this.admitReady(entry);
    else this.insertDelayed(entry);
    return this.durable ? [{ kind: "persist", entry }, ...admitted] : admitted;
  }

  /** Puts back a message read from the store at start-up, in seq order. */
  restore(seq: number, message: PublishedMessage, flags: RestoreFlags): void {
    const entry = restoredEntry(seq, message, flags);
    this.gauge.bytes += entry.bytes;
    if (entry.seq >= this.nextSeq) this.nextSeq = entry.seq + 1;
    if (entry.deliverAt !== undefined) this.insertDelayed(entry);
    else this.ready.push(entry);
  }

  /**
   * [PAGE-1] The stored messages of a durable queue, counted at start-up, after its delayed ones
   * were restored (they are in the counts, and in memory already): the rest is read back page by
   * page, never all at once.
   */
  restoreBacklog(backlog: StoredBacklog): void {
    if (backlog.lastSeq >= this.nextSeq) this.nextSeq = backlog.lastSeq + 1;
    const count = backlog.count - this.delayed.length;
    const bytes = Math.max(0, backlog.bytes - this.delayedBytes);
    if (count <= 0) return;
    const { firstSeq, lastSeq, delayedAfter } = backlog;
    this.tail.runs.push({ from: firstSeq, to: lastSeq, count, delayedAfter, observed: false });
    this.tail.count += count;
    this.tail.bytes += bytes;
  }

  /**
   * [COMMIT-1] The store has the message: it may now be delivered. `deliverToSubscribers` when it
   * goes to them right away (consumers own it, subscribers only observe it); with no consumer it
   * reaches them through the backlog, in order.
   */
  commit(entry: Entry): Effects {
    entry.committed = true;
    if (entry.gone) return NO_EFFECTS;
    const effects = this.observeLive(entry);
    if (entry.inTail) this.settleTail();
    return effects;
  }

  /** The store refused the message: it leaves without ever having been delivered. */
  abandon(entry: Entry): Effects {
    if (entry.gone) return NO_EFFECTS;
    if (entry.inTail) {
      this.tail.pending.removeWhere((e) => e === entry);
      this.outOfTail(entry);
      this.discard(entry);
      this.settleTail();
      return NO_EFFECTS;
    }
    this.ready.removeWhere((e) => e === entry);
    if (this.delayed.includes(entry)) {
      this.delayed = this.delayed.filter((e) => e !== entry);
      this.delayedBytes -= entry.bytes;
    }
    this.discard(entry);
    return NO_EFFECTS;
  }

  private admitReady(entry: Entry): Effects {
    // [TTL0-1] Nobody can take it now: it expires now. (A durable one is decided here too; the
    // dispatch after its commit, a millisecond later, hands it out or expires it.)
    if (entry.atOnce && !this.canTakeNow()) return [this.kill(entry, "expired")];
    // [PAGE-1] Behind messages on disk, or the window is full: it waits on disk too, in order.
    if (this.durable && (this.tail.count > 0 || !this.windowRoom())) {
      const live = entry.committed ? this.observeLive(entry) : NO_EFFECTS;
      entry.inTail = true;
      this.tail.pending.push(entry);
      this.tail.count++;
      this.tail.bytes += entry.bytes;
      this.settleTail();
      return this.enforceLimits(live);
    }
    if (!entry.committed) {
      // [COMMIT-1] Waits in order; delivery starts when the store has it (commit()).
      this.ready.push(entry);
      return this.enforceLimits(NO_EFFECTS);
    }
    // Live to subscribers only when they are caught up; otherwise the backlog goes first, in order.
    const caughtUp = this.consumers.size > 0 || (this.ready.length === 0 && this.tail.count === 0);
    if (this.subscriberCount > 0 && caughtUp) {
      entry.observed = true;
      const live: Effect[] = [{ kind: "deliverToSubscribers", entry }];
      if (this.consumers.size === 0) {
        // Nobody owns it: having been sent to the subscribers, it leaves the queue.
        this.totals.delivered++;
        this.leave(entry);
        return live;
      }
      this.ready.push(entry);
      return this.enforceLimits(live);
    }
    this.ready.push(entry);
    return this.enforceLimits(NO_EFFECTS);
  }

  /** With consumers owning it, subscribers see a committed message at once (only observe it): `deliverToSubscribers`, once. */
  private observeLive(entry: Entry): Effects {
    if (entry.observed || this.subscriberCount === 0 || this.consumers.size === 0) return NO_EFFECTS;
    entry.observed = true;
    return [{ kind: "deliverToSubscribers", entry }];
  }

  /** [TTL0-1] Whether a message entering now would be delivered now: consumers' free credit beyond what waits ahead, or caught-up subscribers. */
  private canTakeNow(): boolean {
    if (this.consumers.size === 0) return this.subscriberCount > 0 && this.ready.length === 0 && this.tail.count === 0;
    return this.consumers.credit() > this.ready.length + this.tail.count;
  }

  // ---- the window (paged durable queues) ------------------------------------------------------

  /** Whether the window takes one more message in memory: below its own size and MAX_QUEUED_BYTES. */
  private windowRoom(): boolean {
    if (this.ready.length >= PAGE_WINDOW_MESSAGES || this.ready.bytes >= PAGE_WINDOW_BYTES) return false;
    return this.gauge.limit === undefined || this.gauge.bytes <= this.gauge.limit;
  }

  /**
   * Committed messages at the front of the tail leave memory: into the window when nothing waits
   * on disk and it has room, else onto disk (a run), their place kept.
   */
  private settleTail(): void {
    const { tail } = this;
    while (tail.pending.peek()?.committed === true) {
      const entry = tail.pending.shift()!;
      if (tail.runs.length === 0 && this.windowRoom()) {
        this.outOfTail(entry);
        this.ready.push(entry);
        continue;
      }
      tail.appendRun(entry.seq, entry.observed);
      // On disk only from here on (the history may still hold it, and counts it itself).
      entry.inTail = false;
      this.gauge.bytes -= entry.bytes;
    }
  }

  /** An entry taken out of the tail while still in memory. */
  private outOfTail(entry: Entry): void {
    entry.inTail = false;
    this.tail.count--;
    this.tail.bytes -= entry.bytes;
  }

  /**
   * [PAGE-1] What to read from the store into the window next, or undefined: nothing on disk, a
   * read in flight, or no room. The caller reads it and hands the rows to pageIn (or pageFailed).
   */
  pageRequest(): PageRequest | undefined {
    const { tail } = this;
    const run = tail.runs[0];
    if (run === undefined || tail.reading !== undefined) return undefined;
    let limit: number;
    if (this.owed.count > 0) {
      limit = Math.min(PAGE_READ_ROWS, this.owed.count + PAGE_READ_ROWS_TIGHT);
    } else if (this.gauge.limit !== undefined && this.gauge.bytes > this.gauge.limit) {
      if (this.ready.length > 0) return undefined;
      limit = PAGE_READ_ROWS_TIGHT;
    } else {
      const average = Math.max(1, this.tailBytes / Math.max(1, tail.count - this.owed.count));
      const room = Math.min(PAGE_WINDOW_MESSAGES - this.ready.length, Math.floor((PAGE_WINDOW_BYTES - this.ready.bytes) / average));
      // Read ahead in whole pages; an empty window takes whatever fits.
      if (room < PAGE_READ_ROWS && this.ready.length > 0) return undefined;
      limit = Math.max(1, Math.min(PAGE_READ_ROWS, room));
    }
    tail.reading = tail.generation;
    return { from: run.from, to: run.to, limit, delayedAfter: run.delayedAfter, generation: tail.generation };
  }

  /** [PAGE-1] The rows read for `request`, in seq order, join the window. Effects: `deadLetter` for those drop-head owed. */
  pageIn(request: PageRequest, rows: readonly PagedRow[]): Effects {
    const { tail } = this;
    if (request.generation !== tail.generation) return NO_EFFECTS;
    tail.reading = undefined;
    const run = tail.runs[0];
    if (run === undefined || run.from !== request.from) return NO_EFFECTS;
    let dead: Effect[] | undefined;
    for (const row of rows) {
      if (row.seq < run.from || row.seq > run.to) continue;
      run.from = row.seq + 1;
      run.count--;
      // The same entry when the history still holds it: one message, one set of flags.
      const entry =
        this.history.find(row.seq) ??
        restoredEntry(row.seq, row.message, {
          expiresAt: row.expiresAt,
          deliverAt: row.deliverAt,
          redelivered: row.redelivered === true,
          deliveries: row.deliveries,
          observed: run.observed,
        });
      entry.inTail = false;
      tail.count--;
      tail.bytes -= entry.bytes;
      this.gauge.bytes += entry.bytes;
      if (this.owed.count > 0) {
        this.owed.bytes -= this.owed.bytes / this.owed.count;
        this.owed.count--;
        (dead ??= []).push(this.kill(entry, "maxlen"));
        continue;
      }
      this.ready.push(entry);
    }
    // Fewer rows than asked for: nothing is left in the run (unless it grew since the request).
    if (run.count <= 0 || run.from > run.to || (rows.length < request.limit && run.to === request.to)) {
      tail.runs.shift();
      if (tail.runs.length === 0) {
        // What is left is in memory: count it exactly, so no estimate drifts.
        tail.count = tail.pending.length;
        tail.bytes = 0;
        for (const entry of tail.pending) tail.bytes += entry.bytes;
        // Owed drops apply to what is on disk only: none is left (enforceLimits takes over).
        this.owed.count = 0;
      }
    }
    if (this.owed.count === 0) this.owed.bytes = 0;
    this.settleTail();
    return this.enforceLimits(dead ?? NO_EFFECTS);
  }

  /** The read for `request` failed: a later pageRequest asks again. */
  pageFailed(request: PageRequest): void {
    if (request.generation === this.tail.generation) this.tail.reading = undefined;
  }

  /** drop-head: the oldest ready messages make room, and are dead-lettered as `maxlen`; appended to `effects`. */
  private enforceLimits(effects: Effects): Effects {
    const { maxLength, maxBytes, overflow } = this.args;
    if (overflow !== "drop-head" || (maxLength === undefined && maxBytes === undefined)) return effects;
    let out: Effect[] | undefined;
    const tail = this.tail;
    const over = () =>
      (maxLength !== undefined && this.ready.length + tail.count - this.owed.count > maxLength) ||
      (maxBytes !== undefined && this.ready.bytes + this.tailBytes > maxBytes);
    while (over()) {
      const head = this.ready.shift() ?? this.oldestInMemoryTail();
      if (head !== undefined) {
        (out ??= [...effects]).push(this.kill(head, "maxlen"));
        continue;
      }
      // [PAGE-1] The oldest are on disk: dropped (and dead-lettered) as they are read back.
      const onDisk = this.pagedOut;
      if (onDisk <= 0) break;
      this.owed.bytes += this.tailBytes / onDisk;
      this.owed.count++;
    }
    return out ?? effects;
  }

  /** With nothing on disk ahead of it, the tail's first pending entry (in memory), taken out. */
  private oldestInMemoryTail(): Entry | undefined {
    const tail = this.tail;
    if (this.pagedOut > 0 || tail.runs.length > 0) return undefined;
    const entry = tail.pending.shift();
    if (entry !== undefined) this.outOfTail(entry);
    return entry;
  }

  /** Dead-letters, as `expired`, the ready entries `expire` picks; the others keep their order. */
  private expireWhere(expire: (entry: Entry) => boolean, into: Effect[]): void {
    for (const entry of this.ready.removeWhere(expire)) into.push(this.kill(entry, "expired"));
  }

  private insertDelayed(entry: Entry): void {
    let i = this.delayed.length;
    while (i > 0 && this.delayed[i - 1]!.deliverAt! > entry.deliverAt!) i--;
    this.delayed.splice(i, 0, entry);
    this.delayedBytes += entry.bytes;
  }

  // ---- subscribers ----------------------------------------------------------------------------

  /**
   * `since`: the subscriber resumed saying it has every message up to that seq. [HIST-2] While
   * every attached subscriber said so, a durable queue's messages restored after a crash (never
   * handed to a consumer, not delayed) up to it are not sent again: they went to subscribers
   * before (the crash lost the mark that they left), so they leave now, as delivered. A `since`
   * past the queue's last seq proves nothing (another queue of that name, before a restart).
   */
  attachSubscriber(since?: number): void {
    const claim = this.durable && since !== undefined && since <= this.lastSeq ? since : 0;
    this.skipThrough = this.subscriberCount === 0 ? claim : Math.min(this.skipThrough, claim);
    this.subscriberCount++;
    this.everAttached = true;
  }

  /** Effects: `autoDelete` when that was the last user of an auto-delete queue. */
  detachSubscriber(): Effects {
    if (this.subscriberCount === 0) return NO_EFFECTS;
    this.subscriberCount--;
    return this.lastUserLeft();
  }

  /**
   * With no consumer: the next backlog message for the subscribers, which then leaves the queue.
   * One at a time [SLOW-1]: delivering it may cut the last subscriber. Effects: `deadLetter` for
   * expired ones passed on the way, then `deliverToSubscribers`; none once there is nothing to send.
   */
  nextForSubscribers(now: number): Effects {
    if (this.consumers.size > 0 || this.subscriberCount === 0) return NO_EFFECTS;
    let effects: Effect[] | undefined;
    while (this.ready.peek()?.committed === true) {
      const entry = this.ready.shift()!;
      if (expired(entry, now)) {
        (effects ??= []).push(this.kill(entry, "expired"));
        continue;
      }
      this.leave(entry);
      if (entry.observed) continue;
      entry.observed = true;
      this.totals.delivered++;
      if (entry.seq <= this.skipThrough && entry.restoredRedelivered && entry.deliveries === 0 && entry.deliverAt === undefined) continue;
      (effects ??= []).push({ kind: "deliverToSubscribers", entry });
      break;
    }
    return effects ?? NO_EFFECTS;
  }

  // ---- consumers ------------------------------------------------------------------------------

  /** Adds a consumer, or changes the prefetch of one already here. */
  attachConsumer(id: string, prefetch: number): void {
    this.consumers.attach(id, prefetch);
    this.everAttached = true;
  }

  /**
   * The consumer left: what it held goes back to the head, in order, marked redelivered. Effects:
   * `deadLetter` for those past the delivery limit; `autoDelete` when that was the last user.
   */
  detachConsumer(id: string): Effects {
    const held = this.consumers.detach(id);
    if (held === undefined) return NO_EFFECTS;
    const effects: Effect[] = [];
    this.requeue(held, effects);
    effects.push(...this.lastUserLeft());
    return effects.length === 0 ? NO_EFFECTS : effects;
  }

  /**
   * Hands ready messages to consumers with credit, round robin. Effects: `deliverToConsumer` for
   * each, with a tag from `nextTag`; then `deadLetter` for expired ones and those at their limit.
   */
  dispatch(now: number, nextTag: () => number): Effects {
    if (this.consumers.size === 0) return NO_EFFECTS;
    const consumers = this.consumers.snapshot();
    let effects: Effect[] | undefined;
    let dead: Effect[] | undefined;
    while (this.ready.peek()?.committed === true) {
      const consumer = this.consumers.nextWithCredit(consumers);
      if (consumer === undefined) break;
      const entry = this.ready.shift()!;
      if (expired(entry, now)) {
        (dead ??= []).push(this.kill(entry, "expired"));
        continue;
      }
      // [COUNT-1] Restored with its count at the limit (handed out that often, then a crash or a
      // shutdown took it back): a requeue would have dead-lettered it; so does this.
      if (entry.deliveries >= this.args.deliveryLimit) {
        (dead ??= []).push(this.kill(entry, "delivery_limit"));
        continue;
      }
      const redelivered = entry.redelivered || entry.deliveries > 0;
      entry.atOnce = false;
      entry.deliveries++;
      if (this.durable) this.counted.add(entry);
      const tag = nextTag();
      this.consumers.hand(consumer, entry, tag, now + this.ackTimeoutMs);
      this.totals.delivered++;
      (effects ??= []).push({ kind: "deliverToConsumer", consumer: consumer.id, entry, tag, redelivered });
    }
    // [TTL0-1] Committed, and no consumer took it just now: its chance is gone.
    if (this.ready.atOnce > 0) this.expireWhere((e) => e.atOnce && e.committed, (dead ??= []));
    if (dead === undefined || dead.length === 0) return effects ?? NO_EFFECTS;
    if (effects === undefined) return dead;
    effects.push(...dead);
    return effects;
  }

  /** Reply: D001 for a tag this consumer does not hold. No effects: the message simply leaves. */
  ack(consumer: string, tag: number): Result<Effects> {
    const taken = this.consumers.take(consumer, tag);
    if (!taken.ok) return taken;
    this.totals.acked++;
    // [COUNT-1] Acked, its count matters no more (a crash brings it back at most once more, and
    // acked it needs no delivery limit): not written, and not held on to.
    this.counted.delete(taken.value);
    this.leave(taken.value);
    return ok(NO_EFFECTS);
  }

  /** requeue: back to the head (or dead-lettered past the delivery limit); otherwise dead-lettered as `rejected`. */
  nack(consumer: string, tag: number, requeue: boolean): Result<Effects> {
    const taken = this.consumers.take(consumer, tag);
    if (!taken.ok) return taken;
    if (!requeue) return ok([this.kill(taken.value, "rejected")]);
    const dead: Effect[] = [];
    this.requeue([taken.value], dead);
    return ok(dead.length === 0 ? NO_EFFECTS : dead);
  }

  /** Back to the head, in seq order, marked redelivered; past the delivery limit, dead-lettered into `dead`. */
  private requeue(entries: Entry[], dead: Effect[]): void {
    const back = entries.filter((entry) => {
      if (entry.deliveries < this.args.deliveryLimit) return true;
      dead.push(this.kill(entry, "delivery_limit"));
      return false;
    });
    back.sort((a, b) => b.seq - a.seq);
    for (const entry of back) {
      entry.redelivered = true;
      this.ready.pushFront(entry);
    }
  }

  private lastUserLeft(): Effects {
    if (!this.args.autoDelete || !this.everAttached || this.subscriberCount + this.consumers.size > 0) return NO_EFFECTS;
    return AUTO_DELETE;
  }

  // ---- time -----------------------------------------------------------------------------------

  /**
   * Expires messages, releases delayed ones that are due, and takes back deliveries past the ack
   * timeout. Effects, in this order: `revoke`, `deliverToSubscribers` (released and caught up), `deadLetter`.
   */
  tick(now: number): Effects {
    this.history.forgetExpired(now);
    let due: Effect[] | undefined;
    const dead: Effect[] = [];
    while (this.delayed.length > 0 && this.delayed[0]!.deliverAt! <= now) {
      const entry = this.delayed.shift()!;
      this.delayedBytes -= entry.bytes;
      if (expired(entry, now)) {
        dead.push(this.kill(entry, "expired"));
        continue;
      }
      for (const effect of this.admitReady(entry)) (effect.kind === "deadLetter" ? dead : (due ??= [])).push(effect);
    }
    // [TTL0-1] A committed TTL-0 message still here missed its chance (nobody dispatched since).
    if (this.ready.expiring > 0) this.expireWhere((e) => expired(e, now) || (e.atOnce && e.committed), dead);
    const late = this.consumers.takeLate(now);
    if (late.length === 0 && due === undefined && dead.length === 0) return NO_EFFECTS;
    const effects: Effect[] = [];
    for (const [tag, delivery] of late) effects.push({ kind: "revoke", consumer: delivery.consumer, tag });
    this.requeue(
      late.map(([, delivery]) => delivery.entry),
      dead,
    );
    if (due !== undefined) effects.push(...due);
    effects.push(...dead);
    return effects;
  }

  // ---- inspection and moving (management) ---------------------------------------------------

  /**
   * Peek: the messages after `after` this queue holds in memory (ready, delayed, out with
   * consumers), at most `limit`, in seq order, and the seq ranges on disk only after `after`, for
   * the broker to read. Changes nothing.
   */
  inspect(after: number, limit: number): { entries: { entry: Entry; state: "ready" | "delayed" | "unacked" }[]; disk: DiskRange[] } {
    const entries: { entry: Entry; state: "ready" | "delayed" | "unacked" }[] = [];
    for (const entry of this.ready) if (entry.seq > after) entries.push({ entry, state: "ready" });
    for (const entry of this.tail.pending) if (entry.seq > after) entries.push({ entry, state: "ready" });
    for (const entry of this.delayed) if (entry.seq > after) entries.push({ entry, state: "delayed" });
    for (const entry of this.consumers.heldEntries()) if (entry.seq > after) entries.push({ entry, state: "unacked" });
    entries.sort((a, b) => a.entry.seq - b.entry.seq);
    if (entries.length > limit) entries.length = limit;
    const disk: DiskRange[] = [];
    for (const run of this.tail.runs) {
      if (run.to <= after) continue;
      disk.push({ from: Math.max(run.from, after + 1), to: run.to, limit, delayedAfter: run.delayedAfter });
    }
    return { entries, disk };
  }

  /**
   * Takes ready, committed messages out of the window for a move, in order, at most `limit`:
   * nobody else gets them while their copies are stored elsewhere. finishMove or returnMoved next.
   */
  takeForMove(pick: (entry: Entry) => boolean, limit: number): Entry[] {
    let taken = 0;
    return this.ready.removeWhere((entry) => entry.committed && taken < limit && pick(entry) && ++taken > 0);
  }

  /** How many purges emptied the queue so far: what was set aside before one is gone with it. */
  get purges(): number {
    return this.tail.generation;
  }

  /** Whether a ready message up to `through` still waits for its commit (a move takes only committed ones). */
  awaitsCommit(through: number): boolean {
    for (const entry of this.ready) if (!entry.committed && entry.seq <= through) return true;
    return false;
  }

  /** The moved messages' copies are stored: they leave this queue, undelivered here. */
  finishMove(entries: readonly Entry[]): void {
    for (const entry of entries) this.discard(entry);
  }

  /** Storing the copies failed, or a move set them aside: the messages go back where their seqs place them (taken in seq order). */
  returnMoved(entries: readonly Entry[]): void {
    this.ready.mergeBack(entries);
  }

  // ---- removal and durability -----------------------------------------------------------------

  /**
   * Drops every ready and delayed message (not those out with consumers); replies how many. The
   * store purges a durable queue itself, so no removal is left for the next checkpoint.
   */
  purge(): number {
    const onDisk = this.pagedOut;
    // [HIST-1] Retained entries that were on disk only leave undelivered too.
    for (const entry of this.history) {
      if (!entry.gone && !entry.inTail && entry.deliveries === 0 && this.tail.holds(entry.seq)) {
        entry.gone = true;
        entry.discarded = !entry.observed;
      }
    }
    const pending = this.tail.clear();
    for (const entry of pending) entry.inTail = false;
    this.owed.count = 0;
    this.owed.bytes = 0;
    const dropped = [...this.ready.clear(), ...this.delayed, ...pending];
    this.delayed = [];
    this.delayedBytes = 0;
    // The store purges what waits itself; what left before (retained history) is still to be
    // marked. A message not yet committed may be written after the store's purge: forget it then.
    const removals: number[] = [];
    for (const entry of dropped) {
      this.discard(entry);
      if (!entry.committed) removals.push(entry.seq);
    }
    this.removals = removals;
    return dropped.length + onDisk;
  }

  /** [SLOW-2] Forgets retained history, oldest first, until `bytes` are freed; replies the bytes freed. */
  forgetHistory(bytes: number): number {
    return this.history.forgetBytes(bytes);
  }

  /** The queue is deleted: its messages no longer count against the broker's memory. */
  release(): void {
    this.history.release();
    for (const entry of this.ready) this.gauge.bytes -= entry.bytes;
    for (const entry of this.delayed) this.gauge.bytes -= entry.bytes;
    for (const entry of this.tail.pending) this.gauge.bytes -= entry.bytes;
    for (const entry of this.consumers.heldEntries()) this.gauge.bytes -= entry.bytes;
  }

  /** Effects: `forget`, the seqs that left since the last checkpoint. If the store fails, retryRemovals() gives them back. */
  checkpoint(): Effects {
    if (this.removals.length === 0 && this.retains.length === 0) return NO_EFFECTS;
    this.forgetPastHistory();
    const effects: Effect[] = [];
    if (this.removals.length > 0) effects.push({ kind: "forget", seqs: this.removals });
    if (this.retains.length > 0) effects.push({ kind: "retain", seqs: this.retains });
    this.removals = [];
    this.retains = [];
    return effects;
  }

  /**
   * [HIST-3] What left at or before lastSeq - history_size is past the history already: it is
   * forgotten (one delete), not kept as history for the next full checkpoint's trim to delete (a
   * mark, a read and a delete per row). Replays never reach it either way (replayStored's floor).
   */
  private forgetPastHistory(): void {
    const keepAfter = this.lastSeq - this.args.historySize;
    let past = 0;
    for (const seq of this.retains) if (seq <= keepAfter) past++;
    if (past === 0) return;
    const kept: number[] = [];
    for (const seq of this.retains) (seq <= keepAfter ? this.removals : kept).push(seq);
    this.retains = kept;
  }

  /** A checkpoint that failed gives its removals (and [HIST-2] retains) back, for the next one to try again. */
  retryRemovals(ranges: readonly (readonly [number, number])[], retained = false): void {
    const into = retained ? this.retains : this.removals;
    for (const [from, to] of ranges) for (let seq = from; seq <= to; seq++) into.push(seq);
  }

  /**
   * [HIST-2] The retention rules of this queue's stored history at `now`: seqs above lastSeq -
   * history_size, none published before now - history_ttl, at most history_max_bytes.
   */
  retention(now: number): { keepAfter: number; publishedBefore?: number; maxBytes: number } {
    const { historySize, historyTtl, historyMaxBytes } = this.args;
    return {
      keepAfter: this.lastSeq - historySize,
      ...(historyTtl === undefined ? {} : { publishedBefore: now - historyTtl }),
      maxBytes: historyMaxBytes ?? DEFAULT_HISTORY_MAX_BYTES,
    };
  }

  /** [COUNT-1] Effects: `recordDeliveries`, [seq, deliveries] of the durable messages handed out since the last call. */
  recordDeliveries(): Effects {
    if (this.counted.size === 0) return NO_EFFECTS;
    const counts: [number, number][] = [];
    for (const entry of this.counted) counts.push([entry.seq, entry.deliveries]);
    this.counted = new Set();
    return [{ kind: "recordDeliveries", counts }];
  }

  /**
   * The broker is closing. Effects: `markRedelivered`, the seqs a clean shutdown stores as
   * redelivered: out with consumers, flagged already (given back by a consumer, or restored after a
   * crash), or left since the last checkpoint began (the store still has them, so they come again,
   * and must say so). Otherwise the next run would hand them out as new. [REDELIVERED-1]
   */
  close(): Effects {
    const seqs: number[] = [];
    for (const entry of this.consumers.heldEntries()) seqs.push(entry.seq);
    for (const entry of this.ready) if (entry.redelivered) seqs.push(entry.seq);
    for (const entry of this.delayed) if (entry.redelivered) seqs.push(entry.seq);
    seqs.push(...this.removals, ...this.retains);
    this.removals = [];
    this.retains = [];
    return seqs.length === 0 ? NO_EFFECTS : [{ kind: "markRedelivered", seqs }];
  }

  private leave(entry: Entry): void {
    entry.gone = true;
    this.gauge.bytes -= entry.bytes;
    // Only durable queues' messages are in the store to be forgotten.
    if (!this.durable) return;
    // [HIST-2] Delivered: kept as the queue's history while retention allows; else forgotten.
    if (!entry.discarded && this.args.historySize > 0) this.retains.push(entry.seq);
    else this.removals.push(entry.seq);
  }

  private kill(entry: Entry, reason: DeathReason): Effect {
    this.totals.deadLettered++;
    this.discard(entry);
    return { kind: "deadLetter", entry, reason };
  }

  /** The entry leaves; if nobody ever had it, it was never part of the stream. [HIST-1] */
  private discard(entry: Entry): void {
    if (entry.deliveries === 0 && !entry.observed) entry.discarded = true;
    this.leave(entry);
  }
}

const AUTO_DELETE: Effects = Object.freeze([{ kind: "autoDelete" }]) as Effects;
