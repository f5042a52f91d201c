/**
 * A WebSocket client for the fuzzer: keeps every frame, including ones that are not JSON (the
 * broker must never send those), and awaits replies with a deadline.
 */
import { ANSWER_BOUND_MS } from "./settings.ts";

export type Frame = { type?: string; payload?: any; [key: string]: unknown };

export class FuzzSocket {
  readonly frames: Frame[] = [];
  readonly notJson: string[] = [];
  closeCode: number | undefined;
  closeReason = "";
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
      try {
        this.frames.push(JSON.parse(text));
      } catch {
        this.notJson.push(text);
      }
      this.wake();
    };
    ws.onclose = (event) => {
      this.closeCode = event.code;
      this.closeReason = event.reason;
      this.wake();
    };
  }

  static open(url: string): Promise<FuzzSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const socket = new FuzzSocket(ws);
      const timer = setTimeout(() => reject(new Error(`could not open ${url} within ${ANSWER_BOUND_MS} ms`)), ANSWER_BOUND_MS);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(socket);
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`could not open ${url}`));
      };
    });
  }

  get open(): boolean {
    return this.closeCode === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): void {
    if (typeof frame === "string") this.ws.send(frame);
    else if (frame instanceof Uint8Array) this.ws.send(new Uint8Array(frame));
    else this.ws.send(JSON.stringify(frame));
  }

  /** The first frame at index ≥ `from` that matches, or undefined once `ms` passed or the socket closed. */
  async next(match: (frame: Frame) => boolean, from = 0, ms = ANSWER_BOUND_MS): Promise<Frame | undefined> {
    const deadline = performance.now() + ms;
    for (;;) {
      for (let i = from; i < this.frames.length; i++) if (match(this.frames[i]!)) return this.frames[i];
      if (this.closeCode !== undefined || performance.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  /** Sends a PING with a fresh id and waits for its PONG: proves the socket still answers. */
  async ping(ms = ANSWER_BOUND_MS): Promise<boolean> {
    const id = `ping-${Math.random().toString(36).slice(2)}`;
    const from = this.frames.length;
    this.send({ type: "PING", payload: { id } });
    return (await this.next((f) => f.type === "PONG" && f.payload?.id === id, from, ms)) !== undefined;
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
