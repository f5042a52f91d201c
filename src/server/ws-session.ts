import type { Server, ServerWebSocket } from "bun";
import type { Identified } from "./auth-edge.ts";
import { SLOW_SUBSCRIBER } from "./fan-out.ts";

/** Close codes the broker uses; documented in the README. */
export const CloseCodes = {
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  /** The subscriber fell too far behind; it may reconnect. */
  SLOW_SUBSCRIBER: SLOW_SUBSCRIBER.code,
  /** An administrator closed it (DELETE /connections/:id); it may reconnect. */
  CLOSED_BY_ADMIN: 4010,
  /** No AUTH within AUTH_TIMEOUT_MS, a frame before AUTH, a refused credential, or its user was removed. */
  UNAUTHORIZED: 4001,
  /** Its token expired and no new one came (AUTH) after TOKEN_EXPIRING. */
  TOKEN_EXPIRED: 4011,
} as const;

/** One WebSocket connection's state: what it subscribes to, consumes, and holds unacknowledged. The hub (ws-hub.ts) acts on its frames. */
export type SocketState = {
  readonly connection: string;
  /** The peer's IP address, for the connections page. */
  readonly remoteAddress: string | null;
  /** Milliseconds since the epoch. */
  readonly openedAt: number;
  /** Who it is: from the upgrade (a bearer subprotocol, the loopback guest…) or its AUTH frame; undefined until then. */
  caller: Identified | undefined;
  /** The AUTH deadline, or the token's expiry notice and close. */
  authTimer: ReturnType<typeof setTimeout> | undefined;
  /** Gives its place back to MAX_CONNECTIONS / MAX_CONNECTIONS_PER_ADDRESS (idempotent). */
  release: () => void;
  /** PUBLISH_RATE_PER_CONNECTION's bucket; undefined when there is no limit. */
  publishRate: { take(n?: number): true | { retryAfterMs: number } } | undefined;
  /** Frames that came while its AUTH was being checked, handled in order after it. */
  waitingForAuth: (string | Buffer)[] | undefined;
  /** [FLOW-1] Frames read while the socket was paused for a saturated turn, handled in order in the next ones. */
  inbox: (string | Buffer)[] | undefined;
  /** The server the socket came through: it publishes to the topics the socket subscribes to. */
  readonly server: Server<SocketState>;
  /** [SESSION-1] The dashboard session whose cookie opened it: a logout closes it. */
  session: string | undefined;
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
export const newSocketState = (server: Server<SocketState>, remoteAddress: string | null = null, caller?: Identified, session?: string): SocketState => ({
  connection: `c${++connections}`,
  remoteAddress,
  openedAt: Date.now(),
  caller,
  authTimer: undefined,
  waitingForAuth: undefined,
    inbox: undefined,
  release: () => {},
  publishRate: undefined,
  server,
  session,
  queues: new Set(),
  consuming: new Set(),
  tags: new Map(),
});
