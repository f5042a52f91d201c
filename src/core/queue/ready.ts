import { Deque } from "../deque.ts";
import type { Entry } from "./entry.ts";

/**
 * The ready messages of one queue, in delivery order, with the counts kept alongside: their bytes,
 * how many expire (the periodic sweep runs only while some do), how many wait for their one
 * TTL-0 chance. Every entry in or out goes through here, so the counts cannot drift.
 */
export class ReadyList {
  private readonly entries = new Deque<Entry>();
  private heldBytes = 0;
  private expiringCount = 0;
  private atOnceCount = 0;

  get length(): number {
    return this.entries.length;
  }
  get bytes(): number {
    return this.heldBytes;
  }
  /** Entries with an expiry. */
  get expiring(): number {
    return this.expiringCount;
  }
  /** [TTL0-1] Entries still waiting for their one chance. */
  get atOnce(): number {
    return this.atOnceCount;
  }

  peek(): Entry | undefined {
    return this.entries.peek();
  }

  push(entry: Entry): void {
    this.entries.push(entry);
    this.countIn(entry);
  }

  /** Back to the head, ahead of everything waiting. */
  pushFront(entry: Entry): void {
    this.entries.unshift(entry);
    this.countIn(entry);
  }

  /**
   * [MOVE-4] Puts entries (in seq order) back where their seqs place them among those waiting, not
   * all at the head: a move takes entries from anywhere in the window, and what it gives back must
   * not overtake older ones it left.
   */
  mergeBack(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const waiting = this.entries.clear();
    let i = 0;
    for (const entry of waiting) {
      while (i < entries.length && entries[i]!.seq < entry.seq) this.entries.push(entries[i++]!);
      this.entries.push(entry);
    }
    while (i < entries.length) this.entries.push(entries[i++]!);
    for (const entry of entries) this.countIn(entry);
  }

  shift(): Entry | undefined {
    const entry = this.entries.shift();
    if (entry !== undefined) this.countOut(entry);
    return entry;
  }

  /** Takes out the entries `remove` picks, in order; the others keep theirs. */
  removeWhere(remove: (entry: Entry) => boolean): Entry[] {
    const removed = this.entries.removeWhere(remove);
    for (const entry of removed) this.countOut(entry);
    return removed;
  }

  /** Takes out every entry, in order. */
  clear(): Entry[] {
    this.heldBytes = 0;
    this.expiringCount = 0;
    this.atOnceCount = 0;
    return this.entries.clear();
  }

  [Symbol.iterator](): IterableIterator<Entry> {
    return this.entries[Symbol.iterator]();
  }

  private countIn(entry: Entry): void {
    this.heldBytes += entry.bytes;
    if (entry.expiresAt !== undefined) this.expiringCount++;
    if (entry.atOnce) this.atOnceCount++;
  }

  /** The unready bookkeeping of an entry that left the list. */
  private countOut(entry: Entry): void {
    this.heldBytes -= entry.bytes;
    if (entry.expiresAt !== undefined) this.expiringCount--;
    if (entry.atOnce) this.atOnceCount--;
  }
}
