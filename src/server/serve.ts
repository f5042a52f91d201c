import type { Server } from "bun";
import type { Broker } from "../broker/broker.ts";
import type { Config } from "../config.ts";
import { ErrorCodes } from "../core/errors.ts";
import { hostGuard } from "./allowed-hosts.ts";
import { errorResponse } from "./http-errors.ts";
import { newSocketState, type SocketState, type WsHub } from "./ws-session.ts";

/** WebSocket frames may exceed the payload limit by this much for the envelope (names, key, headers). */
const ENVELOPE_BYTES = 64 << 10;
/**
 * Bun's own body limit answers a bare 413 with no JSON body, so it is set out of reach: fetch below
 * enforces MAX_PAYLOAD_BYTES itself, on declared and chunked bodies alike, and never reads past it.
 */
const BUN_BODY_LIMIT_OFF = Number.MAX_SAFE_INTEGER;

type FetchApp = { fetch: (request: Request) => Response | Promise<Response> };

/**
 * Our own Bun.serve around the Elysia app: it guards hosts and body size, upgrades /ws by hand with
 * Bun's raw WebSocket handlers (full speed), and never sets reusePort, so a second broker on the
 * same port fails to start instead of silently sharing traffic.
 */
export function serve(config: Config, app: FetchApp, hub: WsHub, broker: Broker): Server<SocketState> {
  const guard = hostGuard(config.allowedHosts);
  const server = Bun.serve<SocketState>({
    hostname: config.host,
    port: config.httpPort,
    reusePort: false,
    maxRequestBodySize: BUN_BODY_LIMIT_OFF,
    fetch(request, server) {
      if (!guard.allowsHost(request.headers.get("host"))) {
        return errorResponse({ code: ErrorCodes.HOST_NOT_ALLOWED, message: "host not allowed (ALLOWED_HOSTS)" });
      }
      const url = new URL(request.url);
      if (url.pathname === "/ws") {
        if (!guard.allowsOrigin(request.headers.get("origin"))) {
          return errorResponse({ code: ErrorCodes.HOST_NOT_ALLOWED, message: "origin not allowed (ALLOWED_HOSTS)" });
        }
        if (broker.isClosing) {
          return errorResponse({ code: ErrorCodes.SHUTTING_DOWN, message: "the broker is shutting down" });
        }
        if (server.upgrade(request, { data: newSocketState() })) return undefined;
        return errorResponse({ code: ErrorCodes.VALIDATION, message: "expected a WebSocket upgrade" });
      }
      const declared = request.headers.get("content-length");
      if (declared !== null) {
        const length = Number(declared);
        return length > config.maxPayloadBytes ? tooLarge(`is ${length} bytes`, config.maxPayloadBytes) : app.fetch(request);
      }
      if (request.body === null) return app.fetch(request);
      // A chunked body declares no length: read it, but never past the limit.
      return readAtMost(request.body, config.maxPayloadBytes).then((body) =>
        body === null
          ? tooLarge(`passed ${config.maxPayloadBytes} bytes`, config.maxPayloadBytes)
          : app.fetch(new Request(request.url, { method: request.method, headers: request.headers, body })),
      );
    },
    websocket: {
      // A frame carries one payload plus its envelope; past this Bun closes the socket with 1009.
      maxPayloadLength: config.maxPayloadBytes + ENVELOPE_BYTES,
      // Backstop only: the hub closes slow subscribers itself (code 4008) well before this.
      backpressureLimit: config.subscriberMaxBufferBytes * 2,
      closeOnBackpressureLimit: true,
      idleTimeout: 120,
      sendPings: true,
      perMessageDeflate: false,
      open: (ws) => hub.open(ws),
      message: (ws, message) => hub.message(ws, message),
      drain: (ws) => hub.drain(ws),
      close: (ws) => hub.close(ws),
    },
    error(error) {
      console.error(`request failed: ${error.message}`);
      return errorResponse({ code: ErrorCodes.INTERNAL, message: "internal error" });
    },
  });
  return server;
}

const tooLarge = (size: string, limit: number): Response =>
  errorResponse({
    code: ErrorCodes.PAYLOAD_TOO_LARGE,
    message: `request body ${size}; the limit is ${limit} (MAX_PAYLOAD_BYTES)`,
  });

/** The whole body, or null as soon as it passes `limit` bytes (the rest is never read). */
async function readAtMost(body: ReadableStream<Uint8Array>, limit: number): Promise<Blob | null> {
  const reader = body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      void reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(new Uint8Array(value));
  }
  return new Blob(chunks);
}
