import type { Server, ServerWebSocket } from "bun";
import { batchFrame, batchFrameBytes } from "./frames.ts";
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MIN_UNCHECKED_TURN_BYTES, SCAN_EVERY_BYTES } from "./limits.ts";

/**
 * Bytes the hub may hand to Bun's topics in one turn of the event loop. Bun holds small published
 * frames back and writes them when the turn ends, so until then no subscriber's buffered amount shows
 * them: this bounds what can pile up unseen. Past it, frames go one socket at a time for the rest of
 * the turn. Half the subscriber limit (at least MIN_UNCHECKED_TURN_BYTES): a burst that large is rare.
 */
export const uncheckedTurnBytes = (maxBufferBytes: number): number => Math.max(MIN_UNCHECKED_TURN_BYTES, maxBufferBytes >> 1);

/**
 * Bun's own `backpressureLimit`, set where the hub never lets a subscriber get: past it Bun drops
 * frames for that socket without a word (and with closeOnBackpressureLimit cuts it with no close
 * frame). The hub hands a subscriber a frame only while its unsent data, as last seen, is at most
 * `maxBufferBytes` plus one turn's unchecked bytes (sendOrCut); on top of that Bun may write this
 * turn's and the last turn's unchecked topic frames, a scan's worth, and the frame (twice, for room).
 */
export const bunBackpressureLimit = (maxBufferBytes: number, maxFrameBytes: number): number =>
  maxBufferBytes + 3 * uncheckedTurnBytes(maxBufferBytes) + SCAN_EVERY_BYTES + 2 * maxFrameBytes;

/** The close code and reason a subscriber cut for being slow gets, after every whole frame before it. */
export const SLOW_SUBSCRIBER = { code: 4008, reason: "slow subscriber: unsent data passed SUBSCRIBER_MAX_BUFFER_BYTES" } as const;

export const topicOf = (queue: string): string => `queue:${queue}`;
/** [BATCH-1] The topic of a queue's batching subscribers, who get its MESSAGES frames. */
export const batchTopicOf = (queue: string): string => `batch:${queue}`;

/**
 * One queue's topics: their names (made once), the server that publishes to them, its subscribers:
 * those who get a frame per message, and those who asked for batches, with the deliveries waiting
 * for this turn's end to go to them as one frame.
 */
type QueueTopic<S> = {
  readonly queue: string;
  readonly name: string;
  readonly batchName: string;
  readonly queueJson: string;
  readonly queueJsonBytes: number;
  readonly server: Server<S>;
  readonly sockets: Set<ServerWebSocket<S>>;
  readonly batched: Set<ServerWebSocket<S>>;
  pending: string[];
  pendingBytes: number;
};

/** ServerWebSocket.readyState of an open socket. */
const OPEN = 1;

/**
 * [SLOW-1] The subscribers of each queue, and how a frame reaches them without ever being lost
 * silently. A frame goes through Bun's topic, framed once for all subscribers, which Bun writes out in
 * order. Once a publish reports that some subscriber has unsent data, the subscribers of such queues
 * are looked at every SCAN_EVERY_BYTES: one whose unsent data passed `maxBufferBytes` is closed with
 * 4008 right then, so what reached it are whole frames, in order, then the close frame, and it never
 * misses one in the middle. Every other subscriber gets every frame. A turn that publishes more than
 * Bun's topics may hold unseen goes one socket at a time, each buffer looked at after each frame.
 */
export class FanOut<S> {
  private readonly subscribers = new Map<string, QueueTopic<S>>();
  /** Queues whose last publish found a subscriber with unsent data. */
  private readonly suspect = new Set<string>();
  /** Bytes published to suspect queues since their subscribers were last looked at. */
  private sinceScan = 0;
  private unchecked = 0;
  private uncheckedReset = false;
  private readonly uncheckedBudget: number;
  /** What waits for the turn to end: publishers paused while this turn was saturated. */
  private afterTurnWork: (() => void)[] = [];
  /** [BATCH-1] Queues with deliveries waiting for the turn's end to go to their batching subscribers. */
  private toFlush: QueueTopic<S>[] = [];

  /** `cut` detaches a slow subscriber from every queue before it returns, and closes it with 4008. */
  constructor(
    private readonly maxBufferBytes: number,
    private readonly cut: (ws: ServerWebSocket<S>) => void,
  ) {
    this.uncheckedBudget = uncheckedTurnBytes(maxBufferBytes);
  }

