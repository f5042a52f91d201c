import { Deque } from "./deque.ts";
import { messageBytes, type Message, type QueuedMessage } from "./message.ts";

export type QueueOptions = { readonly durable: boolean };

/**
 * One queue's state, no I/O: messages wait here until they are handed to the queue's subscribers.
 * A message leaves the queue once it was sent to the subscribers attached at that moment (the seed's
 * behaviour); with nobody attached it waits, in order.
 */
export class Queue {
  private readonly pending = new Deque<QueuedMessage>();
  private pendingBytes = 0;
  private nextSeq: number;
  /** Highest seq handed to subscribers; everything at or below it has left the queue. */
  private deliveredThrough: number;
  subscribers = 0;
  published = 0;
  delivered = 0;

  constructor(
    readonly name: string,
    readonly options: QueueOptions,
    lastSeq = 0,
  ) {
    this.nextSeq = lastSeq + 1;
    this.deliveredThrough = lastSeq;
  }

  get durable(): boolean {
    return this.options.durable;
  }
  get depth(): number {
    return this.pending.length;
  }
  get bytes(): number {
    return this.pendingBytes;
  }
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  get deliveredSeq(): number {
    return this.deliveredThrough;
  }

  enqueue(message: Message): QueuedMessage {
    const queued = { seq: this.nextSeq++, message };
    this.pending.push(queued);
    this.pendingBytes += messageBytes(message);
    this.published++;
    return queued;
  }

  /** Puts back a message read from the store at start-up; seqs must arrive in increasing order. */
  restore(queued: QueuedMessage): void {
    this.pending.push(queued);
    this.pendingBytes += messageBytes(queued.message);
    if (queued.seq >= this.nextSeq) this.nextSeq = queued.seq + 1;
    if (queued.seq <= this.deliveredThrough) this.deliveredThrough = queued.seq - 1;
  }

  /** The next messages to hand out, oldest first, removed from the queue. At least one when any waits. */
  take(maxCount: number, maxBytes: number): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    let bytes = 0;
    while (out.length < maxCount) {
      const next = this.pending.peek();
      if (next === undefined) break;
      const size = messageBytes(next.message);
      if (out.length > 0 && bytes + size > maxBytes) break;
      this.pending.shift();
      bytes += size;
      out.push(next);
    }
    this.pendingBytes -= bytes;
    this.delivered += out.length;
    const last = out[out.length - 1];
    if (last !== undefined) this.deliveredThrough = last.seq;
    return out;
  }

  /** Drops every waiting message; returns how many. */
  purge(): number {
    const dropped = this.pending.clear();
    this.pendingBytes = 0;
    this.deliveredThrough = this.lastSeq;
    return dropped.length;
  }
}
