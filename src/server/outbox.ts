/**
 * [CORK-1] Frames for a socket sent outside its own handler: a CONFIRM once its commit is done, a
 * frame a follower relays from the leader [RELAY-2]. Bun corks a socket's writes only inside that
 * socket's handlers, so each such `ws.send` was a write (a syscall) of its own: a group commit of
 * 200 publishes on one connection made 200 writes for its 200 CONFIRMs. Here they wait until
 * `schedule` runs the flush, and each socket's go out in one corked write, in the order they were sent.
 */
import type { ServerWebSocket } from "bun";

const OPEN = 1;

type Frame = string | Buffer;

export type OutboxOptions<S> = {
  /**
   * When the flush runs. A microtask by default: the CONFIRMs of one commit are answered by promise
   * callbacks of one microtask run, and the flush is queued behind them all. A follower's relay
   * passes setImmediate: its client's frames come in one event each, with microtasks run between.
   */
  schedule?: (flush: () => void) => void;
  /**
   * A socket this far behind (unsent bytes) after a frame gets no more of what waits: `overLimit`
   * is told, and closes it. Checked frame by frame, as a flush can hold more than Bun's limit allows.
   */
  limitBytes?: number;
  overLimit?: (ws: ServerWebSocket<S>) => void;
};

export class Outbox<S> {
  private readonly waiting = new Map<ServerWebSocket<S>, Frame[]>();
  private scheduled = false;
  private readonly schedule: (flush: () => void) => void;

  constructor(private readonly options: OutboxOptions<S> = {}) {
    this.schedule = options.schedule ?? queueMicrotask;
  }

  /** Queues `frame` for `ws`, behind what already waits for it. */
  send(ws: ServerWebSocket<S>, frame: Frame): void {
    const frames = this.waiting.get(ws);
    if (frames === undefined) this.waiting.set(ws, [frame]);
    else frames.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flushAll());
  }

  /** Writes what waits for `ws` now: before a close, which must not overtake it. */
  flush(ws: ServerWebSocket<S>): void {
    const frames = this.waiting.get(ws);
    if (frames === undefined) return;
    this.waiting.delete(ws);
    if (ws.readyState !== OPEN) return;
    const limit = this.options.limitBytes ?? Number.POSITIVE_INFINITY;
    let over = false;
    const write = () => {
      for (const frame of frames) {
        ws.send(frame);
        if (ws.getBufferedAmount() > limit) {
          over = true;
          break;
        }
      }
    };
    // One frame is one write anyway.
    if (frames.length === 1) write();
    else ws.cork(write);
    if (over) this.options.overLimit?.(ws);
  }

  flushAll(): void {
    this.scheduled = false;
    for (const ws of [...this.waiting.keys()]) this.flush(ws);
  }
}
