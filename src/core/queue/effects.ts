import type { DeathReason, Entry } from "./entry.ts";

/**
 * What a queue command asks the broker to do, as data (rabbit_fifo's effects): the queue decides,
 * the broker interprets, in the order given. A command with nothing to ask returns NO_EFFECTS.
 */
export type Effect =
  /** Send the message to every subscriber of the queue. */
  | { readonly kind: "deliverToSubscribers"; readonly entry: Entry }
  /** Send the message to one consumer under `tag`; it stays the consumer's until acked. */
  | { readonly kind: "deliverToConsumer"; readonly consumer: string; readonly entry: Entry; readonly tag: number; readonly redelivered: boolean }
  /** The message left the queue dead: republish it to the dead-letter exchange, if any. */
  | { readonly kind: "deadLetter"; readonly entry: Entry; readonly reason: DeathReason }
  /** The consumer's delivery went back to the queue (ack timeout): its tag means nothing any more. */
  | { readonly kind: "revoke"; readonly consumer: string; readonly tag: number }
  /** [COMMIT-1] Store the durable queue's copy; then `commit` (or `abandon`) it. */
  | { readonly kind: "persist"; readonly entry: Entry }
  /** These seqs left a durable queue: the store may forget them. */
  | { readonly kind: "forget"; readonly seqs: readonly number[] }
  /** [HIST-2] These seqs left a durable queue after delivery: the store keeps them as history. */
  | { readonly kind: "retain"; readonly seqs: readonly number[] }
  /** [COUNT-1] [seq, deliveries] of durable messages handed out: the store records them. */
  | { readonly kind: "recordDeliveries"; readonly counts: readonly (readonly [number, number])[] }
  /** [REDELIVERED-1] Closing: these seqs may have been delivered; stored so, the next run says so. */
  | { readonly kind: "markRedelivered"; readonly seqs: readonly number[] }
  /** An auto-delete queue's last subscriber or consumer left: delete the queue. */
  | { readonly kind: "autoDelete" };

export type Effects = readonly Effect[];

/** Shared by every command that has nothing to ask: the hot path allocates nothing for it. */
export const NO_EFFECTS: Effects = Object.freeze([]) as Effects;
