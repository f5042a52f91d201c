/**
 * One HTTP/1.1 exchange over a plain TCP socket, for what fetch will not send: non-ASCII Host
 * headers, chunked bodies of a chosen size, and WebSocket upgrades whose status line must be seen.
 */
export type RawResponse = { status: number; head: string; body: string };

const encoder = new TextEncoder();

export function rawRequest(port: number, request: string | Uint8Array, ms = 5_000): Promise<RawResponse> {
  const bytes = typeof request === "string" ? encoder.encode(request) : request;
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (socket: { end(): void } | undefined, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.end();
      const text = received.toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      if (split === -1) return reject(error ?? new Error(`no complete response: ${JSON.stringify(text.slice(0, 200))}`));
      const head = text.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: received.subarray(split + 4).toString("utf8") });
    };
    /** Complete once the head is in and, when it declares a length, the body too; a 101 has no body. */
    const complete = (): boolean => {
      const text = received.toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      if (split === -1) return false;
      const head = text.slice(0, split);
      if (/^HTTP\/1\.1 101/.test(head)) return true;
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      return length !== null && received.length - split - 4 >= Number(length[1]);
    };
    const timer = setTimeout(() => finish(undefined, new Error("raw request timed out")), ms);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (socket) => void socket.write(bytes),
        data: (socket, chunk) => {
          received = Buffer.concat([received, chunk]);
          if (complete()) finish(socket);
        },
        close: () => finish(undefined),
        error: (_socket, error) => finish(undefined, error),
      },
    }).catch(reject);
  });
}

/** The bytes of a WebSocket upgrade request for /ws with the given Host and, unless null, Origin. */
export const upgradeRequest = (host: string, origin: string | null): Uint8Array =>
  encoder.encode(
    `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
      (origin === null ? "" : `Origin: ${origin}\r\n`) +
      "\r\n",
  );

/** A GET with the Host header given as raw UTF-8 bytes (look-alike letters included). */
export const getWithHost = (path: string, host: string): Uint8Array =>
  encoder.encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
