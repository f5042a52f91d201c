/**
 * A WebSocket client over a raw TCP socket that counts messages without decoding them.
 *
 * Why not the `WebSocket` class: it builds a string and an event object per message, which on a
 * 2-core machine makes the subscriber, not the broker, the bottleneck. This client reads frame
 * headers and skips payloads; it keeps the first message's text so a run can check it.
 * It answers pings, and sends prebuilt masked frames (a fixed mask is legal for a benchmark).
 */
import type { Socket } from "bun";

/** The longest first message we keep for checking. */
const FIRST_MESSAGE_KEEP_BYTES = 2048;
const HEADER_END = Buffer.from("\r\n\r\n");
const OPCODE_CONTINUATION = 0x0;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

/** Owns one TCP connection speaking WebSocket. */
export class WireWebSocket {
  private socket: Socket<undefined> | null = null;
  private upgraded = false;
  private handshake: Buffer | null = null;
  private unwritten: Uint8Array | null = null;
  /** Header bytes of a frame split across reads. */
  private partialHeader: Buffer | null = null;
  /** Payload bytes of the current frame still to skip. */
  private remaining = 0;
  private frameOpcode = 0;
  private frameFin = false;
  private keep: Buffer[] | null = null;
  private messageOpcode = 0;

  /** Complete text or binary messages received. */
  messages = 0;
  firstMessage: string | null = null;
  closed = false;
  onDrain: (() => void) | null = null;

  static open(host: string, port: number, path: string): Promise<WireWebSocket> {
    const ws = new WireWebSocket();
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        ws.closed = true;
        if (!ws.upgraded) reject(error);
      };
      ws.whenUpgraded = () => resolve(ws);
      ws.whenFailed = fail;
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
          data: (_socket, chunk) => ws.onData(chunk),
          drain: () => ws.flush(),
          close: () => fail(new Error("closed before the upgrade")),
          error: (_socket, error) => fail(error),
        },
      }).catch(reject);
    });
  }

  private whenUpgraded: () => void = () => {};
  private whenFailed: (error: Error) => void = () => {};

  /** Writes prebuilt frames. False: the kernel buffer is full; wait for `onDrain`. */
  send(frames: Uint8Array): boolean {
    if (this.closed || !this.socket) return false;
    if (this.unwritten) {
      this.unwritten = Buffer.concat([this.unwritten, frames]);
      return false;
    }
    const written = this.socket.write(frames);
    if (written >= frames.length) return true;
    this.unwritten = frames.subarray(Math.max(0, written));
    return false;
  }

  get writable(): boolean {
    return !this.closed && this.unwritten === null;
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

  private onData(chunk: Buffer): void {
    if (!this.upgraded) {
      this.handshake = this.handshake ? Buffer.concat([this.handshake, chunk]) : Buffer.from(chunk);
      const end = this.handshake.indexOf(HEADER_END);
      if (end < 0) return;
      const statusLine = this.handshake.toString("latin1", 0, this.handshake.indexOf("\r\n"));
      if (!/^HTTP\/1\.1 101/.test(statusLine)) {
        this.whenFailed(new Error(`upgrade refused: ${statusLine}`));
        this.close();
        return;
      }
      this.upgraded = true;
      const rest = this.handshake.subarray(end + HEADER_END.length);
      this.handshake = null;
      this.whenUpgraded();
      if (rest.length > 0) this.readFrames(Buffer.from(rest));
      return;
    }
    this.readFrames(chunk);
  }

  private readFrames(chunk: Buffer): void {
    let at = 0;
    if (this.partialHeader) {
      chunk = Buffer.concat([this.partialHeader, chunk]);
      this.partialHeader = null;
    }
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        if (this.keep) this.keep.push(Buffer.from(chunk.subarray(at, at + take)));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      const available = chunk.length - at;
      if (available < 2) break;
      const b0 = chunk[at]!;
      const b1 = chunk[at + 1]!;
      const masked = (b1 & 0x80) !== 0;
      let length = b1 & 0x7f;
      let headerLength = 2;
      if (length === 126) headerLength = 4;
      else if (length === 127) headerLength = 10;
      if (masked) headerLength += 4;
      if (available < headerLength) break;
      if (length === 126) length = chunk.readUInt16BE(at + 2);
      else if (length === 127) length = Number(chunk.readBigUInt64BE(at + 2));
      at += headerLength;
      this.frameFin = (b0 & 0x80) !== 0;
      this.frameOpcode = b0 & 0x0f;
      if (this.frameOpcode !== OPCODE_CONTINUATION && this.frameOpcode < 0x8) this.messageOpcode = this.frameOpcode;
      const keepThis =
        this.frameOpcode >= 0x8 || (this.firstMessage === null && length <= FIRST_MESSAGE_KEEP_BYTES);
      this.keep = keepThis ? [] : null;
      this.remaining = length;
      if (length === 0) this.endFrame();
    }
    if (at < chunk.length) this.partialHeader = Buffer.from(chunk.subarray(at));
  }

  private endFrame(): void {
    const kept = this.keep ? Buffer.concat(this.keep) : null;
    this.keep = null;
    switch (this.frameOpcode) {
      case OPCODE_PING:
        this.send(clientFrame(OPCODE_PONG, kept ?? Buffer.alloc(0)));
        return;
      case OPCODE_CLOSE:
        this.close();
        return;
      case OPCODE_PONG:
        return;
    }
    if (!this.frameFin || this.messageOpcode === 0) return;
    this.messages += 1;
    if (this.firstMessage === null && kept) this.firstMessage = kept.toString("utf8");
  }
}

/** A masked client frame. */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const extended = payload.length < 126 ? 0 : payload.length < 65536 ? 2 : 8;
  const frame = Buffer.alloc(2 + extended + 4 + payload.length);
  frame[0] = 0x80 | opcode;
  if (extended === 0) frame[1] = 0x80 | payload.length;
  else if (extended === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(payload.length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  mask.copy(frame, 2 + extended);
  const start = 2 + extended + 4;
  for (let i = 0; i < payload.length; i++) frame[start + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

export function textFrame(text: string): Buffer {
  return clientFrame(0x1, Buffer.from(text));
}
