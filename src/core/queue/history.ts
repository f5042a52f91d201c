import { Deque } from "../deque.ts";
import type { Entry } from "./entry.ts";

/** Bytes held by all queues together, shared so the broker can refuse publishes past a limit. */
export type MemoryGauge = {
  bytes: number;
  /** MAX_QUEUED_BYTES: past it durable windows stop filling (their messages wait on disk). */
  readonly limit?: number;
};

export type Replay = { readonly entries: Entry[]; readonly firstAvailable: number; readonly gap: boolean };

/** What the queue holds right now that a resuming subscriber will get anyway, or not yet. */
export type ReplayContext = {
  /** Seq of the first ready message that reaches subscribers through the backlog (Infinity when consumers own them). */
  readonly backlogFrom: number;
  /** Delayed messages not yet due. */
  readonly delayed: readonly Entry[];
  readonly consumers: boolean;
  /** The seq the next message will get. */
  readonly nextSeq: number;
};

/**
 * [SLOW-2] The messages a queue retains for `SUBSCRIBE since` replays: at most `size`, none older
 * than `ttl` ms. [MEM-2] Retained messages count against the broker's memory gauge (an entry both
 * waiting and retained counts twice, erring on the safe side).
 */
export class History {
  private readonly entries = new Deque<Entry>();

  constructor(
    private readonly size: number,
    private readonly ttl: number | undefined,
    private readonly gauge: MemoryGauge,
  ) {}

  remember(entry: Entry, now: number): void {
    if (this.size === 0) return;
    this.entries.push(entry);
    this.gauge.bytes += entry.bytes;
    while (this.entries.length > this.size) this.forgetOldest();
    this.forgetExpired(now);
  }

  /**
   * [SLOW-2] Flow control: retained history is what gives way first when the broker's memory limit
   * is reached (nothing else would ever free it). Forgets the oldest until `bytes` are freed; returns
   * the bytes freed.
   */
  forgetBytes(bytes: number): number {
    let freed = 0;
    while (freed < bytes && this.entries.length > 0) {
      freed += this.entries.peek()!.bytes;
      this.forgetOldest();
    }
    return freed;
  }

  /** [RESUME-2] history_ttl: retained messages older than it are dropped (also when nothing new is published). */
  forgetExpired(now: number): void {
    if (this.ttl === undefined) return;
    while ((this.entries.peek()?.message.timestamp ?? Infinity) < now - this.ttl) this.forgetOldest();
  }

  /** The seq of the oldest retained entry, if any. */
  get firstSeq(): number | undefined {
    return this.entries.peek()?.seq;
  }

  /** The retained entry with this seq, if any: entries are retained in seq order, so a binary search. */
  find(seq: number): Entry | undefined {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const entry = this.entries.at(mid)!;
      if (entry.seq === seq) return entry;
      if (entry.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Retained entries, oldest first. */
  [Symbol.iterator](): IterableIterator<Entry> {
    return this.entries[Symbol.iterator]();
  }

  /** The queue is deleted: its retained messages no longer count against the gauge. */
  release(): void {
    for (const entry of this.entries) this.gauge.bytes -= entry.bytes;
  }

  /**
   * What a subscriber resuming after `since` missed: retained messages after it that it will not
   * get from the backlog. `gap` when history no longer reaches back to `since + 1`.
   */
  replay(since: number, queue: ReplayContext): Replay {
    // [RESUME-1] Delayed messages not yet due go live when they are; once delivered they are replayed like any other.
    const stillDelayed = new Set(queue.delayed);
    const entries: Entry[] = [];
    let firstAvailable = Infinity;
    for (const entry of this.entries) {
      firstAvailable = Math.min(firstAvailable, entry.seq);
      // Not yet committed: it goes live to this subscriber once it is. [COMMIT-1]
      // Still waiting, with no consumer: it reaches the subscriber through the backlog (after the
      // replay). Not cut at the backlog's head: a message given back there may sit before ones
      // that left long ago.
      if (entry.seq <= since || (!queue.consumers && !entry.gone) || stillDelayed.has(entry) || !entry.committed || entry.discarded) continue;
      // Released behind newer ones and not yet sent: it reaches the subscriber through the backlog.
      if (!queue.consumers && entry.deliverAt !== undefined && !entry.observed) continue;
      entries.push(entry);
    }
    // [RESUME-3] What still waits in the backlog is available too: no false GAP for it.
    firstAvailable = Math.min(firstAvailable, queue.backlogFrom, queue.nextSeq);
    const wanted = since + 1;
    const gap = wanted < firstAvailable && wanted <= queue.nextSeq - 1;
    return { entries, firstAvailable, gap };
  }

  private forgetOldest(): void {
    const oldest = this.entries.shift();
    if (oldest !== undefined) this.gauge.bytes -= oldest.bytes;
  }
}
