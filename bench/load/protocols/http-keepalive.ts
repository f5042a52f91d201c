/**
 * A minimal HTTP/1.1 keep-alive client over a raw TCP socket: one request in flight per
 * connection, no pipelining. It parses only what it must (status, Content-Length or chunked
 * end), so on a 2-core machine the load generator costs the broker as little CPU as possible.
 * `fetch` does far more per request (Headers, Response, streams).
 */
import type { Socket } from "bun";

export type HttpAnswer = { status: number; /** Only when asked for: decoding costs. */ body: string | null };

type Pending = { resolve: (answer: HttpAnswer) => void; reject: (error: Error) => void; wantBody: boolean };

const HEADER_END = Buffer.from("\r\n\r\n");
const CHUNKED_END = Buffer.from("0\r\n\r\n");

/** Owns one TCP connection. */
export class KeepAliveConnection {
  private socket: Socket<undefined> | null = null;
  private pending: Pending | null = null;
  private received: Buffer | null = null;
  private unwritten: Uint8Array | null = null;
  closed = false;

  static async open(host: string, port: number): Promise<KeepAliveConnection> {
    const connection = new KeepAliveConnection();
    connection.socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data: (_socket, chunk) => connection.onData(chunk),
        drain: () => connection.flush(),
        close: () => connection.onClose(new Error("connection closed by server")),
        error: (_socket, error) => connection.onClose(error),
      },
    });
    return connection;
  }

  /** Sends one complete request (bytes prebuilt by the caller) and resolves with its answer. */
  request(bytes: Uint8Array, wantBody = false): Promise<HttpAnswer> {
    if (this.closed) return Promise.reject(new Error("connection closed"));
    if (this.pending) return Promise.reject(new Error("one request at a time per connection"));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, wantBody };
      this.unwritten = bytes;
      this.flush();
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.end();
  }

  private flush(): void {
    if (!this.unwritten || !this.socket) return;
    const written = this.socket.write(this.unwritten);
    this.unwritten = written >= this.unwritten.length ? null : this.unwritten.subarray(Math.max(0, written));
  }

  private onData(chunk: Buffer): void {
    // The chunk may be reused by the runtime after this callback: copy what we keep.
    this.received = this.received ? Buffer.concat([this.received, chunk]) : Buffer.from(chunk);
    const parsed = parseResponse(this.received, this.pending?.wantBody ?? false);
    if (!parsed) return;
    this.received = parsed.length < this.received.length ? this.received.subarray(parsed.length) : null;
    const pending = this.pending;
    this.pending = null;
    pending?.resolve({ status: parsed.status, body: parsed.body });
  }

  private onClose(error: Error): void {
    this.closed = true;
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
  }
}

type Parsed = { length: number; status: number; body: string | null };

/** The first complete response in `buffer`, or null when more bytes are needed. */
export function parseResponse(buffer: Buffer, wantBody: boolean): Parsed | null {
  const headerEnd = buffer.indexOf(HEADER_END);
  if (headerEnd < 0) return null;
  const status = Number(buffer.toString("latin1", 9, 12));
  const head = buffer.toString("latin1", 0, headerEnd).toLowerCase();
  const bodyStart = headerEnd + HEADER_END.length;
  const lengthMatch = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (lengthMatch) {
    const end = bodyStart + Number(lengthMatch[1]);
    if (buffer.length < end) return null;
    return { length: end, status, body: wantBody ? buffer.toString("utf8", bodyStart, end) : null };
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
    for (let at = buffer.indexOf(CHUNKED_END, bodyStart); at >= 0; at = buffer.indexOf(CHUNKED_END, at + 1)) {
      if (at === bodyStart || (buffer[at - 2] === 13 && buffer[at - 1] === 10)) {
        const end = at + CHUNKED_END.length;
        return { length: end, status, body: wantBody ? dechunk(buffer.subarray(bodyStart, end)) : null };
      }
    }
    return null;
  }
  // No body framing: a bodiless answer (204, 304) or one the server will close. Treat as empty.
  return { length: bodyStart, status, body: wantBody ? "" : null };
}

function dechunk(chunked: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < chunked.length) {
    const lineEnd = chunked.indexOf("\r\n", at);
    const size = parseInt(chunked.toString("latin1", at, lineEnd), 16);
    if (!size) break;
    parts.push(chunked.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The bytes of one `POST` request with a JSON body, built once and sent many times. */
export function jsonPostRequest(host: string, port: number, path: string, body: string): Uint8Array {
  const bodyBytes = Buffer.from(body);
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${bodyBytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), bodyBytes]);
}
