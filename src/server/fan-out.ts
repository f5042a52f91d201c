import type { Server, ServerWebSocket } from "bun";

/**
 * Bytes the hub may hand to Bun's topics in one turn of the event loop without looking at each
 * subscriber. Bun holds small published frames back and writes them when the turn ends, so until then
 * no subscriber's buffered amount shows them: this bounds what can pile up unseen.
 */
export const UNCHECKED_TURN_BYTES = 256 << 10;

/**
 * Bun's own `backpressureLimit`, set where the hub never lets a subscriber get: past it Bun drops
 * frames for that socket without a word (and with closeOnBackpressureLimit cuts it with no close
 * frame). The hub sends to a subscriber only while its unsent data is at most `maxBufferBytes`; Bun
 * may add this turn's and the last turn's unchecked topic frames, then the frame itself.
 */
export const bunBackpressureLimit = (maxBufferBytes: number, maxFrameBytes: number): number =>
  maxBufferBytes + 2 * UNCHECKED_TURN_BYTES + 2 * maxFrameBytes;

/** The close code and reason a subscriber cut for being slow gets, after every whole frame before it. */
export const SLOW_SUBSCRIBER = { code: 4008, reason: "slow subscriber: unsent data passed SUBSCRIBER_MAX_BUFFER_BYTES" } as const;

export const topicOf = (queue: string): string => `queue:${queue}`;

/** ServerWebSocket.readyState of an open socket. */
const OPEN = 1;

/**
 * [SLOW-1] The subscribers of each queue, and how a frame reaches them without ever being lost
 * silently. While every subscriber of a queue keeps up, a frame goes through Bun's topic (framed once
 * for all of them). Once one has unsent data, frames go one socket at a time, each socket's buffer
 * looked at before and after: a subscriber whose unsent data passes `maxBufferBytes` is closed with
 * 4008 right there, so what reached it are whole frames, in order, then the close frame, and it never
 * misses one in the middle. Every other subscriber gets every frame.
 */
export class FanOut<S extends { readonly queues: Set<string> }> {
  private readonly subscribers = new Map<string, Set<ServerWebSocket<S>>>();
  /** Subscribers of a queue seen with unsent data: while there are any, frames go one socket at a time. */
  private readonly pressured = new Map<string, Set<ServerWebSocket<S>>>();
  /** Queues whose last topic publish reported some subscriber with unsent data, not yet which one. */
  private readonly suspect = new Set<string>();
  private unchecked = 0;
  private uncheckedReset = false;
  private readonly uncheckedBudget: number;

  constructor(private readonly maxBufferBytes: number) {
    this.uncheckedBudget = Math.min(UNCHECKED_TURN_BYTES, maxBufferBytes);
  }

  subscribe(queue: string, ws: ServerWebSocket<S>): void {
    ws.subscribe(topicOf(queue));
    let set = this.subscribers.get(queue);
    if (set === undefined) this.subscribers.set(queue, (set = new Set()));
    set.add(ws);
    // A replay may have left it with unsent data: the next frame then goes one socket at a time.
    if (ws.getBufferedAmount() > 0) this.pressuredOf(queue).add(ws);
  }

  unsubscribe(queue: string, ws: ServerWebSocket<S>): void {
    ws.unsubscribe(topicOf(queue));
    this.subscribers.get(queue)?.delete(ws);
    this.pressured.get(queue)?.delete(ws);
  }

  /** The queue is gone: every subscriber leaves its topic; returns them. */
  removeQueue(queue: string): ServerWebSocket<S>[] {
    const sockets = [...(this.subscribers.get(queue) ?? [])];
    for (const ws of sockets) ws.unsubscribe(topicOf(queue));
    this.subscribers.delete(queue);
    this.pressured.delete(queue);
    this.suspect.delete(queue);
    return sockets;
  }

