import type { Entry } from "../core/queue.ts";

/** The queue a delivery comes from, as the transport sees it: its name, and an identity to cache its encoding on. */
export type QueueRef = { readonly name: string };

/** What a consumer's delivery adds to a subscriber's: its tag, whether it came before, how often. */
export type ConsumerFields = { readonly tag: number; readonly redelivered: boolean; readonly deliveries: number };

/**
 * Where the broker hands out messages: implemented by the WebSocket transport, which encodes them
 * (once per message for all subscribers of a queue). The broker never opens sockets, never builds
 * frames: it passes data. Given to the broker at construction (Broker.start).
 */
export interface DeliverySink {
  /**
   * Hands one message to every subscriber of the queue (Bun's native topics). Never drops it for one:
   * a subscriber whose unsent data passed its limit is closed (4008) instead, after the frames it was
   * sent, and is detached before this returns [SLOW-1]. Returns false when some subscriber has unsent
   * data: the message is still buffered for it, and the broker slows its backlog replay.
   */
  toSubscribers(queue: QueueRef, entry: Entry): boolean;
  /** Sends one delivery to one consumer under `fields.tag`; prefetch bounds how much a consumer can have buffered. */
  toConsumer(consumer: string, queue: QueueRef, entry: Entry, fields: ConsumerFields): void;
  /** The consumer's delivery timed out and went back to the queue: its tag means nothing any more. */
  revoke(consumer: string, tag: number): void;
  /** The queue is gone: its subscribers and consumers are told and detached. */
  detachAll(queue: string, reason: string): void;
}
