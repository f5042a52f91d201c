/**
 * [CLUSTER-1] A follower node: it serves the same port as a leader would, and passes every request
 * and WebSocket on to the leader, which answers as if the caller had come to it directly (the
 * caller's address rides along, proven by the leader's token). Nothing is decided here, so every
 * route and frame has the leader's answer. When the leader changes, the sockets passed on to the
 * old one close with 1012 and their clients reconnect (to any node).
 */
import type { BunRequest, Server, ServerWebSocket } from "bun";
import { ErrorCodes } from "../core/errors.ts";
import { errorResponse } from "../server/http-errors.ts";
import { ENVELOPE_BYTES, WS_IDLE_TIMEOUT_SECONDS } from "../server/limits.ts";
import { bunBackpressureLimit } from "../server/fan-out.ts";
import { Outbox } from "../server/outbox.ts";
import { isAsSent, NOT_AS_SENT, segmentRoutes, type RawSegments } from "../server/raw-path.ts";
import { ForwardHeaders } from "./forwarded.ts";
import type { Leader, LeaderView } from "./leader-view.ts";

/** A socket's close when its leader went away: the client should reconnect. */
export const FAILOVER_CLOSE = { code: 1012, reason: "leader changed: reconnect" } as const;
const SLOW_CLOSE = { code: 4008, reason: "subscriber too slow" } as const;

/** Headers of one hop only (RFC 9110 §7.6.1), and the ones only a node may set. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"];
const NODE_ONLY = Object.values(ForwardHeaders);
const UPGRADE_ONLY = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"];

type Proxied = {
  readonly leader: Leader;
  readonly ticket: string;
  upstream: WebSocket | undefined;
  /** Frames the client sent before the leader's socket opened. */
  pending: (string | Buffer)[];
  /** [RELAY-1] The client closed while the socket to the leader was still opening: close it so once what came before is sent. */
  closedEarly?: { code: number; reason: string };
};

export type FollowerOptions = {
  readonly host: string;
  readonly port: number;
  readonly node: string;
  readonly leaders: LeaderView;
  readonly maxPayloadBytes: number;
  /** A client this far behind on what the leader sends it is closed (4008), as the leader would. */
  readonly maxBufferBytes: number;
  readonly tls?: { certFile: string; keyFile: string };
  readonly log: (line: string) => void;
};

export class Follower {
  private readonly sockets = new Set<ServerWebSocket<Proxied>>();
  /**
   * [RELAY-2] What the leader sends a client, written at the turn's end, corked. The leader sees
   * this node read at full speed; the client's own lag is watched here (4008), frame by frame.
   */
  private readonly toClients: Outbox<Proxied>;
  private readonly server: Server<Proxied>;
  private readonly unwatch: () => void;

