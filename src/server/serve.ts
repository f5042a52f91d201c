import type { BunRequest, Server } from "bun";
import type { Broker } from "../broker/broker.ts";
import type { Config } from "../config.ts";
import { ErrorCodes, type Result } from "../core/errors.ts";
import { hostGuard } from "./allowed-hosts.ts";
import { isPreflight, isStateChanging, preflightResponse, withCors } from "./cors.ts";
import { errorResponse } from "./http-errors.ts";
import { ENVELOPE_BYTES, WS_IDLE_TIMEOUT_SECONDS } from "./limits.ts";
import { isAsSent, NOT_AS_SENT, segmentRoutes, type RawSegments } from "./raw-path.ts";
import { attachBody, readJsonBody } from "./request-body.ts";
import { publishAtEdge } from "./publish-route.ts";
import type { WsHub } from "./ws-hub.ts";
import type { Logger } from "../log.ts";
import { AuthEdge, WS_PROTOCOL, type EdgeAnswer } from "./auth-edge.ts";
import { attachCaller, attachRemote } from "./caller.ts";
import type { ConnectionLimiter } from "./abuse/connection-limiter.ts";
import { addressKey } from "./abuse/address.ts";
import { newSocketState, type SocketState } from "./ws-session.ts";
import { ForwardHeaders, type Forwarded } from "../cluster/forwarded.ts";

/**
 * Bun's own body limit answers a bare 413 with no JSON body, so it is set out of reach: fetch below
 * enforces MAX_PAYLOAD_BYTES itself, on declared and chunked bodies alike, and never reads past it.
 */
const BUN_BODY_LIMIT_OFF = Number.MAX_SAFE_INTEGER;
/**
 * Elysia finds the path by searching for "/" from index 11 of the URL, so a Host of 1–3 characters
 * ("http://mq/queues") sent every route to 404 [HOST-2]. Such URLs are rebuilt with this host; the
 * Host header itself was already checked against ALLOWED_HOSTS.
 */
const SHORTEST_ROUTABLE_ORIGIN = "http://xxxx".length;
const ROUTING_HOST = "http://localhost";

type FetchApp = { fetch: (request: Request) => Response | Promise<Response> };

/**
 * Our own Bun.serve around the Elysia app: it guards hosts and body size, upgrades /ws by hand with
 * Bun's raw WebSocket handlers (full speed), and never sets reusePort, so a second broker on the
 * same port fails to start instead of silently sharing traffic.
 */
/** What the edge refuses before a route runs: who is calling, how many connections, how fast they publish. */
export type Guards = {
  edge: AuthEdge;
  connections?: ConnectionLimiter;
  publishRate?: (address: string | undefined) => PublishRateLike | undefined;
  /** [CLUSTER-1] In a cluster: what the other nodes may say about the requests they forward here. */
  forwarded?: Forwarded<SocketState>;
};
type PublishRateLike = { take(n?: number): true | { retryAfterMs: number } };