  /** Hands the frame to every subscriber of the queue; false when some subscriber has unsent data. */
  broadcast(server: Server<S>, queue: string, frame: string): boolean {
    const subscribers = this.subscribers.get(queue);
    if (subscribers === undefined || subscribers.size === 0) return true;
    if (!this.suspect.has(queue) && (this.pressured.get(queue)?.size ?? 0) === 0) {
      const bytes = Buffer.byteLength(frame);
      if (this.unchecked + bytes <= this.uncheckedBudget) {
        this.countUnchecked(bytes);
        // Bun reports the worst subscriber as it was before this frame: bytes when none had unsent
        // data, -1 when one had (the frame is queued for it too), 0 when one was past Bun's limit,
        // which the hub never lets happen (bunBackpressureLimit).
        if (server.publish(topicOf(queue), frame) > 0) return true;
        this.suspect.add(queue);
        return false;
      }
    }
    return this.sendEach(queue, subscribers, frame);
  }

  /** A subscribe's replay, frame by frame; false when the socket was cut (it resumes from the last seq it got). */
  sendAll(ws: ServerWebSocket<S>, frames: readonly string[]): boolean {
    return frames.every((frame) => this.sendOrCut(ws, frame));
  }

  /** Something other than a broadcast was sent to the socket (a consumer's delivery): note its unsent data. */
  sentOther(ws: ServerWebSocket<S>): void {
    if (ws.data.queues.size === 0 || ws.getBufferedAmount() === 0) return;
    for (const queue of ws.data.queues) this.pressuredOf(queue).add(ws);
  }

  /** Bun's drain event: a socket that wrote out everything no longer holds its queues to one-at-a-time sends. */
  drained(ws: ServerWebSocket<S>): void {
    if (ws.getBufferedAmount() > 0) return;
    for (const queue of ws.data.queues) this.pressured.get(queue)?.delete(ws);
  }

  private sendEach(queue: string, subscribers: Set<ServerWebSocket<S>>, frame: string): boolean {
    this.suspect.delete(queue);
    const pressured = this.pressuredOf(queue);
    for (const ws of [...subscribers]) {
      if (!this.sendOrCut(ws, frame)) continue;
      if (ws.getBufferedAmount() > 0) pressured.add(ws);
      else pressured.delete(ws);
    }
    return pressured.size === 0;
  }

  /**
   * One frame to one subscriber, then the 4008 close if this frame took its unsent data past the
   * limit. Before the frame only if something other than broadcasts (a consumer's deliveries on the
   * same socket) took it so far past that Bun might drop the frame. False when the socket is closed.
   */
  private sendOrCut(ws: ServerWebSocket<S>, frame: string): boolean {
    if (ws.readyState !== OPEN) return false;
    if (ws.getBufferedAmount() > this.maxBufferBytes + UNCHECKED_TURN_BYTES) return this.cut(ws);
    if (ws.send(frame) === 0) {
      // Dropped by Bun: only past bunBackpressureLimit, which the checks above keep out of reach.
      console.error(`a frame to a subscriber was dropped at ${ws.getBufferedAmount()} unsent bytes; closing it`);
      return this.cut(ws);
    }
    return ws.getBufferedAmount() > this.maxBufferBytes ? this.cut(ws) : true;
  }

  /** Bun runs the close handler (which unsubscribes the socket) before close() returns. */
  private cut(ws: ServerWebSocket<S>): false {
    ws.close(SLOW_SUBSCRIBER.code, SLOW_SUBSCRIBER.reason);
    return false;
  }

  private pressuredOf(queue: string): Set<ServerWebSocket<S>> {
    let set = this.pressured.get(queue);
    if (set === undefined) this.pressured.set(queue, (set = new Set()));
    return set;
  }

  private countUnchecked(bytes: number): void {
    this.unchecked += bytes;
    if (this.uncheckedReset) return;
    this.uncheckedReset = true;
    setImmediate(() => {
      this.unchecked = 0;
      this.uncheckedReset = false;
    });
  }
}
