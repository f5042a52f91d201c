import { ErrorCodes, fail, ok, type Result } from "../errors.ts";
import type { Entry } from "./entry.ts";

type Consumer = { readonly id: string; readonly prefetch: number; unacked: number };
/** A delivery a consumer holds, until it acks or nacks it, leaves, or its deadline passes. */
export type Held = { readonly entry: Entry; readonly consumer: string; readonly deadline: number };

/**
 * The consumers of one queue, their credit (prefetch; 0 is unlimited) and the deliveries they hold
 * by tag. Round robin among those with credit.
 */
export class Consumers {
  private readonly byId = new Map<string, Consumer>();
  /** By tag, in the order handed out; deadlines grow in that order too (now + a fixed timeout). */
  private readonly held = new Map<number, Held>();
  private rotation = 0;

  get size(): number {
    return this.byId.size;
  }
  /** Deliveries held, all consumers together. */
  get unacked(): number {
    return this.held.size;
  }
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Adds a consumer, or changes the prefetch of one already here. */
  attach(id: string, prefetch: number): void {
    const existing = this.byId.get(id);
    if (existing !== undefined) this.byId.set(id, { ...existing, prefetch });
    else this.byId.set(id, { id, prefetch, unacked: 0 });
  }

  /** Removes the consumer; returns what it held (in the order handed out), or undefined if it was not here. */
  detach(id: string): Entry[] | undefined {
    if (!this.byId.delete(id)) return undefined;
    const entries: Entry[] = [];
    for (const [tag, delivery] of this.held) {
      if (delivery.consumer !== id) continue;
      this.held.delete(tag);
      entries.push(delivery.entry);
    }
    return entries;
  }

  /** Credit left, all consumers together (Infinity when one has no prefetch limit). */
  credit(): number {
    let credit = 0;
    for (const consumer of this.byId.values()) credit += consumer.prefetch === 0 ? Infinity : consumer.prefetch - consumer.unacked;
    return credit;
  }

  /** The consumers as one dispatch sees them: pass to nextWithCredit. */
  snapshot(): Consumer[] {
    return [...this.byId.values()];
  }

  nextWithCredit(consumers: Consumer[]): Consumer | undefined {
    for (let i = 0; i < consumers.length; i++) {
      const consumer = consumers[(this.rotation + i) % consumers.length]!;
      if (consumer.prefetch === 0 || consumer.unacked < consumer.prefetch) {
        this.rotation = (this.rotation + i + 1) % consumers.length;
        return consumer;
      }
    }
    return undefined;
  }

  hand(consumer: Consumer, entry: Entry, tag: number, deadline: number): void {
    consumer.unacked++;
    this.held.set(tag, { entry, consumer: consumer.id, deadline });
  }

  /** The consumer gives the delivery back (ack or nack); D001 when it does not hold that tag. */
  take(consumer: string, tag: number): Result<Entry> {
    const delivery = this.held.get(tag);
    if (delivery === undefined || delivery.consumer !== consumer) {
      return fail(ErrorCodes.UNKNOWN_DELIVERY_TAG, `unknown delivery tag ${tag} (already acknowledged, or never delivered here)`);
    }
    this.release(tag, delivery);
    return ok(delivery.entry);
  }

  /** Takes back the deliveries whose deadline passed, with their tags, in the order handed out. */
  takeLate(now: number): [number, Held][] {
    const late: [number, Held][] = [];
    for (const pair of this.held) {
      if (pair[1].deadline > now) break;
      late.push(pair);
    }
    for (const [tag, delivery] of late) this.release(tag, delivery);
    return late;
  }

  /** Every entry held by some consumer. */
  *heldEntries(): IterableIterator<Entry> {
    for (const delivery of this.held.values()) yield delivery.entry;
  }

  private release(tag: number, delivery: Held): void {
    this.held.delete(tag);
    const holder = this.byId.get(delivery.consumer);
    if (holder !== undefined) holder.unacked--;
  }
}
