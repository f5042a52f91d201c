/**
 * A WebSocket client on a bare TCP socket, for tests that need to see the wire itself: it can stop
 * reading (the kernel buffers fill, then the broker's), and afterwards tell whole frames from a
 * stream that ended mid-frame, and whether a close frame came.
 */
import type { Socket } from "bun";

export type RawFrame = { readonly opcode: number; readonly payload: Buffer };
/** What came over the wire after the handshake: whole frames, then any bytes of a cut-off frame. */
export type Wire = { readonly frames: RawFrame[]; readonly partialBytes: number };

export const Opcodes = { TEXT: 1, CLOSE: 8, PING: 9, PONG: 10 } as const;

export class RawWsClient {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private waiters: Array<() => void> = [];
  /** The peer closed the TCP connection (FIN or reset). */
  ended = false;

  private constructor(private socket: Socket<undefined> | undefined) {}

  /** Connects and completes the WebSocket handshake; frames sent by the broker are collected from then on. */
  static async open(port: number, path = "/ws"): Promise<RawWsClient> {
    let head = Buffer.alloc(0);
    let upgraded = false;
    const client = new RawWsClient(undefined);
    const handshake = Promise.withResolvers<void>();
    client.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_socket, chunk) {
          if (upgraded) return client.collect(Buffer.from(chunk));
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) return;
          if (!head.subarray(0, end).toString("latin1").startsWith("HTTP/1.1 101")) {
            return handshake.reject(new Error(`no upgrade: ${head.subarray(0, end).toString("latin1")}`));
          }
          upgraded = true;
          handshake.resolve();
          if (head.length > end + 4) client.collect(head.subarray(end + 4));
        },
        close() {
          client.ended = true;
          client.wake();
          handshake.reject(new Error("closed during the handshake"));
        },
        error() {
          client.ended = true;
          client.wake();
        },
      },
    });
    client.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await handshake.promise;
    return client;
  }

  /** Sends one masked text frame. */
  send(frame: unknown): void {
    const payload = Buffer.from(typeof frame === "string" ? frame : JSON.stringify(frame));
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const length = payload.length < 126 ? [payload.length] : payload.length < 65_536 ? [126, payload.length >> 8, payload.length & 255] : undefined;
    if (length === undefined) throw new Error("frames over 64 KiB are not needed here");
    const header = Buffer.from([0x81, 0x80 | length[0]!, ...length.slice(1), ...mask]);
    const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
    this.socket!.write(Buffer.concat([header, masked]));
  }

  /** Stops reading from the socket: the broker sees TCP backpressure. */
  pause(): void {
    this.socket!.pause();
  }

  resume(): void {
    this.socket!.resume();
  }

  close(): void {
    this.socket?.terminate();
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Parses everything received so far. */
  wire(): Wire {
    const bytes = Buffer.concat(this.chunks);
    const frames: RawFrame[] = [];
    let at = 0;
    for (;;) {
      const frame = frameAt(bytes, at);
      if (frame === undefined) break;
      frames.push({ opcode: frame.opcode, payload: bytes.subarray(frame.start, frame.end) });
      at = frame.end;
    }
    return { frames, partialBytes: bytes.length - at };
  }

  /** Text frames parsed as JSON. */
  jsonFrames(): any[] {
    return this.wire()
      .frames.filter((f) => f.opcode === Opcodes.TEXT)
      .map((f) => JSON.parse(f.payload.toString("utf8")));
  }

  /** The close frame's code, if one came. */
  closeCode(): number | undefined {
    const close = this.wire().frames.find((f) => f.opcode === Opcodes.CLOSE);
    return close === undefined || close.payload.length < 2 ? undefined : close.payload.readUInt16BE(0);
  }

  /** Waits until `predicate()` holds or the connection ended; false if neither within `ms`. */
  async until(predicate: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (this.ended || Date.now() > deadline) return predicate();
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return true;
  }

  private collect(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The frame starting at `at`, if all of it is there. Frames from a server are never masked. */
function frameAt(bytes: Buffer, at: number): { opcode: number; start: number; end: number } | undefined {
  if (bytes.length < at + 2) return undefined;
  const opcode = bytes[at]! & 0x0f;
  const short = bytes[at + 1]! & 0x7f;
  let start = at + 2;
  let length = short;
  if (short === 126) {
    if (bytes.length < at + 4) return undefined;
    length = bytes.readUInt16BE(at + 2);
    start = at + 4;
  } else if (short === 127) {
    if (bytes.length < at + 10) return undefined;
    length = Number(bytes.readBigUInt64BE(at + 2));
    start = at + 10;
  }
  const end = start + length;
  return end <= bytes.length ? { opcode, start, end } : undefined;
}