  constructor(private readonly options: FollowerOptions) {
    this.toClients = new Outbox<Proxied>({
      schedule: (flush) => void setImmediate(flush),
      limitBytes: options.maxBufferBytes,
      overLimit: (ws) => {
        ws.close(SLOW_CLOSE.code, SLOW_CLOSE.reason);
        ws.data.upstream?.close(SLOW_CLOSE.code, SLOW_CLOSE.reason);
      },
    });
    this.server = Bun.serve<Proxied>({
      hostname: options.host,
      port: options.port,
      reusePort: false,
      ...(options.tls === undefined ? {} : { tls: { cert: Bun.file(options.tls.certFile), key: Bun.file(options.tls.keyFile) } }),
      // The leader enforces MAX_PAYLOAD_BYTES; a declared size past it is answered here (below).
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // [PATH-2] As the leader's server: the routes give the raw segments, which fetch below would lose.
      routes: segmentRoutes(
        (request: BunRequest, server: Server<Proxied>) => this.forward(request, server, request.params),
        (request: BunRequest, server: Server<Proxied>) => this.forward(request, server, undefined),
      ),
      fetch: (request, server) => this.forward(request, server, undefined),
      websocket: {
        maxPayloadLength: options.maxPayloadBytes + ENVELOPE_BYTES,
        // Past Bun's limit it would drop frames silently; the check in opened() closes first (4008).
        backpressureLimit: bunBackpressureLimit(options.maxBufferBytes, options.maxPayloadBytes + ENVELOPE_BYTES),
        closeOnBackpressureLimit: true,
        idleTimeout: WS_IDLE_TIMEOUT_SECONDS,
        sendPings: true,
        perMessageDeflate: false,
        open: (ws) => this.opened(ws),
        message: (ws, message) => {
          const upstream = ws.data.upstream;
          if (upstream !== undefined && upstream.readyState === WebSocket.OPEN) upstream.send(message as string | Uint8Array<ArrayBuffer>);
          else ws.data.pending.push(message);
        },
        close: (ws, code, reason) => {
          this.sockets.delete(ws);
          const upstream = ws.data.upstream;
          const closing = { code: isSendable(code) ? code : 1000, reason };
          // [RELAY-1] Frames sent just before the close wait in `pending` until the leader's socket opens; closing it now lost them.
          if (upstream !== undefined && upstream.readyState === WebSocket.CONNECTING && ws.data.pending.length > 0) ws.data.closedEarly = closing;
          else if (upstream !== undefined && upstream.readyState <= WebSocket.OPEN) upstream.close(closing.code, closing.reason);
        },
      },
    });
    // Sockets passed on to a leader that is no longer the one: their clients reconnect.
    this.unwatch = options.leaders.onChange((leader) => {
      if (leader === undefined) return;
      for (const ws of this.sockets) if (ws.data.leader.token !== leader.token) this.closeClient(ws, FAILOVER_CLOSE.code, FAILOVER_CLOSE.reason);
    });
  }

  get port(): number {
    return this.server.port ?? this.options.port;
  }

  /** Stops listening and closes every passed-on socket (1012): this node is about to lead. */
  async stop(): Promise<void> {
    this.unwatch();
    const stopped = this.server.stop(true);
    for (const ws of this.sockets) this.closeClient(ws, FAILOVER_CLOSE.code, FAILOVER_CLOSE.reason);
    await stopped;
  }