  /**
   * [FLOW-1] True once this turn handed Bun's topics half of what they may hold unseen. A publisher
   * then waits for the next turn (ws-hub pauses it) instead of its frames going one socket at a
   * time, a write each: so a publisher faster than its subscribers is slowed by TCP, as RabbitMQ's
   * and NATS' are, and the fan-out keeps going through Bun's topics.
   */
  get saturated(): boolean {
    return this.unchecked >= this.uncheckedBudget >> 1;
  }

  /** Runs `work` at the start of the next turn, once this turn's topic frames were written out. */
  afterTurn(work: () => void): void {
    this.afterTurnWork.push(work);
    this.scheduleTurnEnd();
  }

  /**
   * `server`: the one the socket came through, which publishes to the queue's topics. `batch`: it gets
   * the deliveries of a turn as one MESSAGES frame [BATCH-1]. What waits for this turn's end goes out
   * first, to those already subscribed: the newcomer's replay covers it, never twice.
   */
  subscribe(queue: string, ws: ServerWebSocket<S>, server: Server<S>, batch = false): void {
    let topic = this.subscribers.get(queue);
    if (topic === undefined) {
      const queueJson = JSON.stringify(queue);
      topic = { queue, name: topicOf(queue), batchName: batchTopicOf(queue), queueJson, queueJsonBytes: Buffer.byteLength(queueJson), server, sockets: new Set(), batched: new Set(), pending: [], pendingBytes: 0 };
      this.subscribers.set(queue, topic);
    }
    this.flush(topic);
    ws.subscribe(batch ? topic.batchName : topic.name);
    (batch ? topic.batched : topic.sockets).add(ws);
    // A replay may have left it with unsent data.
    if (ws.getBufferedAmount() > 0) this.suspect.add(queue);
  }

  /** What waits for this turn's end goes to it first: every message published while it was subscribed. */
  unsubscribe(queue: string, ws: ServerWebSocket<S>): void {
    const topic = this.subscribers.get(queue);
    if (topic === undefined) return;
    this.flush(topic);
    if (topic.batched.delete(ws)) ws.unsubscribe(topic.batchName);
    if (topic.sockets.delete(ws)) ws.unsubscribe(topic.name);
  }

  /** The queue is gone: what waits goes out, then every subscriber leaves its topic; returns them. */
  removeQueue(queue: string): ServerWebSocket<S>[] {
    const topic = this.subscribers.get(queue);
    if (topic === undefined) return [];
    this.flush(topic);
    for (const ws of topic.sockets) ws.unsubscribe(topic.name);
    for (const ws of topic.batched) ws.unsubscribe(topic.batchName);
    this.subscribers.delete(queue);
    this.suspect.delete(queue);
    return [...topic.sockets, ...topic.batched];
  }

  /** Hands the frame (`bytes` of UTF-8) to every subscriber of the queue; false when some subscriber has unsent data. */
  broadcast(queue: string, frame: string, bytes = Buffer.byteLength(frame)): boolean {
    const topic = this.subscribers.get(queue);
    if (topic === undefined) return true;
    if (topic.batched.size > 0) this.hold(topic, frame, bytes);
    if (topic.sockets.size === 0) return !this.suspect.has(queue);
    if (this.unchecked + bytes > this.uncheckedBudget) return this.sendEach(topic.sockets, frame);
    this.countUnchecked(bytes);
    return this.publish(topic, topic.name, frame, bytes);
  }

  /**
   * Publishes to one of the queue's topics. Bun reports the worst subscriber as it was before this
   * frame: bytes when none had unsent data, -1 when one had (the frame is queued for it too), 0 when
   * one was past Bun's limit, which the hub never lets happen (bunBackpressureLimit).
   */
  private publish(topic: QueueTopic<S>, name: string, frame: string, bytes: number): boolean {
    if (topic.server.publish(name, frame) > 0) {
      this.suspect.delete(topic.queue);
      return true;
    }
    this.suspect.add(topic.queue);
    this.sinceScan += bytes;
    // After the publish: a subscriber closed now has this frame too, before its close frame.
    if (this.sinceScan > SCAN_EVERY_BYTES) this.scan();
    return false;
  }

