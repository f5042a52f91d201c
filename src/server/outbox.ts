/**
 * [CORK-1] Frames for a socket sent outside its own handler: a CONFIRM once its commit is done, say.
 * Bun corks a socket's writes only inside that socket's handlers, so each `ws.send` from a promise
 * callback was a write (a syscall) of its own: a group commit of 200 publishes on one connection made
 * 200 writes for its 200 CONFIRMs. Here they wait for the end of the microtask run they came in, and
 * each socket's go out in one corked write, in the order they were sent.
 */
import type { ServerWebSocket } from "bun";

const OPEN = 1;

export class Outbox<S> {
  private readonly waiting = new Map<ServerWebSocket<S>, string[]>();
  private scheduled = false;

  /** Queues `frame` for `ws`, behind what already waits for it. */
  send(ws: ServerWebSocket<S>, frame: string): void {
    const frames = this.waiting.get(ws);
    if (frames === undefined) this.waiting.set(ws, [frame]);
    else frames.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    // A microtask, not a later turn: the CONFIRMs of one commit are answered by promise callbacks of
    // one microtask run, and this one is queued behind them all.
    queueMicrotask(() => this.flushAll());
  }

  /** Writes what waits for `ws` now: before a close, which must not overtake it. */
  flush(ws: ServerWebSocket<S>): void {
    const frames = this.waiting.get(ws);
    if (frames === undefined) return;
    this.waiting.delete(ws);
    if (ws.readyState !== OPEN) return;
    if (frames.length === 1) return void ws.send(frames[0]!);
    ws.cork(() => {
      for (const frame of frames) ws.send(frame);
    });
  }

  flushAll(): void {
    this.scheduled = false;
    for (const ws of [...this.waiting.keys()]) this.flush(ws);
  }
}
