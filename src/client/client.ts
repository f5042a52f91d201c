import { bindingsApi, exchangesApi, queuesApi, type BindingsApi, type ExchangesApi, type QueuesApi } from "./admin.ts";
import { DEFAULT_RECONNECT, type ReconnectPolicy } from "./backoff.ts";
import { Connection } from "./connection.ts";
import { ConsumerSession, type ConsumeOptions, type Consumer, type DeliveryHandler } from "./consumer.ts";
import { DeclaredTopology } from "./declared.ts";
import { brokerError, ClientErrorCodes, PubsubError } from "./errors.ts";
import { call, type HttpOptions } from "./http.ts";
import { Publisher, type Confirm } from "./publisher.ts";
import type { Session, SessionContext } from "./session.ts";
import { SubscriptionSession, type MessageHandler, type SubscribeOptions, type Subscription } from "./subscription.ts";
import { Tokens, type TokenSource } from "./tokens.ts";
import type { InboundFrame, Metrics, PublishFields, PublishResult } from "./wire.ts";

export type ClientOptions = {
  /**
   * An API key or a JWT, or a function that gets one, called for each new connection and each
   * renewal (when the broker sends TOKEN_EXPIRING, and before a JWT's own exp). REST calls send it
   * as `Authorization: Bearer`; the WebSocket sends AUTH with it first. None: nothing is sent (a
   * broker without users, from loopback).
   */
  token?: TokenSource;
  /** Retries after a dropped connection; see DEFAULT_RECONNECT. */
  reconnect?: Partial<ReconnectPolicy>;
  /** PING period; a socket without PONG for that long is dropped and reopened (default 15 s, 0: off). */
  heartbeatMs?: number;
  /** Longest wait for a REST answer or a reply frame (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest wait for a WebSocket publish's CONFIRM, across reconnects (default 30 s). */
  confirmTimeoutMs?: number;
  /**
   * After a reconnect, declare again the exchanges, queues and bindings declared through this
   * client (REST), before subscriptions, consumers and publishes resume: a broker restart loses
   * transient queues and their bindings. Default false. A refusal goes to onError; the rest goes on.
   */
  redeclare?: boolean;
  /** Told when the socket opens (after re-declaring, with `redeclare`) and when it drops. */
  onConnection?: (event: ConnectionEvent) => void;
  /** Errors nobody else hears of: a handler threw and its subscription has no onError, a stray ERROR frame. */
  onError?: (error: unknown) => void;
  /** For runtimes without globals, or tests. */
  WebSocket?: typeof WebSocket;
  fetch?: typeof fetch;
};

export type ConnectionEvent = { state: "open" } | { state: "lost"; error: PubsubError; willRetry: boolean };

/** Extra fields of one publish (`headers`, `ttl`, `delay`, `message_id`) and how it goes. */
export type PublishOptions = PublishFields & {
  /** `"websocket"` (default): many in flight, resolves on CONFIRM, resent after a reconnect. `"http"`: POST /publish. */
  transport?: "websocket" | "http";
};

export const DEFAULT_URL = "http://127.0.0.1:8060";

/**
 * A client of one broker: REST for administration, one WebSocket (opened when first needed, and
 * reopened after a drop) for publishing with confirms, subscribing and consuming.
 */
export class PubsubClient {
  readonly exchanges: ExchangesApi;
  readonly queues: QueuesApi;
  readonly bindings: BindingsApi;
  /** The broker's base URL. */
  readonly url: URL;
  private readonly http: HttpOptions;
  private readonly connection: Connection;
  private readonly publisher: Publisher;
  private readonly subscriptions = new Map<string, SubscriptionSession<any>>();
  private readonly consumers = new Map<string, ConsumerSession<any>>();
  private readonly context: SessionContext;
  /** What to declare again after a reconnect; undefined unless `redeclare`. */
  private readonly declared: DeclaredTopology | undefined;
  /** The epoch of the socket on which the re-declare is under way; sessions started meanwhile wait for it. */
  private redeclaringOn: number | undefined;
  private closing = false;

