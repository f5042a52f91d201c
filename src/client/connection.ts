import { backoffDelay, type ReconnectPolicy } from "./backoff.ts";
import { AUTH_ERROR_CODES, brokerError, ClientErrorCodes, PubsubError } from "./errors.ts";
import { Renewal } from "./renewal.ts";
import type { Tokens } from "./tokens.ts";
import type { InboundFrame } from "./wire.ts";

/** The broker's close codes for authentication (README, "WebSocket protocol"). */
export const AuthCloseCodes = {
  /** Not authenticated: a refused credential, none sent, or its user or key was removed. */
  UNAUTHORIZED: 4001,
  /** The token expired and no AUTH renewed it. */
  TOKEN_EXPIRED: 4011,
} as const;

/**
 * Refused credentials are retried slowly and a few times only: the broker counts failures per
 * address (its AUTH_FAILURES_FREE, 5 by default) and then refuses everyone on it for a while, so
 * a client must not spend them in a reconnect loop. Three tries, a second apart, then doubling.
 */
export const AUTH_RETRY: ReconnectPolicy = { initialDelayMs: 1_000, maxDelayMs: 5_000, maxAttempts: 3 };

export type ConnectionOptions = {
  readonly url: URL;
  /** [CLUSTER-1] Nodes of one cluster, `url` first: each drop reconnects to the next. */
  readonly urls?: readonly URL[];
  readonly reconnect: ReconnectPolicy;
  /** A PING goes out this often; no PONG within the same time and the socket counts as dead. */
  readonly heartbeatMs: number;
  /** Longest wait for the reply to a frame sent with `request`. */
  readonly requestTimeoutMs: number;
  readonly WebSocket: typeof WebSocket;
  /** Each socket sends AUTH with a token from here first, and is open only once AUTHENTICATED. None: no AUTH (the seed's protocol). */
  readonly tokens?: Tokens;
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
  /** An error nobody waits for: a token renewal that failed (the socket lives on until the token's exp). */
  report(error: unknown): void;
};

type Request = { resolve: (frame: InboundFrame) => void; reject: (error: PubsubError) => void; timer: ReturnType<typeof setTimeout> };

/**
 * The one WebSocket of a client, reopened with exponential backoff and jitter after it drops.
 * Each socket that opens gets a new `epoch`: anything tied to one socket (a delivery tag) is
 * known stale once the epoch moved on. The first attempt failing is not retried: a broker that
 * was never reached is more likely a wrong URL than a restart, and the caller should hear so.
 *
 * With `tokens`, a socket is open only once the broker answered its AUTH: the token is asked for
 * before the socket is made (the broker's AUTH deadline starts at the upgrade), and nothing else
 * is sent, re-attached or re-published before AUTHENTICATED. A refused credential (4001) is not
 * a dropped connection: it is retried under AUTH_RETRY with a fresh token from a function, not at
 * all with a string, then reported with the broker's code (`TOKEN_INVALID`, `UNAUTHORIZED` …).
 * An expired one (4011) reconnects with a fresh token.
 */
export class Connection {
  private socket: WebSocket | undefined;
  private state: "idle" | "connecting" | "authenticating" | "open" | "waiting" | "closed" = "idle";
  private everOpened = false;
  private attempts = 0;
  /** Refused credentials in a row. */
  private authFailures = 0;
  /** The broker's last word on authentication on this socket (the ERROR before a 4001). */
  private authError: PubsubError | undefined;
  private renewal: Renewal | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private readonly requests = new Map<string, Request>();
  private nextId = 0;
  private closedSignal: (() => void) | undefined;
  /** Counts the sockets that opened; 0 before the first. */
  epoch = 0;
  /** Which of the URLs the socket goes to. */
  private at = 0;
  /** URLs not yet tried in a first round: a first attempt is retried only on another node. */
  private untried = 0;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {}

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Opens the socket unless it is open, opening, or waiting to retry. */
  ensure(): void {
    if (this.state !== "idle") return;
    this.untried = this.urls.length - 1;
    this.connect();
  }

  private get urls(): readonly URL[] {
    return this.options.urls ?? [this.options.url];
  }