export function serve(config: Config, app: FetchApp, hub: WsHub, broker: Broker, logger?: Logger, guards: Guards = { edge: new AuthEdge("none", undefined, undefined) }): Server<SocketState> {
  const { edge } = guards;
  const guard = hostGuard(config.allowedHosts);
  async function handle(request: Request, server: Server<SocketState>, raw: RawSegments): Promise<Response | undefined> {
    // [CLUSTER-1] A follower's request stands for its caller: that caller's address counts (limits, the loopback rule).
    const forwarded = guards.forwarded?.remoteOf(request);
    const remoteAddress = () => (forwarded !== undefined ? forwarded.address : server.requestIP(request)?.address);
    const ticket = forwarded === undefined ? null : request.headers.get(ForwardHeaders.TICKET);
    if (ticket !== null) return upgradeByTicket(request, server, ticket);
    if (!guard.allowsHost(request.headers.get("host"))) {
      return errorResponse({ code: ErrorCodes.HOST_NOT_ALLOWED, message: "host not allowed (ALLOWED_HOSTS)" });
    }
    const url = request.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const queryStart = url.indexOf("?", pathStart);
    const path = url.slice(pathStart, queryStart < 0 ? undefined : queryStart);
    // [PATH-1] Elysia answered a malformed escape with 404 for the queue "null".
    if (path.includes("%")) {
      if (!isPercentEncodedUtf8(path)) return badPath("path is not valid percent-encoded UTF-8");
      // [FUZZ-6] Bun turns raw bytes that are not UTF-8 into U+FFFD; no valid name holds it.
      if (REPLACEMENT_CHARACTER.test(path)) return badPath("path holds U+FFFD: bytes that were not UTF-8, or their stand-in");
    }
    if (!isAsSent(path, raw)) return badPath(NOT_AS_SENT);
    if (queryStart >= 0) {
      const problem = queryProblem(url.slice(queryStart + 1));
      if (problem !== undefined) return problem;
    }
    const origin = request.headers.get("origin");
    const originAllowed = guard.allowsOrigin(origin);
    if (path === "/ws") {
      if (!originAllowed) {
        return errorResponse({ code: ErrorCodes.HOST_NOT_ALLOWED, message: "origin not allowed (ALLOWED_HOSTS)" });
      }
      if (broker.isClosing) {
        return errorResponse({ code: ErrorCodes.SHUTTING_DOWN, message: "the broker is shutting down" });
      }
      if (request.method !== "GET") {
        return errorResponse({ code: ErrorCodes.METHOD_NOT_ALLOWED, message: `${request.method} is not allowed here; use GET (a WebSocket upgrade)` }, { allow: "GET" });
      }
      const remote = remoteAddress();
      // [AUTH-2] A credential on the upgrade (bearer subprotocol, Authorization, ?token= if allowed) is checked now; without one the AUTH frame must come first.
      const who = await edge.forUpgrade(request, remote, config.auth.urlToken);
      const refused = refusal(who, edge.required);
      if (refused !== undefined) return refused;
      const offered = request.headers.get("sec-websocket-protocol");
      const headers = offered?.split(",").some((p) => p.trim() === WS_PROTOCOL) ? { "sec-websocket-protocol": WS_PROTOCOL } : undefined;
      const ticket = guards.connections?.tryOpen(remote);
      if (ticket !== undefined && !ticket.ok) return errorResponse({ code: ErrorCodes.CONNECTION_LIMIT, message: ticket.message });
      const data = newSocketState(server, remote ?? null, who.caller, who.session);
      if (ticket !== undefined) data.release = () => ticket.release();
      data.publishRate = guards.publishRate?.(remote);
      // [CLUSTER-1] A follower asks first; its own socket then opens with the ticket, to the state decided here.
      if (forwarded !== undefined && request.headers.get(ForwardHeaders.UPGRADE_CHECK) === "1") {
        return new Response(null, { status: 204, headers: { ...headers, [ForwardHeaders.TICKET]: guards.forwarded!.issue(data) } });
      }
      if (server.upgrade(request, { data, headers })) return undefined;
      data.release();
      return errorResponse({ code: ErrorCodes.VALIDATION, message: "expected a WebSocket upgrade" });
    }
    // [CORS-1] A page on another site can send a POST without asking first (text/plain is a
    // "simple" request): the origin is checked on every request that changes state.
    if (origin !== null && !originAllowed && (isStateChanging(request.method) || isPreflight(request))) {
      return errorResponse({ code: ErrorCodes.HOST_NOT_ALLOWED, message: "origin not allowed (ALLOWED_HOSTS)" });
    }
    if (origin !== null && isPreflight(request)) return preflightResponse(origin);
    let body: Result<unknown> | undefined;
    if (request.body !== null) {
      const declared = request.headers.get("content-length");
      if (declared !== null && Number(declared) > config.maxPayloadBytes) return tooLarge(`is ${declared} bytes`, config.maxPayloadBytes);
      const read = await readJsonBody(request, config.maxPayloadBytes, declared !== null);
      if (read.tooLarge) return tooLarge(`passed ${config.maxPayloadBytes} bytes`, config.maxPayloadBytes);
      body = read.body;
    }
    // A plain POST /publish is answered here, not by Elysia (publish-route.ts).
    const atEdge = path === "/publish" && queryStart < 0 && request.method === "POST";
    // The body is consumed: Elysia gets a request without one, and the parsed value beside it.
    const routed =
      !atEdge && (pathStart < SHORTEST_ROUTABLE_ORIGIN || request.body !== null)
        ? new Request(pathStart < SHORTEST_ROUTABLE_ORIGIN ? ROUTING_HOST + url.slice(pathStart) : url, { method: request.method, headers: request.headers })
        : request;
    if (!atEdge) attachBody(routed, body);
    const remote = remoteAddress();
    // Elysia routes /publish/ to /publish too; IPv6 addresses are counted by their /64 (a host may rotate within it).
    if (guards.publishRate !== undefined && (path === "/publish" || path === "/publish/")) {
      const limited = httpRates.take(addressKey(remote, 64));
      if (limited !== true) return rateLimited(limited.retryAfterMs);
    }
    const found = edge.forRequest(request, remote);
    const who = found instanceof Promise ? await found : found;
    if (who.retryAfterMs !== undefined) return tooManyFailures(who);
    if (who.csrf === true) return errorResponse({ code: ErrorCodes.FORBIDDEN, message: who.problem ?? "CSRF token missing" });
    if (atEdge) {
      const problem = who.caller === undefined && who.problem !== undefined ? { message: who.problem, code: who.code } : undefined;
      let answer: Response;
      try {
        answer = await publishAtEdge({ body, caller: who.caller, problem }, broker);
      } catch (error) {
        // What Elysia's onError answered, with the CORS headers a browser needs to read it.
        logger?.error("request.failed", { msg: error instanceof Error ? error.message : String(error) });
        answer = errorResponse({ code: ErrorCodes.INTERNAL, message: "internal error" });
      }
      return origin !== null && originAllowed ? withCors(answer, origin) : answer;
    }
    attachCaller(routed, who.caller, who.problem, who.code);
    attachRemote(routed, remote);
    const response = await app.fetch(routed);
    // Management actions (who, what, the outcome): every state-changing route but the hot /publish.
    if (logger !== undefined && isStateChanging(request.method) && path !== "/publish") {
      logger.info("management", { method: request.method, path: safeDecode(path), status: response.status, remote });
    }
    return origin !== null && originAllowed ? withCors(response, origin) : response;
  }

  function upgradeByTicket(request: Request, server: Server<SocketState>, id: string): Response | undefined {
    const taken = guards.forwarded!.take(id);
    if (taken === undefined) return errorResponse({ code: ErrorCodes.UNAUTHORIZED, message: "unknown or expired cluster ticket" });
    // No subprotocol here: the follower's own socket offered none (a client fails a handshake that picks one it did not offer); the follower answers its client with it.
    if (server.upgrade(request, { data: taken.state })) return undefined;
    taken.state.release();
    return errorResponse({ code: ErrorCodes.VALIDATION, message: "expected a WebSocket upgrade" });
  }

  // PUBLISH_RATE_PER_CONNECTION for HTTP: per remote address (a keep-alive connection has no identity here).
  const httpRates = new AddressRates(guards.publishRate);
  const server = Bun.serve<SocketState>({
    hostname: config.host,
    port: config.httpPort,
    reusePort: false,
    // TLS_CERT_FILE / TLS_KEY_FILE: HTTPS and WSS on the same port.
    ...(config.tls === undefined ? {} : { tls: { cert: Bun.file(config.tls.certFile), key: Bun.file(config.tls.keyFile) } }),
    maxRequestBodySize: BUN_BODY_LIMIT_OFF,
    // Every request comes through a route only so that its raw segments are known [PATH-2].
    routes: segmentRoutes(
      (request: BunRequest, server: Server<SocketState>) => handle(request, server, request.params),
      (request: BunRequest, server: Server<SocketState>) => handle(request, server, undefined),
    ),
    fetch: (request, server) => handle(request, server, undefined),
    websocket: {
      // A frame carries one payload plus its envelope; past this Bun closes the socket with 1009.
      maxPayloadLength: config.maxPayloadBytes + ENVELOPE_BYTES,
      // [SLOW-1] Out of reach: the hub closes a slow subscriber itself (4008) before Bun would drop a
      // frame for it. Kept as a backstop: past it Bun drops frames and cuts the socket with no close frame.
      backpressureLimit: hub.bunBackpressureLimit(config.maxPayloadBytes + ENVELOPE_BYTES),
      closeOnBackpressureLimit: true,
      idleTimeout: WS_IDLE_TIMEOUT_SECONDS,
      sendPings: true,
      perMessageDeflate: false,
      open: (ws) => hub.open(ws),
      message: (ws, message) => hub.message(ws, message),
      drain: (ws) => hub.drain(ws),
      close: (ws, code) => hub.close(ws, code),
    },
    error(error) {
      logger?.error("request.failed", { msg: error.message });
      return errorResponse({ code: ErrorCodes.INTERNAL, message: "internal error" });
    },
  });
  return server;
}