  private async forward(request: Request, server: Server<Proxied>, raw: RawSegments): Promise<Response | undefined> {
    const leader = this.options.leaders.current();
    if (leader === undefined) return noLeader("this node knows no leader yet (a failover may be under way)");
    const url = request.url;
    const pathAndQuery = url.slice(url.indexOf("/", url.indexOf("//") + 2));
    // The URL parser already resolved dot segments here, and fetch would anyway: the leader could
    // not see them. Other bad paths go on as they are, and the leader refuses them in its order.
    const path = pathAndQuery.split("?", 1)[0]!;
    if (!isAsSent(path, raw) && decodesCleanly(path)) return errorResponse({ code: ErrorCodes.BAD_PATH, message: NOT_AS_SENT });
    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > this.options.maxPayloadBytes) {
      return errorResponse({ code: ErrorCodes.PAYLOAD_TOO_LARGE, message: `request body is ${declared} bytes; the limit is ${this.options.maxPayloadBytes} (MAX_PAYLOAD_BYTES)` });
    }
    const headers = this.forwardedHeaders(request, server, leader);
    const isUpgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (isUpgrade) {
      for (const name of UPGRADE_ONLY) headers.delete(name);
      headers.set(ForwardHeaders.UPGRADE_CHECK, "1");
    }
    let answer: Response;
    try {
      answer = await fetch(leader.url + pathAndQuery, {
        method: request.method,
        headers,
        body: request.body,
        redirect: "manual",
        decompress: false,
        keepalive: true,
      } as RequestInit);
    } catch (error) {
      // Refused: the request never reached the leader, so a retry is safe (the client does it). Else it may have been handled.
      if (wasRefused(error)) return noLeader(`the leader ${leader.node} does not answer (a failover may be under way)`);
      this.options.log(`forwarding ${request.method} ${path} to ${leader.node} at ${leader.url} failed: ${error instanceof Error ? error.message : String(error)}`);
      return errorResponse({
        code: ErrorCodes.LEADER_LOST,
        message: `the leader ${leader.node} went away before answering: the request may or may not have been handled (retry a publish with the same message_id)`,
      });
    }
    const ticket = isUpgrade && answer.status === 204 ? answer.headers.get(ForwardHeaders.TICKET) : null;
    if (ticket === null) return this.passBack(answer);
    const protocol = answer.headers.get("sec-websocket-protocol");
    const data: Proxied = { leader, ticket, upstream: undefined, pending: [] };
    if (server.upgrade(request, { data, headers: protocol === null ? undefined : { "sec-websocket-protocol": protocol } })) return undefined;
    return errorResponse({ code: ErrorCodes.VALIDATION, message: "expected a WebSocket upgrade" });
  }

  private forwardedHeaders(request: Request, server: Server<Proxied>, leader: Leader): Headers {
    const headers = new Headers(request.headers);
    for (const name of [...HOP_BY_HOP, ...NODE_ONLY]) headers.delete(name);
    headers.set(ForwardHeaders.TOKEN, leader.token);
    headers.set(ForwardHeaders.FORWARDED_FOR, server.requestIP(request)?.address ?? "");
    return headers;
  }

  private passBack(answer: Response): Response {
    const headers = new Headers(answer.headers);
    for (const name of [...HOP_BY_HOP, ...NODE_ONLY, "content-length"]) headers.delete(name);
    headers.set("x-pubsub-via", this.options.node);
    return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers });
  }

  /** Closes a client after what the leader sent it before: a close must not overtake its frames. */
  private closeClient(ws: ServerWebSocket<Proxied>, code: number, reason: string): void {
    this.toClients.flush(ws);
    ws.close(code, reason);
  }

  private opened(ws: ServerWebSocket<Proxied>): void {
    this.sockets.add(ws);
    const { leader, ticket } = ws.data;
    const target = new URL("/ws", leader.url);
    target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
    const upstream = new WebSocket(target.href, { headers: { [ForwardHeaders.TOKEN]: leader.token, [ForwardHeaders.TICKET]: ticket } } as unknown as string[]);
    ws.data.upstream = upstream;
    upstream.binaryType = "nodebuffer" as BinaryType;
    upstream.onopen = () => {
      for (const message of ws.data.pending) upstream.send(message as string | Uint8Array<ArrayBuffer>);
      ws.data.pending = [];
      const early = ws.data.closedEarly;
      if (early !== undefined) upstream.close(early.code, early.reason);
    };
    upstream.onmessage = (event) => {
      // [RELAY-2] Not sent at once: a send here, outside any of the server's handlers, was a write
      // of its own (6.7 us a frame in a probe, 1.5 corked per turn: bench/RESULTS.md).
      this.toClients.send(ws, event.data as string | Buffer);
    };
    upstream.onclose = (event) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      // 1005/1006: the leader went away without a close frame, so this is a failover.
      if (isSendable(event.code)) this.closeClient(ws, event.code, event.reason);
      else this.closeClient(ws, FAILOVER_CLOSE.code, FAILOVER_CLOSE.reason);
    };
    upstream.onerror = () => {};
  }
}

/** fetch's error for a connection the peer refused (nothing was sent). */
function wasRefused(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /refused/i.test(code);
}

/** A path whose escapes are UTF-8 and hold no U+FFFD (the leader's first checks would pass). */
function decodesCleanly(path: string): boolean {
  try {
    return !decodeURIComponent(path).includes("\uFFFD");
  } catch {
    return false;
  }
}

const noLeader = (message: string): Response => errorResponse({ code: ErrorCodes.NO_LEADER, message }, { "retry-after": "1" });

/** Close codes a peer may send (1005, 1006 and 1015 only describe a close; they are never sent). */
const isSendable = (code: number): boolean => code === 1000 || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
