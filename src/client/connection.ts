import { backoffDelay, type ReconnectPolicy } from "./backoff.ts";
import { brokerError, ClientErrorCodes, PubsubError } from "./errors.ts";
import type { InboundFrame } from "./wire.ts";

export type ConnectionOptions = {
  readonly url: URL;
  readonly reconnect: ReconnectPolicy;
  /** A PING goes out this often; no PONG within the same time and the socket counts as dead. */
  readonly heartbeatMs: number;
  /** Longest wait for the reply to a frame sent with `request`. */
  readonly requestTimeoutMs: number;
  readonly WebSocket: typeof WebSocket;
  readonly random?: () => number;
};

/** What the owner of a Connection is told. */
export type ConnectionHooks = {
  /** The socket opened, for the first time or again: re-attach what lives on it. */
  opened(epoch: number): void;
  /** The socket dropped. Without `willRetry`, nothing will reopen it unless `ensure()` is called again. */
  dropped(error: PubsubError, willRetry: boolean): void;
  /** Whether anything still needs the socket: if nothing does, a dropped one is not reopened. */
  wanted(): boolean;
  /** A frame that is not the answer to a `request`. */
  frame(frame: InboundFrame): void;
};

type Request = { resolve: (frame: InboundFrame) => void; reject: (error: PubsubError) => void; timer: ReturnType<typeof setTimeout> };

/**
 * The one WebSocket of a client, reopened with exponential backoff and jitter after it drops.
 * Each socket that opens gets a new `epoch`: anything tied to one socket (a delivery tag) is
 * known stale once the epoch moved on. The first attempt failing is not retried: a broker that
 * was never reached is more likely a wrong URL than a restart, and the caller should hear so.
 */
export class Connection {
  private socket: WebSocket | undefined;
  private state: "idle" | "connecting" | "open" | "waiting" | "closed" = "idle";
  private everOpened = false;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private readonly requests = new Map<string, Request>();
  private nextId = 0;
  private closedSignal: (() => void) | undefined;
  /** Counts the sockets that opened; 0 before the first. */
  epoch = 0;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {}

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Opens the socket unless it is open, opening, or waiting to retry. */
  ensure(): void {
    if (this.state === "idle") this.connect();
  }

  /** Sends a frame now if the socket is open; false if it is not (nothing is queued here). */
  send(text: string): boolean {
    if (this.state !== "open" || this.socket === undefined) return false;
    this.socket.send(text);
    return true;
  }

  /**
   * Sends a frame with a fresh `id` and resolves with the broker's reply naming it; rejects with
   * the broker's code on its ERROR, CONNECTION_LOST if the socket drops first, TIMEOUT after
   * `requestTimeoutMs`.
   */
  request(type: string, payload: Record<string, unknown> = {}): Promise<InboundFrame> {
    if (this.state !== "open" || this.socket === undefined) {
      return Promise.reject(new PubsubError(ClientErrorCodes.CONNECTION_LOST, `${type}: not connected to ${this.options.url.href}`));
    }
    const id = `r${++this.nextId}`;
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(new PubsubError(ClientErrorCodes.TIMEOUT, `${type}: no answer within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.requests.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ type, payload: { ...payload, id } }));
    });
  }

  /** Closes for good: no more retries; unanswered requests are rejected with CLOSED. */
  close(): Promise<void> {
    if (this.state === "closed") return Promise.resolve();
    const socket = this.state === "open" || this.state === "connecting" ? this.socket : undefined;
    this.state = "closed";
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    this.failRequests(new PubsubError(ClientErrorCodes.CLOSED, "the client was closed"));
    if (socket === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      // The close handshake normally takes a round trip; a dead peer must not hold close() up.
      const timer = setTimeout(resolve, 1_000);
      this.closedSignal = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.close(1000, "client closed");
    });
  }

  private connect(): void {
    this.state = "connecting";
    let socket: WebSocket;
    try {
      socket = new this.options.WebSocket(this.options.url.href);
    } catch (error) {
      // A malformed URL throws at once; treat it like a refused connection.
      queueMicrotask(() => this.lost(undefined, String(error)));
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.state = "open";
      this.epoch++;
      this.attempts = 0;
      this.everOpened = true;
      this.startHeartbeat();
      this.hooks.opened(this.epoch);
    };
    socket.onmessage = (event) => {
      if (socket === this.socket) this.receive(String(event.data));
    };
    socket.onclose = (event) => {
      if (socket === this.socket) this.lost(event.code, event.reason);
      else if (this.state === "closed") this.closedSignal?.();
    };
    // An error is always followed by close, which does the work.
    socket.onerror = () => {};
  }

  private receive(text: string): void {
    let frame: InboundFrame;
    try {
      frame = JSON.parse(text) as InboundFrame;
    } catch {
      return; // the broker sends JSON only; anything else is not ours to act on
    }
    const id = (frame as { payload?: { id?: unknown } }).payload?.id;
    const request = typeof id === "string" ? this.requests.get(id) : undefined;
    if (request === undefined || typeof id !== "string") return this.hooks.frame(frame);
    this.requests.delete(id);
    clearTimeout(request.timer);
    if (frame.type === "ERROR") request.reject(brokerError(frame.payload));
    else request.resolve(frame);
  }

  private lost(code: number | undefined, reason: string): void {
    this.socket = undefined;
    this.stopHeartbeat();
    if (this.state === "closed") return this.closedSignal?.();
    const detail = code === undefined ? reason : `close ${code}${reason ? ` ${reason}` : ""}`;
    const error = this.everOpened
      ? new PubsubError(ClientErrorCodes.CONNECTION_LOST, `connection to ${this.options.url.href} lost (${detail})`)
      : new PubsubError(ClientErrorCodes.UNREACHABLE, `cannot reach the broker at ${this.options.url.href}`);
    this.failRequests(error);
    const retry = this.everOpened && this.attempts < this.options.reconnect.maxAttempts && this.hooks.wanted();
    if (!retry) {
      // A later ensure() starts over, under the first attempt's rule again.
      this.state = "idle";
      this.everOpened = false;
      this.attempts = 0;
      return this.hooks.dropped(error, false);
    }
    this.state = "waiting";
    const delay = backoffDelay(this.attempts++, this.options.reconnect, this.options.random);
    this.retryTimer = setTimeout(() => {
      if (this.state === "waiting") this.connect();
    }, delay);
    this.hooks.dropped(error, true);
  }

  private failRequests(error: PubsubError): void {
    for (const request of this.requests.values()) {
      clearTimeout(request.timer);
      request.reject(error);
    }
    this.requests.clear();
  }

  /** A PING each period; a socket that misses a PONG for a whole period is dropped and reopened. */
  private startHeartbeat(): void {
    const period = this.options.heartbeatMs;
    if (!(period > 0) || !Number.isFinite(period)) return;
    let answered = true;
    this.heartbeatTimer = setInterval(() => {
      if (!answered) {
        const dead = this.socket;
        this.lost(undefined, `no PONG within ${period} ms`);
        dead?.close();
        return;
      }
      answered = false;
      this.request("PING").then(
        () => void (answered = true),
        () => {},
      );
    }, period);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