  /** The URL the socket goes (or went) to. */
  private get url(): URL {
    return this.urls[this.at % this.urls.length]!;
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
      return Promise.reject(new PubsubError(ClientErrorCodes.CONNECTION_LOST, `${type}: not connected to ${this.url.href}`));
    }
    return this.ask(this.socket, type, payload);
  }

  private ask(socket: WebSocket, type: string, payload: Record<string, unknown>): Promise<InboundFrame> {
    const id = `r${++this.nextId}`;
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
    const socket = this.state === "open" || this.state === "connecting" || this.state === "authenticating" ? this.socket : undefined;
    this.state = "closed";
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    // Not left to the close event, which a dead peer may never send: a timer must not outlive the client.
    this.renewal?.stop();
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
    const tokens = this.options.tokens;
    if (tokens === undefined) return this.open(undefined);
    tokens.fresh().then(
      (token) => {
        if (this.state === "connecting") this.open(token);
      },
      (error: PubsubError) => {
        if (this.state === "connecting") this.refused(error);
      },
    );
  }

  private open(token: string | undefined): void {
    let socket: WebSocket;
    try {
      socket = new this.options.WebSocket(this.url.href);
    } catch (error) {
      // A malformed URL throws at once; treat it like a refused connection.
      queueMicrotask(() => this.lost(undefined, String(error)));
      return;
    }
    this.socket = socket;
    this.authError = undefined;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.everOpened = true;
      if (token === undefined) return this.authenticated(socket, undefined, null);
      this.state = "authenticating";
      this.ask(socket, "AUTH", { token }).then(
        (answer) => this.authenticated(socket, token, expiresAtOf(answer)),
        (error: PubsubError) => {
          if (socket !== this.socket || error.code === ClientErrorCodes.CONNECTION_LOST) return;
          // No answer: drop the socket and retry as after any drop.
          if (error.code === ClientErrorCodes.TIMEOUT) return socket.close();
          // Refused (TOKEN_INVALID, RATE_LIMITED while the broker backs off …). The broker closes
          // with 4001 next; not waiting for it also ends a broker that refuses AUTH but stays open.
          this.socket = undefined;
          socket.close();
          this.refused(error);
        },
      );
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

  /** The socket may carry traffic now: AUTHENTICATED came, or no token is used. */
  private authenticated(socket: WebSocket, token: string | undefined, expiresAt: number | null): void {
    if (socket !== this.socket || this.state === "closed") return;
    this.state = "open";
    this.epoch++;
    this.attempts = 0;
    this.authFailures = 0;
    const tokens = this.options.tokens;
    if (tokens !== undefined && token !== undefined) {
      this.renewal = new Renewal(
        tokens,
        async (fresh) => expiresAtOf(await this.request("AUTH", { token: fresh })),
        (error) => this.hooks.report(error),
        token,
        expiresAt,
      );
    }
    this.startHeartbeat();
    this.hooks.opened(this.epoch);
  }

  private receive(text: string): void {
    let frame: InboundFrame;
    try {
      frame = JSON.parse(text) as InboundFrame;
    } catch {
      return; // the broker sends JSON only; anything else is not ours to act on
    }
    if (frame.type === "TOKEN_EXPIRING") return this.renewal?.notice(frame.payload.expires_at);
    if (frame.type === "ERROR" && AUTH_ERROR_CODES.has(frame.payload.code as PubsubError["code"])) this.authError = brokerError(frame.payload);
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
    this.renewal?.stop();
    this.renewal = undefined;
    if (this.state === "closed") return this.closedSignal?.();
    if (code === AuthCloseCodes.UNAUTHORIZED) return this.refused(this.authRefusal());
    // A string cannot be renewed: reconnecting with it would only be refused.
    if (code === AuthCloseCodes.TOKEN_EXPIRED && this.options.tokens?.renewable === false) {
      return this.refused(new PubsubError("TOKEN_EXPIRED", `the token expired (close 4011) and a string token cannot be renewed: give connect() a function as its token`));
    }
    const detail = code === undefined ? reason : `close ${code}${reason ? ` ${reason}` : ""}`;
    const error = this.everOpened
      ? new PubsubError(ClientErrorCodes.CONNECTION_LOST, `connection to ${this.url.href} lost (${detail})`)
      : new PubsubError(ClientErrorCodes.UNREACHABLE, `cannot reach the broker at ${this.url.href}`);
    this.failRequests(error);
    // [CLUSTER-1] The next node, at once, while a first round has nodes left; after a drop, the next one at each retry.
    if (this.urls.length > 1) this.at++;
    if (!this.everOpened && this.untried > 0 && this.hooks.wanted()) {
      this.untried--;
      return this.connect();
    }
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

  /** What the broker said before closing with 4001, or what 4001 means. */
  private authRefusal(): PubsubError {
    if (this.authError !== undefined) {
      if (this.options.tokens !== undefined) return this.authError;
      return new PubsubError(this.authError.code, `${this.authError.message} (this client has no token: give connect() one)`);
    }
    return new PubsubError("UNAUTHORIZED", `the broker at ${this.url.href} refused the connection's credentials (close 4001)`);
  }

  /**
   * The credential was refused, or no token could be had. Retried (with a fresh token) only when
   * the source is a function, under AUTH_RETRY; a string, or no token, fails at once.
   */
  private refused(error: PubsubError): void {
    this.socket = undefined;
    this.failRequests(error);
    const retry = this.options.tokens?.renewable === true && ++this.authFailures < AUTH_RETRY.maxAttempts && this.hooks.wanted();
    if (!retry) {
      this.state = "idle";
      this.everOpened = false;
      this.attempts = 0;
      this.authFailures = 0;
      return this.hooks.dropped(error, false);
    }
    this.state = "waiting";
    const delay = backoffDelay(this.authFailures - 1, AUTH_RETRY, this.options.random);
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

/** The broker's `expires_at` in an AUTHENTICATED answer: ms since the epoch, null for a credential that does not expire. */
const expiresAtOf = (answer: InboundFrame): number | null => {
  const value = answer.type === "AUTHENTICATED" ? answer.payload.expires_at : undefined;
  return typeof value === "number" ? value : null;
};
