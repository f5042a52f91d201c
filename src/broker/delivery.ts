/**
 * How the broker reaches subscribers and consumers, implemented by the WebSocket transport. The
 * broker never opens sockets itself.
 */
export interface Delivery {
  /**
   * Hands one frame to every subscriber of the queue (Bun's native topics). Never drops it for one:
   * a subscriber whose unsent data passed its limit is closed (4008) instead, after the frames it was
   * sent, and is detached before this returns [SLOW-1]. Returns false when some subscriber has unsent
   * data: the frame is still buffered for it, and the broker slows its backlog replay.
   */
  broadcast(queue: string, frame: string): boolean;
  /** Sends one delivery to one consumer; prefetch bounds how much a consumer can have buffered. */
  toConsumer(consumer: string, frame: string, tag: number): void;
  /** The consumer's delivery timed out and went back to the queue: its tag means nothing any more. */
  revoke(consumer: string, tag: number): void;
  /** The queue is gone: its subscribers and consumers are told and detached. */
  detachAll(queue: string, reason: string): void;
}
