import type { Server, ServerWebSocket } from "bun";
import type { Broker } from "../broker/broker.ts";
import type { Fanout } from "../broker/fanout.ts";
import { errorFrame } from "../broker/frames.ts";
import { ErrorCodes, type BrokerError } from "../core/errors.ts";
import { parseClientFrame } from "./ws-frames.ts";

/** Close codes the broker uses; documented in the README. */
export const CloseCodes = {
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  /** The subscriber fell too far behind; it may reconnect (and a durable queue keeps what it missed only if nobody else received it). */
  SLOW_SUBSCRIBER: 4008,
  /** The queue it subscribed to was deleted. */
  QUEUE_DELETED: 4004,
} as const;

export type SocketState = { readonly queues: Set<string> };
export type Socket = ServerWebSocket<SocketState>;

const topicOf = (queue: string): string => `queue:${queue}`;

/**
 * The WebSocket side of the broker: Bun's raw handlers (Elysia's wrapper halves throughput), the
 * subscribers of each queue, and the Fanout the broker delivers through (`server.publish`).
 */
export class WsHub implements Fanout {
  private server: Server<SocketState> | undefined;
  private broker: Broker | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly subscribers = new Map<string, Set<Socket>>();

  constructor(private readonly maxBufferBytes: number) {}

  bind(server: Server<SocketState>, broker: Broker): void {
    this.server = server;
    this.broker = broker;
  }

  get connections(): number {
    return this.sockets.size;
  }

  // ---- Fanout ---------------------------------------------------------------------------------

  send(queue: string, frame: string): boolean {
    const sent = this.server?.publish(topicOf(queue), frame) ?? 0;
    // publish reports the worst subscriber: -1 queued under backpressure, 0 dropped.
    if (sent > 0) return true;
    this.closeSlow(queue);
    return false;
  }

  detachAll(queue: string, reason: string): void {
    const sockets = this.subscribers.get(queue);
    if (sockets === undefined) return;
    this.subscribers.delete(queue);
    for (const ws of sockets) {
      ws.unsubscribe(topicOf(queue));
      ws.data.queues.delete(queue);
      ws.send(errorFrame(ErrorCodes.QUEUE_NOT_FOUND, `queue "${queue}" was deleted: ${reason}`, { queue_name: queue }));
    }
  }

  /** Closes subscribers of the queue whose send buffer passed the limit; the others carry on. */
  private closeSlow(queue: string): void {
    const sockets = this.subscribers.get(queue);
    if (sockets === undefined) return;
    for (const ws of sockets) {
      if (ws.getBufferedAmount() > this.maxBufferBytes) {
        ws.close(CloseCodes.SLOW_SUBSCRIBER, "slow subscriber: send buffer over limit");
      }
    }
  }

  // ---- socket events --------------------------------------------------------------------------

  open(ws: Socket): void {
    this.sockets.add(ws);
  }

  message(ws: Socket, raw: string | Buffer): void {
    try {
      this.handle(ws, raw);
    } catch (error) {
      // A bug in one frame's handling must cost that frame, not the broker.
      console.error(`websocket frame failed: ${error instanceof Error ? error.stack : String(error)}`);
      ws.send(errorFrame(ErrorCodes.INTERNAL, "internal error"));
    }
  }

  private handle(ws: Socket, raw: string | Buffer): void {
    const parsed = parseClientFrame(typeof raw === "string" ? raw : raw.toString("utf8"));
    if (!parsed.ok) return void ws.send(errorFrame(parsed.error.code, parsed.error.message));
    const frame = parsed.value;
    const broker = this.broker!;
    const withId = frame.id === undefined ? {} : { id: frame.id };
    const reject = (error: BrokerError): void => void ws.send(errorFrame(error.code, error.message, withId));
    switch (frame.type) {
      case "SUBSCRIBE": {
        const allowed = broker.canSubscribe(frame.queue);
        if (!allowed.ok) return reject(allowed.error);
        if (!ws.data.queues.has(frame.queue)) {
          // Reply before the backlog so a client that asked for it sees SUBSCRIBED first.
          if (frame.id !== undefined) ws.send(JSON.stringify({ type: "SUBSCRIBED", payload: { queue_name: frame.queue, ...withId } }));
          ws.data.queues.add(frame.queue);
          ws.subscribe(topicOf(frame.queue));
          let set = this.subscribers.get(frame.queue);
          if (set === undefined) this.subscribers.set(frame.queue, (set = new Set()));
          set.add(ws);
          broker.attached(frame.queue);
        } else if (frame.id !== undefined) {
          ws.send(JSON.stringify({ type: "SUBSCRIBED", payload: { queue_name: frame.queue, ...withId } }));
        }
        return;
      }
      case "UNSUBSCRIBE": {
        if (!ws.data.queues.has(frame.queue)) {
          return reject({ code: ErrorCodes.SUBSCRIPTION_NOT_FOUND, message: `not subscribed to queue "${frame.queue}"` });
        }
        this.detach(ws, frame.queue);
        if (frame.id !== undefined) ws.send(JSON.stringify({ type: "UNSUBSCRIBED", payload: { queue_name: frame.queue, ...withId } }));
        return;
      }
      case "PING":
        return void ws.send(JSON.stringify({ type: "PONG", payload: withId }));
      case "PUBLISH": {
        broker
          .publish({ exchange: frame.exchange, routingKey: frame.key, body: frame.body, headers: frame.headers })
          .then(
            (result) => {
              if (!result.ok) return reject(result.error);
              if (frame.id !== undefined) {
                ws.send(JSON.stringify({ type: "CONFIRM", payload: { ...withId, routed: result.value.routed } }));
              }
            },
            () => reject({ code: ErrorCodes.INTERNAL, message: "publish failed" }),
          );
        return;
      }
    }
  }

  drain(ws: Socket): void {
    for (const queue of ws.data.queues) this.broker?.drained(queue);
  }

  close(ws: Socket): void {
    this.sockets.delete(ws);
    for (const queue of [...ws.data.queues]) this.detach(ws, queue);
  }

  private detach(ws: Socket, queue: string): void {
    ws.data.queues.delete(queue);
    ws.unsubscribe(topicOf(queue));
    this.subscribers.get(queue)?.delete(ws);
    this.broker?.detached(queue);
  }

  /** At shutdown: every socket is closed with 1001 so clients know to reconnect elsewhere or later. */
  closeAll(): void {
    for (const ws of this.sockets) ws.close(CloseCodes.GOING_AWAY, "broker shutting down");
  }
}
