import type { Server, ServerWebSocket } from "bun";
import { SLOW_SUBSCRIBER } from "./fan-out.ts";

/** Close codes the broker uses; documented in the README. */
export const CloseCodes = {
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  /** The subscriber fell too far behind; it may reconnect. */
  SLOW_SUBSCRIBER: SLOW_SUBSCRIBER.code,
  /** An administrator closed it (DELETE /connections/:id); it may reconnect. */
  CLOSED_BY_ADMIN: 4010,
} as const;

/** One WebSocket connection's state: what it subscribes to, consumes, and holds unacknowledged. The hub (ws-hub.ts) acts on its frames. */
export type SocketState = {
  readonly connection: string;
  /** The peer's IP address, for the connections page. */
  readonly remoteAddress: string | null;
  /** Milliseconds since the epoch. */
  readonly openedAt: number;
  /** The server the socket came through: it publishes to the topics the socket subscribes to. */
  readonly server: Server<SocketState>;
  /** Queues this socket subscribes to. */
  readonly queues: Set<string>;
  /** Queues this socket consumes from. */
  readonly consuming: Set<string>;
  /** Delivery tag → queue, for the messages this socket holds unacknowledged. */
  readonly tags: Map<number, string>;
};
export type Socket = ServerWebSocket<SocketState>;

/** The consumer id of one socket on one queue. */
export const consumerOf = (ws: Socket, queue: string): string => `${ws.data.connection}\u0000${queue}`;

let connections = 0;
export const newSocketState = (server: Server<SocketState>, remoteAddress: string | null = null): SocketState => ({
  connection: `c${++connections}`,
  remoteAddress,
  openedAt: Date.now(),
  server,
  queues: new Set(),
  consuming: new Set(),
  tags: new Map(),
});