  constructor(url: string | URL | readonly (string | URL)[] = DEFAULT_URL, private readonly options: ClientOptions = {}) {
    // [CLUSTER-1] Several URLs: nodes of one cluster, tried in turn.
    const urls = (Array.isArray(url) ? url : [url]).map((u) => baseUrlOf(u as string | URL));
    if (urls.length === 0) throw new PubsubError("VALIDATION", "connect() needs at least one URL");
    this.url = urls[0]!;
    const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    const tokens = options.token === undefined ? undefined : new Tokens(options.token);
    this.http = { baseUrl: this.url, ...(urls.length > 1 && { baseUrls: urls }), fetch: fetchImpl, timeoutMs: options.requestTimeoutMs ?? 10_000, ...(tokens && { tokens }) };
    this.declared = options.redeclare === true ? new DeclaredTopology() : undefined;
    this.exchanges = exchangesApi(this.http, this.declared);
    this.queues = queuesApi(this.http, this.declared);
    this.bindings = bindingsApi(this.http, this.declared);
    this.connection = new Connection(
      {
        url: webSocketUrlOf(this.url),
        ...(urls.length > 1 && { urls: urls.map(webSocketUrlOf) }),
        reconnect: { ...DEFAULT_RECONNECT, ...options.reconnect },
        heartbeatMs: options.heartbeatMs ?? 15_000,
        requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
        WebSocket: options.WebSocket ?? globalThis.WebSocket,
        ...(tokens && { tokens }),
      },
      {
        opened: (epoch) => this.opened(epoch),
        dropped: (error, willRetry) => this.dropped(error, willRetry),
        wanted: () => this.subscriptions.size + this.consumers.size + this.publisher.outstanding > 0,
        frame: (frame) => this.frame(frame),
        report: (error) => this.report(error),
      },
    );
    this.publisher = new Publisher(this.connection, options.confirmTimeoutMs ?? 30_000);
    this.context = {
      connection: this.connection,
      report: (error) => this.report(error),
      remove: (session) => {
        if (this.subscriptions.get(session.queue) === session) this.subscriptions.delete(session.queue);
        if (this.consumers.get(session.queue) === session) this.consumers.delete(session.queue);
      },
    };
  }

  /** GET /ping: resolves when the broker answers. */
  async ping(): Promise<void> {
    await call(this.http, "GET", "/ping");
  }

  /** GET /metrics/json: the broker's counters and gauges (GET /metrics is the Prometheus text). */
  metrics(): Promise<Metrics> {
    return call(this.http, "GET", "/metrics/json");
  }

  /**
   * Publishes `payload` (any JSON value) to `exchange` with routing key `key`. Resolves once the
   * broker committed it for every durable queue it reached; rejects with a PubsubError carrying
   * the broker's code (`E002`, `Q005`, `FLOW_CONTROL` …). Over the WebSocket (default) the answer
   * is the CONFIRM; over HTTP, POST /publish's answer.
   */
  publish(exchange: string, key: string, payload: unknown, options?: PublishFields & { transport?: "websocket" }): Promise<Confirm>;
  publish(exchange: string, key: string, payload: unknown, options: PublishFields & { transport: "http" }): Promise<PublishResult>;
  publish(exchange: string, key: string, payload: unknown, options: PublishOptions = {}): Promise<Confirm | PublishResult> {
    const { transport = "websocket", ...fields } = options;
    if (this.closing) return Promise.reject(closedError());
    if (transport === "http") return call(this.http, "POST", "/publish", { body: { exchange_name: exchange, key, payload, ...fields } });
    return this.publisher.publish(exchange, key, payload, fields);
  }

  /** Publishes over the WebSocket not yet confirmed. */
  get outstandingConfirms(): number {
    return this.publisher.outstanding;
  }

  /**
   * Receives every message routed to `queue` while subscribed, in order, resuming after a dropped
   * connection from the last seq received. Resolves once the broker answered SUBSCRIBED; rejects
   * with its code (`Q002` no such queue) or UNREACHABLE when the first connection fails.
   * One subscription per queue per client.
   */
  subscribe<Body = unknown>(queue: string, handler: MessageHandler<Body>, options: SubscribeOptions<Body> = {}): Promise<Subscription> {
    if (this.closing) return Promise.reject(closedError());
    if (this.subscriptions.has(queue)) return Promise.reject(alreadyAttached("subscribed to", queue));
    const session = new SubscriptionSession<Body>(queue, handler, options, this.context);
    this.subscriptions.set(queue, session);
    this.start(session);
    return session.ready.promise;
  }

  /**
   * Takes a share of `queue`'s messages as a competing consumer, at most `prefetch` unacked at
   * once; re-attached after a dropped connection. Resolves once the broker answered CONSUMING.
   * One consumer per queue per client.
   */
  consume<Body = unknown>(queue: string, handler: DeliveryHandler<Body>, options: ConsumeOptions<Body> = {}): Promise<Consumer> {
    if (this.closing) return Promise.reject(closedError());
    if (this.consumers.has(queue)) return Promise.reject(alreadyAttached("consuming from", queue));
    const session = new ConsumerSession<Body>(queue, handler, options, this.context);
    this.consumers.set(queue, session);
    this.start(session);
    return session.ready.promise;
  }

