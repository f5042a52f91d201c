import { messageBytes, type PublishedMessage } from "../message.ts";

export type DeathReason = "expired" | "rejected" | "maxlen" | "delivery_limit";

/** A message's life in one queue. Mutable fields change only inside the queue package. */
export type Entry = {
  readonly seq: number;
  readonly message: PublishedMessage;
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
  /** Behind the memory window, waiting for its commit (then it leaves memory for a run on disk, or enters the window). */
  inTail: boolean;
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
  /**
   * [DLX-5] Read back after a crash (or flagged at a clean stop): it may already have left this queue
   * in the run before, dead-lettered included, before the store forgot it.
   */
  readonly restoredRedelivered: boolean;
};

/** `redelivered`: the copy may have been delivered before (a dead-lettered copy of a restored message). */
export type EnqueueOptions = { ttl?: number; delay?: number; redelivered?: boolean };
export type RestoreFlags = { expiresAt?: number; deliverAt?: number; redelivered: boolean; deliveries?: number; observed?: boolean };

/** A new message's entry: its TTL is the shorter of the queue's and its own. */
export function newEntry(seq: number, message: PublishedMessage, now: number, committed: boolean, queueTtl: number | undefined, options: EnqueueOptions): Entry {
  const ttl = queueTtl === undefined ? options.ttl : options.ttl === undefined ? queueTtl : Math.min(queueTtl, options.ttl);
  const delayed = options.delay !== undefined && options.delay > 0;
  return {
    seq,
    message,
    bytes: messageBytes(message),
    deliveries: 0,
    redelivered: options.redelivered === true,
    observed: false,
    committed,
    inTail: false,
    gone: false,
    discarded: false,
    expiresAt: ttl === undefined ? undefined : message.timestamp + ttl,
    deliverAt: delayed ? now + options.delay! : undefined,
    // A delayed message's TTL 0 has passed by its release, like any TTL shorter than the delay.
    atOnce: !delayed && ttl === 0,
    restoredRedelivered: false,
  };
}

/** A message read back from the store at start-up. */
export function restoredEntry(seq: number, message: PublishedMessage, flags: RestoreFlags): Entry {
  return {
    seq,
    message,
    bytes: messageBytes(message),
    deliveries: flags.deliveries ?? 0,
    redelivered: flags.redelivered,
    observed: flags.observed === true,
    committed: true,
    inTail: false,
    gone: false,
    discarded: false,
    expiresAt: flags.expiresAt,
    deliverAt: flags.deliverAt,
    // Its one chance was before the restart: restored, its TTL 0 has passed.
    atOnce: false,
    restoredRedelivered: flags.redelivered,
  };
}

/** [TTL0-1] A TTL-0 message waiting for its one chance is not expired yet: the dispatch decides. */
export const expired = (entry: Entry, now: number): boolean => entry.expiresAt !== undefined && entry.expiresAt <= now && !entry.atOnce;
