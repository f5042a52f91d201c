/**
 * How the broker reaches a queue's subscribers, implemented by the WebSocket transport (Bun's native
 * topics). The broker never opens sockets itself.
 */
export interface Fanout {
  /**
   * Hands one frame to every subscriber of the queue. Returns false when some subscriber is
   * backpressured: the frame is still buffered for it, and the broker slows its backlog replay.
   */
  send(queue: string, frame: string): boolean;
  /** The queue is gone: its subscribers are told and detached. */
  detachAll(queue: string, reason: string): void;
}