  /**
   * [BATCH-1] A delivery for the queue's batching subscribers: it waits for the end of this turn (or
   * until a batch is full) with the others, and they go as one frame. Counted as handed to Bun now,
   * so flow control [FLOW-1] sees it this turn.
   */
  private hold(topic: QueueTopic<S>, frame: string, bytes: number): void {
    if (topic.pending.length === 0) this.toFlush.push(topic);
    topic.pending.push(frame);
    topic.pendingBytes += bytes;
    this.countUnchecked(bytes);
    if (topic.pendingBytes >= MAX_BATCH_BYTES || topic.pending.length >= MAX_BATCH_MESSAGES) this.flush(topic);
  }

  /**
   * What waits goes to the queue's batching subscribers: one MESSAGE frame if it is one delivery,
   * else one MESSAGES frame. Past this turn's unchecked budget, one socket at a time (sendOrCut).
   */
  private flush(topic: QueueTopic<S>): void {
    const pending = topic.pending;
    if (pending.length === 0) return;
    const frame = pending.length === 1 ? pending[0]! : batchFrame(topic.queueJson, pending);
    const bytes = pending.length === 1 ? topic.pendingBytes : batchFrameBytes(topic.queueJsonBytes, pending.length, topic.pendingBytes);
    topic.pending = [];
    topic.pendingBytes = 0;
    if (topic.batched.size === 0) return;
    if (this.unchecked > this.uncheckedBudget) {
      if (!this.sendEach(topic.batched, frame)) this.suspect.add(topic.queue);
      return;
    }
    this.publish(topic, topic.batchName, frame, bytes);
  }

  /** A subscribe's replay, frame by frame; false when the socket was cut (it resumes from the last seq it got). */
  sendAll(ws: ServerWebSocket<S>, frames: readonly string[]): boolean {
    return frames.every((frame) => this.sendOrCut(ws, frame));
  }

  /** Closes every subscriber of a suspect queue whose unsent data passed the limit. */
  private scan(): void {
    this.sinceScan = 0;
    for (const queue of this.suspect) {
      const topic = this.subscribers.get(queue);
      if (topic === undefined) continue;
      for (const ws of [...topic.sockets, ...topic.batched]) {
        if (ws.getBufferedAmount() > this.maxBufferBytes) this.cut(ws);
      }
    }
  }

  private sendEach(subscribers: Set<ServerWebSocket<S>>, frame: string): boolean {
    let pressured = false;
    for (const ws of [...subscribers]) {
      if (this.sendOrCut(ws, frame) && ws.getBufferedAmount() > 0) pressured = true;
    }
    return !pressured;
  }

  /**
   * One frame to one subscriber, then the 4008 close if this frame took its unsent data past the
   * limit. Before the frame only if something other than broadcasts (a consumer's deliveries on the
   * same socket) took it so far past that Bun might drop the frame. False when the socket is closed.
   */
  private sendOrCut(ws: ServerWebSocket<S>, frame: string): boolean {
    if (ws.readyState !== OPEN) return false;
    if (ws.getBufferedAmount() > this.maxBufferBytes + this.uncheckedBudget) return this.cutHere(ws);
    if (ws.send(frame) === 0) {
      // Dropped by Bun: only past bunBackpressureLimit, which the checks above keep out of reach.
      console.error(`a frame to a subscriber was dropped at ${ws.getBufferedAmount()} unsent bytes; closing it`);
      return this.cutHere(ws);
    }
    return ws.getBufferedAmount() > this.maxBufferBytes ? this.cutHere(ws) : true;
  }

  private cutHere(ws: ServerWebSocket<S>): false {
    this.cut(ws);
    return false;
  }

  private countUnchecked(bytes: number): void {
    this.unchecked += bytes;
    this.scheduleTurnEnd();
  }

  private scheduleTurnEnd(): void {
    if (this.uncheckedReset) return;
    this.uncheckedReset = true;
    setImmediate(() => {
      // [BATCH-1] This turn's batches, counted in its budget, go out before the next one's.
      const batches = this.toFlush;
      this.toFlush = [];
      for (const topic of batches) this.flush(topic);
      this.unchecked = 0;
      this.uncheckedReset = false;
      const work = this.afterTurnWork;
      this.afterTurnWork = [];
      for (const run of work) {
        // One failing piece of work must not leave the others' publishers paused.
        try {
          run();
        } catch (error) {
          console.error(`deferred fan-out work failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        }
      }
    });
  }
}
