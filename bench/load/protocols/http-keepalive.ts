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
const CRLF = Buffer.from("\r\n");

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
    // Parse the runtime's chunk in place; copy only bytes kept past this callback.
    const bytes = this.received ? Buffer.concat([this.received, chunk]) : chunk;
    const parsed = parseResponse(bytes, this.pending?.wantBody ?? false);
    if (!parsed) {
      this.received = bytes === chunk ? Buffer.from(chunk) : bytes;
      return;
    }
    this.received = parsed.length < bytes.length ? Buffer.from(bytes.subarray(parsed.length)) : null;
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
  // "HTTP/1.1 200": three digits at offset 9.
  const status = (buffer[9]! - 48) * 100 + (buffer[10]! - 48) * 10 + (buffer[11]! - 48);
  const bodyStart = headerEnd + HEADER_END.length;
  const contentLength = headerValue(buffer, headerEnd, CONTENT_LENGTH);
  if (contentLength !== null) {
    const end = bodyStart + Number(contentLength);
    if (buffer.length < end) return null;
    return { length: end, status, body: wantBody ? buffer.toString("utf8", bodyStart, end) : null };
  }
  if (/chunked/i.test(headerValue(buffer, headerEnd, TRANSFER_ENCODING) ?? "")) {
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

type HeaderName = { spellings: Buffer[]; pattern: RegExp };

/** Searched as bytes in the usual spellings first; a case-insensitive scan of the head otherwise. */
function headerName(lower: string): HeaderName {
  const title = lower.replace(/(^|-)([a-z])/g, (letters) => letters.toUpperCase());
  return {
    spellings: [title, lower].map((spelling) => Buffer.from(`\r\n${spelling}:`)),
    pattern: new RegExp(`\\r\\n${lower}:([^\\r]*)`, "i"),
  };
}
const CONTENT_LENGTH = headerName("content-length");
const TRANSFER_ENCODING = headerName("transfer-encoding");

function headerValue(buffer: Buffer, headerEnd: number, name: HeaderName): string | null {
  for (const spelling of name.spellings) {
    const at = buffer.indexOf(spelling);
    if (at >= 0 && at < headerEnd) {
      return buffer.toString("latin1", at + spelling.length, buffer.indexOf(CRLF, at + 2)).trim();
    }
  }
  const match = name.pattern.exec(buffer.toString("latin1", 0, headerEnd));
  return match ? match[1]!.trim() : null;
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

/** The bytes of one `POST` request with a JSON body (and any extra headers), built once and sent many times. */
export function jsonPostRequest(host: string, port: number, path: string, body: string, headers: Record<string, string> = {}): Uint8Array {
  const bodyBytes = Buffer.from(body);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\n${extra}` +
    `Content-Length: ${bodyBytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), bodyBytes]);
}