const REPLACEMENT_CHARACTER = /%EF%BF%BD/i;

/** An upgrade the edge refused: 429 while its address waits after failures, 401 for a bad credential or one the mode needs. */
function refusal(who: EdgeAnswer, required: boolean): Response | undefined {
  if (who.retryAfterMs !== undefined) return tooManyFailures(who);
  if (who.caller !== undefined || (required && who.failed !== true)) return undefined;
  return errorResponse({ code: who.code ?? ErrorCodes.UNAUTHORIZED, message: who.problem ?? "authentication required" }, { "www-authenticate": 'Bearer realm="pubsub"' });
}

const rateLimited = (retryAfterMs: number): Response =>
  errorResponse(
    { code: ErrorCodes.RATE_LIMITED, message: `publishing faster than PUBLISH_RATE_PER_CONNECTION allows; retry in ${retryAfterMs} ms` },
    { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  );

/** The HTTP publish buckets, one per address, the oldest forgotten past MAX_HTTP_RATE_ADDRESSES (bounded memory). */
class AddressRates {
  private readonly rates = new Map<string, PublishRateLike>();
  constructor(private readonly make: Guards["publishRate"]) {}
  take(address: string | undefined): true | { retryAfterMs: number } {
    if (this.make === undefined) return true;
    const key = address ?? "unknown";
    let rate = this.rates.get(key);
    if (rate === undefined) {
      rate = this.make(address);
      if (rate === undefined) return true;
      if (this.rates.size >= MAX_HTTP_RATE_ADDRESSES) this.rates.delete(this.rates.keys().next().value!);
      this.rates.set(key, rate);
    }
    return rate.take();
  }
}
const MAX_HTTP_RATE_ADDRESSES = 65_536;

const tooManyFailures = (who: EdgeAnswer): Response =>
  errorResponse({ code: ErrorCodes.RATE_LIMITED, message: who.problem ?? "too many failed authentications" }, { "retry-after": String(Math.ceil((who.retryAfterMs ?? 0) / 1000)) });

/** A path for the log, with names readable (it was checked to decode). */
function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * [QUERY-1] A query must decode, and name each parameter once: with `if_empty=true&if_empty=false`
 * the last one silently won, and a guarded delete dropped messages.
 */
function queryProblem(query: string): Response | undefined {
  if (query.includes("%") && !isPercentEncodedUtf8(query.replaceAll("+", " "))) return badPath("query is not valid percent-encoded UTF-8");
  const seen = new Set<string>();
  for (const key of new URLSearchParams(query).keys()) {
    if (seen.has(key)) return errorResponse({ code: ErrorCodes.VALIDATION, message: `query parameter "${key}" is given more than once` });
    seen.add(key);
  }
  return undefined;
}
const badPath = (message: string): Response => errorResponse({ code: ErrorCodes.BAD_PATH, message });

const tooLarge = (size: string, limit: number): Response =>
  errorResponse({
    code: ErrorCodes.PAYLOAD_TOO_LARGE,
    message: `request body ${size}; the limit is ${limit} (MAX_PAYLOAD_BYTES)`,
  });

/** decodeURIComponent's own check: every `%` starts an escape, and the bytes are UTF-8. */
function isPercentEncodedUtf8(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