  /**
   * Waits for the publishes still unconfirmed (up to `timeoutMs`, default 10 s; those still
   * unconfirmed then are rejected with CLOSED) and the consumers' handlers under way, then
   * closes the socket. Subscriptions and consumers end; their `closed` resolves.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.publisher.drained(), deadline]);
    await Promise.race([Promise.all([...this.consumers.values()].map((c) => c.close())), deadline]);
    clearTimeout(timer);
    this.publisher.failAll(closedError());
    for (const session of [...this.subscriptions.values(), ...this.consumers.values()]) session.end(undefined);
    await this.connection.close();
  }

  private start(session: Session): void {
    if (!this.connection.isOpen) return this.connection.ensure();
    // Re-declaring: resume() attaches every session, this one included, once its queue is back.
    if (this.redeclaringOn !== this.connection.epoch) session.attach();
  }

  private opened(epoch: number): void {
    const declared = this.declared;
    if (epoch === 1 || declared === undefined || declared.empty) return this.resume(epoch);
    // Publishes and SUBSCRIBEs wait: sent before their queue and bindings exist again, they would be
    // routed nowhere or refused with Q002.
    this.publisher.hold();
    this.redeclaringOn = epoch;
    void declared.redeclare(this.http, (error) => this.report(error)).then((created) => {
      // The socket dropped meanwhile: the next one declares again and resumes.
      if (this.connection.epoch !== epoch || !this.connection.isOpen || this.closing) return;
      for (const queue of created) this.subscriptions.get(queue)?.queueRecreated?.();
      this.resume(epoch);
    });
  }

  private resume(epoch: number): void {
    this.redeclaringOn = undefined;
    for (const session of [...this.subscriptions.values(), ...this.consumers.values()]) session.attach();
    this.publisher.opened(epoch);
    this.options.onConnection?.({ state: "open" });
  }

  private dropped(error: PubsubError, willRetry: boolean): void {
    if (!willRetry) {
      for (const session of [...this.subscriptions.values(), ...this.consumers.values()]) session.end(error);
      this.publisher.failAll(error);
    }
    this.options.onConnection?.({ state: "lost", error, willRetry });
  }

  private frame(frame: InboundFrame): void {
    switch (frame.type) {
      case "MESSAGE":
        if (frame.delivery_tag !== undefined) this.consumers.get(frame.queue)?.deliver(frame);
        else this.subscriptions.get(frame.queue)?.deliver(frame);
        return;
      case "MESSAGES": {
        const subscription = this.subscriptions.get(frame.queue);
        if (subscription !== undefined) for (const message of frame.messages) subscription.deliver(message);
        return;
      }
      case "GAP":
        this.subscriptions.get(frame.payload.queue_name)?.gap(frame.payload);
        return;
      case "CONFIRM":
        this.publisher.frame(frame);
        return;
      case "ERROR": {
        if (this.publisher.frame(frame)) return;
        const error = brokerError(frame.payload);
        const queue = frame.payload.queue_name;
        // The queue was deleted under its subscribers and consumers: they end with Q002.
        if (queue !== undefined && frame.payload.id === undefined) {
          this.subscriptions.get(queue)?.end(error);
          this.consumers.get(queue)?.end(error);
          return;
        }
        this.report(error);
        return;
      }
    }
  }

  private report(error: unknown): void {
    if (this.options.onError) this.options.onError(error);
    else console.error("pubsub client:", error);
  }
}

/** A client for the broker at `url` (default http://127.0.0.1:8060). Nothing is opened until used. */
export const connect = (url?: string | URL | readonly (string | URL)[], options?: ClientOptions): PubsubClient => new PubsubClient(url, options);

/** Accepts `http(s)://host:port[/prefix]`; in a browser, a path relative to the page too. */
function baseUrlOf(url: string | URL): URL {
  const page = (globalThis as { location?: { href: string } }).location?.href;
  const parsed = new URL(url, page);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new PubsubError(ClientErrorCodes.UNREACHABLE, `the broker URL must be http:// or https://, got ${parsed.href}`);
  }
  return parsed;
}

/** ws(s)://same-host/prefix/ws */
function webSocketUrlOf(base: URL): URL {
  const url = new URL(base.href);
  url.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/$/, "")}/ws`;
  url.search = "";
  url.hash = "";
  return url;
}

const closedError = (): PubsubError => new PubsubError(ClientErrorCodes.CLOSED, "the client was closed");
const alreadyAttached = (what: string, queue: string): PubsubError =>
  new PubsubError(ClientErrorCodes.ALREADY_ATTACHED, `this client is already ${what} "${queue}"; use another client for a second one`);
