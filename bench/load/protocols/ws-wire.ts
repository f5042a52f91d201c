/**
 * A WebSocket client over a raw TCP socket that counts messages without decoding them.
 *
 * Why not the `WebSocket` class: it builds a string and an event object per message, which on a
 * 2-core machine makes the subscriber, not the broker, the bottleneck. This client reads frame
 * headers and skips payloads (ws-frame-reader.ts) unless a listener wants them, answers pings, and
 * sends prebuilt masked frames (one fixed mask: servers do not check it, and a benchmark needs no
 * more). Frames built per message (ids, acks, stamps) use the all-zero mask, which RFC 6455 allows
 * and which makes masking a copy.
 */
import type { Socket } from "bun";
import { WsFrameReader, type MessageListener } from "./ws-frame-reader.ts";

const HEADER_END = Buffer.from("\r\n\r\n");
const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
const MASK = Buffer.from([0x12, 0x34, 0x56, 0x78]);
const ZERO_MASK = Buffer.alloc(4);

/** Owns one TCP connection speaking WebSocket. */
export class WireWebSocket {
  private socket: Socket<undefined> | null = null;
  private handshake: Buffer | null = Buffer.alloc(0);
  private unwritten: Uint8Array | null = null;
  private readonly reader = new WsFrameReader((opcode, payload) => {
    if (opcode === OPCODE_PING) this.send(clientFrame(OPCODE_PONG, payload));
    else if (opcode === OPCODE_CLOSE) this.close();
  });
  closed = false;
  onDrain: (() => void) | null = null;
  onClose: (() => void) | null = null;
  /** Frames queued by `sendLater`, written together once the current turn of the event loop ends. */
  private corked: Uint8Array[] = [];

  private constructor() {}

  /**
   * Resolves once the server answered 101 Switching Protocols, and with a `token`, once it also
   * answered the AUTH frame sent first with AUTHENTICATED (pubsub with users or JWT keys). That
   * answer is not counted: `messages` and `firstMessage` start from the frame after it.
   */
  static async open(host: string, port: number, path: string, token?: string): Promise<WireWebSocket> {
    const ws = await WireWebSocket.upgrade(host, port, path);
    if (token !== undefined) await ws.authenticate(token);
    return ws;
  }

  private static upgrade(host: string, port: number, path: string): Promise<WireWebSocket> {
    const ws = new WireWebSocket();
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        ws.closed = true;
        reject(error); // No effect once resolved.
      };
      const upgraded = () => resolve(ws);
      Bun.connect({
        hostname: host,
        port,
        socket: {
          open: (socket) => {
            ws.socket = socket;
            const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
            socket.write(
              `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
            );
          },
          data: (_socket, chunk) => ws.onData(chunk, upgraded, fail),
          drain: () => ws.flush(),
          close: () => {
            fail(new Error("connection closed"));
            ws.onClose?.();
          },
          error: (_socket, error) => {
            fail(error);
            ws.onClose?.();
          },
        },
      }).catch(reject);
    });
  }

  /** Sends AUTH and waits for the broker's answer; rejects on anything but AUTHENTICATED. */
  private authenticate(token: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const closed = this.onClose;
      const done = () => {
        this.reader.onMessage = null;
        this.reader.messages = 0;
        this.reader.firstMessage = null;
        this.onClose = closed;
      };
      this.onClose = () => {
        done();
        reject(new Error("connection closed before AUTHENTICATED"));
        closed?.();
      };
      this.reader.onMessage = (payload) => {
        const answer = payload.toString("utf8", 0, Math.min(payload.length, 300));
        done();
        if (answer.includes('"AUTHENTICATED"')) resolve();
        else reject(new Error(`AUTH refused: ${answer}`));
      };
      this.send(textFrame(JSON.stringify({ type: "AUTH", payload: { token } })));
    });
  }

  /** Complete text or binary messages received. */
  get messages(): number {
    return this.reader.messages;
  }

  /** Count a MESSAGES frame as the messages it holds [BATCH-1]. */
  countBatches(): void {
    this.reader.countBatches = true;
  }

  get firstMessage(): string | null {
    return this.reader.firstMessage;
  }

  /** Every complete message's bytes (valid during the call only); null to only count. */
  set onMessage(listener: MessageListener | null) {
    this.reader.onMessage = listener;
  }

  get writable(): boolean {
    return !this.closed && this.unwritten === null;
  }

  /** Writes prebuilt frames; what the kernel does not take now goes out on drain. */
  send(frames: Uint8Array): void {
    if (this.closed || !this.socket) return;
    if (this.unwritten) {
      this.unwritten = Buffer.concat([this.unwritten, frames]);
      return;
    }
    const written = this.socket.write(frames);
    if (written < frames.length) this.unwritten = frames.subarray(Math.max(0, written));
  }

  /** Queues frames; all queued in this turn of the event loop go out in one write. */
  sendLater(frame: Uint8Array): void {
    if (this.corked.push(frame) === 1) queueMicrotask(() => this.uncork());
  }

  private uncork(): void {
    const frames = this.corked;
    this.corked = [];
    if (frames.length > 0) this.send(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  close(): void {
    this.closed = true;
    this.socket?.end();
  }

  private flush(): void {
    if (!this.unwritten || !this.socket) return;
    const written = this.socket.write(this.unwritten);
    this.unwritten = written >= this.unwritten.length ? null : this.unwritten.subarray(Math.max(0, written));
    if (!this.unwritten) this.onDrain?.();
  }

  private onData(chunk: Buffer, upgraded: () => void, fail: (error: Error) => void): void {
    if (this.handshake === null) {
      this.reader.feed(chunk);
      return;
    }
    this.handshake = Buffer.concat([this.handshake, chunk]);
    const end = this.handshake.indexOf(HEADER_END);
    if (end < 0) return;
    const statusLine = this.handshake.toString("latin1", 0, this.handshake.indexOf("\r\n"));
    if (!/^HTTP\/1\.1 101/.test(statusLine)) {
      fail(new Error(`upgrade refused: ${statusLine}`));
      this.close();
      return;
    }
    const rest = Buffer.from(this.handshake.subarray(end + HEADER_END.length));
    this.handshake = null;
    upgraded();
    if (rest.length > 0) this.reader.feed(rest);
  }
}

/** A masked client frame. */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const extended = payload.length < 126 ? 0 : payload.length < 65536 ? 2 : 8;
  const frame = Buffer.alloc(2 + extended + MASK.length + payload.length);
  frame[0] = 0x80 | opcode;
  if (extended === 0) frame[1] = 0x80 | payload.length;
  else if (extended === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(payload.length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  MASK.copy(frame, 2 + extended);
  const start = 2 + extended + MASK.length;
  for (let i = 0; i < payload.length; i++) frame[start + i] = payload[i]! ^ MASK[i & 3]!;
  return frame;
}

export function textFrame(text: string): Buffer {
  return clientFrame(OPCODE_TEXT, Buffer.from(text));
}

/** A text frame with the all-zero mask: the payload goes in as is (cheap to build per message). */
export function zeroMaskTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const start = 2 + extended + ZERO_MASK.length;
  const frame = Buffer.allocUnsafe(start + length);
  frame[0] = 0x80 | OPCODE_TEXT;
  if (extended === 0) frame[1] = 0x80 | length;
  else if (extended === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.fill(0, 2 + extended, start);
  frame.write(text, start, "utf8");
  return frame;
}
