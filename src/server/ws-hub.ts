import type { Broker, PublishResult, SubscribeResult } from "../broker/broker.ts";
import type { ConsumerFields, DeliverySink, QueueRef } from "../broker/delivery-sink.ts";
import { ErrorCodes, fail, type BrokerError, type ErrorCode, type Result } from "../core/errors.ts";
import type { Entry } from "../core/queue.ts";
import { deliveryFrame, errorFrame, lastFrameBytes, replyFrame } from "./frames.ts";
import { Outbox } from "./outbox.ts";
import { decodeUtf8 } from "./json-text.ts";
import { bunBackpressureLimit, FanOut, SLOW_SUBSCRIBER } from "./fan-out.ts";
import { SLOW_CLOSE_GRACE_MS } from "./limits.ts";
import { frameIdOf, parseClientFrame, type ClientFrame } from "./ws-frames.ts";
import type { Logger } from "../log.ts";
import { check, deadLetterNeeds, FRAME_ACCESS, unrestricted, type Need } from "./access.ts";
import { ANONYMOUS, type EdgeAnswer, type Identified } from "./auth-edge.ts";
import { TOKEN_REFRESH_NOTICE_MS } from "./limits.ts";

/** Frames a socket may send while its AUTH is being checked (an argon2 verify can take 50 ms); past it, 4001. */
const MAX_FRAMES_WAITING_FOR_AUTH = 256;
/** setTimeout fires at once past 2^31-1 ms (~24.8 days): a far deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
function later(task: () => void, at: number, keep: (timer: ReturnType<typeof setTimeout>) => void): void {
  const wait = at - Date.now();
  keep(wait > MAX_TIMER_MS ? setTimeout(() => later(task, at, keep), MAX_TIMER_MS) : setTimeout(task, Math.max(0, wait)));
}

/** How the hub checks AUTH frames: the edge's verify (counts failures per address), the deadline, whether AUTH is required. */
export type HubAuth = { verify(token: string, remote: string | undefined): Promise<EdgeAnswer>; timeoutMs: number; required: boolean };
import { CloseCodes, consumerOf, type Socket, type SocketState } from "./ws-session.ts";

/**
 * The WebSocket side of the broker: Bun's raw handlers (Elysia's wrapper halves throughput),
 * subscribers fed through Bun's native topics while they keep up (fan-out.ts), consumers fed one
 * socket at a time. It is the broker's delivery sink: it encodes each message here, once for all
 * subscribers of a queue. Made by Broker.start, with the broker it carries commands to.
 */
/** A WebSocket connection as GET /connections shows it. */
export type ConnectionView = {
  id: string;
  /** Who it authenticated as; null while it has not yet. */
  user: string | null;
  remote_address: string | null;
  opened_at: number;
  subscriptions: { queue: string }[];
  consumers: { id: string; queue: string; prefetch: number; unacked: number }[];
  unacked: number;
  buffered_bytes: number;
};

export class WsHub implements DeliverySink {
  private readonly sockets = new Set<Socket>();
  private readonly fanOut: FanOut<SocketState>;
  private readonly consumers = new Map<string, { ws: Socket; queue: string; prefetch: number }>();
  /** Connections since start, for /metrics. */
  opened = 0;
  closed = 0;
  /** Subscribers cut for being slow, detached, waiting to have written out what they hold. */
  private readonly cut = new Map<Socket, ReturnType<typeof setTimeout>>();
  /** [CORK-1] Answers sent from promise callbacks (outside the socket's handler), written corked. */
  private readonly outbox = new Outbox<SocketState>();
  /** [HIST-2] Subscriptions waiting for their queue's stored history, per socket, by queue. */
  private readonly subscribing = new Map<Socket, Map<string, Promise<unknown>>>();

  constructor(
    private readonly broker: Broker,
    private readonly maxBufferBytes: number,
    private readonly logger?: Logger,
    private readonly auth?: HubAuth,
  ) {
    this.fanOut = new FanOut(maxBufferBytes, (ws) => this.cutSlow(ws));
  }

  /** Bun's `backpressureLimit` for these sockets: beyond what the hub ever lets a subscriber buffer. */
  bunBackpressureLimit(maxFrameBytes: number): number {
    return bunBackpressureLimit(this.maxBufferBytes, maxFrameBytes);
  }

  get connections(): number {
    return this.sockets.size;
  }

  // ---- DeliverySink ---------------------------------------------------------------------------

  toSubscribers(queue: QueueRef, entry: Entry): boolean {
    const frame = deliveryFrame(queue, entry);
    return this.fanOut.broadcast(queue.name, frame, lastFrameBytes(queue, entry));
  }

  toConsumer(consumer: string, queue: QueueRef, entry: Entry, fields: ConsumerFields): void {
    const target = this.consumers.get(consumer);
    if (target === undefined) return;
    target.ws.data.tags.set(fields.tag, target.queue);
    target.ws.send(deliveryFrame(queue, entry, fields));
  }

  revoke(consumer: string, tag: number): void {
    this.consumers.get(consumer)?.ws.data.tags.delete(tag);
  }

  detachAll(queue: string, reason: string): void {
    const notice = errorFrame(ErrorCodes.QUEUE_NOT_FOUND, `queue "${queue}" was deleted: ${reason}`, { queue_name: queue });
    const told = new Set<Socket>();
    for (const ws of this.fanOut.removeQueue(queue)) {
      ws.data.queues.delete(queue);
      told.add(ws);
    }
    for (const [id, target] of [...this.consumers]) {
      if (target.queue !== queue) continue;
      this.consumers.delete(id);
      target.ws.data.consuming.delete(queue);
      this.dropTags(target.ws, queue);
      told.add(target.ws);
    }
    for (const ws of told) ws.send(notice);
  }

  // ---- socket events --------------------------------------------------------------------------

  open(ws: Socket): void {
    this.sockets.add(ws);
    this.opened++;
    this.logger?.info("connection.open", { connection: ws.data.connection, remote: ws.data.remoteAddress, user: ws.data.caller?.user });
    // A hub without authentication (tests, AUTH=none wiring) lets everyone in; with it, the edge decided at the upgrade.
    if (ws.data.caller === undefined && this.auth === undefined) ws.data.caller = ANONYMOUS;
    if (ws.data.caller !== undefined) return this.watchExpiry(ws);
    // [AUTH-2] No credential on the upgrade: AUTH must come first, and soon.
    const timeoutMs = this.auth?.timeoutMs ?? 0;
    ws.data.authTimer = setTimeout(() => this.refuse(ws, `no AUTH within ${timeoutMs} ms (AUTH_TIMEOUT_MS)`), timeoutMs);
  }

  message(ws: Socket, raw: string | Buffer): void {
    // [FLOW-1] Behind frames deferred to a later turn: in order. Bun reads no more once paused.
    if (ws.data.inbox !== undefined) return void ws.data.inbox.push(raw);
    this.take(ws, raw, false);
  }

  /** One frame, now, or (`force` aside) in a later turn if this turn's fan-out is saturated. `closing`: see close(). */
  private take(ws: Socket, raw: string | Buffer, force: boolean, closing = false): void {
    // Frames after an AUTH still being checked wait for it, in order (a bounded number).
    if (ws.data.waitingForAuth !== undefined) {
      if (ws.data.waitingForAuth.length >= MAX_FRAMES_WAITING_FOR_AUTH) return this.refuse(ws, `more than ${MAX_FRAMES_WAITING_FOR_AUTH} frames sent before AUTH was answered`);
      return void ws.data.waitingForAuth.push(raw);
    }
    if (!force && this.fanOut.saturated) {
      ws.data.inbox = [raw];
      ws.pause();
      return this.fanOut.afterTurn(() => this.readInbox(ws));
    }
    this.read(ws, raw, closing);
  }

  /**
   * [FLOW-1] A paused socket's deferred frames, in order, until the turn saturates again; then
   * reading resumes. A frame may close the socket (a slow-subscriber cut, a refusal): Bun would
   * deliver nothing after that, so the rest is dropped too.
   */
  private readInbox(ws: Socket): void {
    const inbox = ws.data.inbox;
    if (inbox === undefined || !this.sockets.has(ws)) return;
    ws.data.inbox = undefined;
    for (let i = 0; i < inbox.length; i++) {
      if (!this.sockets.has(ws)) return;
      if (this.fanOut.saturated) {
        ws.data.inbox = inbox.slice(i);
        return this.fanOut.afterTurn(() => this.readInbox(ws));
      }
      this.take(ws, inbox[i]!, true);
    }
    if (this.sockets.has(ws)) ws.resume();
  }

  private read(ws: Socket, raw: string | Buffer, closing = false): void {
    // [AUTH-2] Nothing but AUTH before AUTH: a binary frame is read as text below, so check it there too.
    try {
      // A binary frame is read as the same JSON text, but strictly: invalid UTF-8 is refused, never replaced [UTF8-2].
      const text = typeof raw === "string" ? raw : decodeUtf8(raw);
      if (text === null) {
        if (ws.data.caller === undefined) return this.refuse(ws, "send AUTH first (an API key or a JWT)");
        return void ws.send(errorFrame(ErrorCodes.BAD_JSON, "binary frame is not valid UTF-8"));
      }
      const parsed = parseClientFrame(text);
      if (parsed.ok && parsed.value.type === "AUTH") return this.authenticate(ws, parsed.value);
      // [AUTH-2] Nothing but AUTH before AUTH.
      if (ws.data.caller === undefined) return this.refuse(ws, "send AUTH first (an API key or a JWT)", frameIdOf(text));
      if (!parsed.ok) {
        // [ERROR-ID-1] A refused frame's ERROR names its id, so a client with many in flight knows which one failed.
        const id = frameIdOf(text);
        return void ws.send(errorFrame(parsed.error.code, parsed.error.message, id === undefined ? {} : { id }));
      }
      // [FLOW-1] At the close, only what still means something once the connection is gone: its
      // publishes, acks and declares. A subscription, a consumer or an exclusive queue made now
      // would outlive it (its cleanup has run, or runs before an async declare lands).
      if (closing && !meaningfulAtClose(parsed.value)) return;
      this.handle(ws, parsed.value);
    } catch (error) {
      // A bug in one frame's handling must cost that frame, not the broker.
      this.logger?.error("frame.failed", { connection: ws.data.connection, msg: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      ws.send(errorFrame(ErrorCodes.INTERNAL, "internal error"));
    }
  }

  private handle(ws: Socket, frame: ClientFrame): void {
    // [SLOW-1] A subscriber cut for being slow only waits for its close frame.
    if (this.cut.has(ws)) return;
    // [AUTH-1] What the frame touches, against the connection's permissions (nothing to build for full access).
    const caller = ws.data.caller;
    if (caller !== undefined && !unrestricted(caller)) {
      const denied = this.denied(ws, (FRAME_ACCESS[frame.type] as (f: ClientFrame) => readonly Need[])(frame));
      if (denied !== undefined) return void ws.send(errorFrame(denied.code, denied.message, frame.id === undefined ? {} : { id: frame.id }));
    }
    // The hot frame, without the closures the others share.
    if (frame.type === "PUBLISH") return this.publish(ws, frame);
    const { broker } = this;
    const withId = frame.id === undefined ? {} : { id: frame.id };
    const reject = (error: BrokerError): void => void ws.send(errorFrame(error.code, error.message, withId));
    const reply = (type: string, payload: Record<string, unknown>): void => {
      if (frame.id !== undefined) ws.send(replyFrame(type, { ...payload, ...withId }));
    };
    switch (frame.type) {
      case "SUBSCRIBE": {
        if (ws.data.queues.has(frame.queue)) return reply("SUBSCRIBED", { queue_name: frame.queue });
        const waiting = this.subscribing.get(ws)?.get(frame.queue);
        // A repeat while the first waits for its history: handled once that one is.
        if (waiting !== undefined) return void waiting.then(() => this.sockets.has(ws) && this.handle(ws, frame));
        const pending = this.subscribing.get(ws) ?? new Map<string, Promise<unknown>>();
        // [HIST-2] With a replay from the store, the rest happens in the turn that made it (ready).
        const subscribed = broker.subscribe(frame.queue, ws.data.connection, frame.since, (result) => {
          pending.delete(frame.queue);
          if (this.sockets.has(ws)) this.subscribed(ws, frame, result, reply, reject);
        });
        if (!(subscribed instanceof Promise)) return this.subscribed(ws, frame, subscribed, reply, reject);
        this.subscribing.set(ws, pending);
        const done = subscribed.then(
          () => undefined,
          (error) => {
            pending.delete(frame.queue);
            if (this.sockets.has(ws)) reject({ code: ErrorCodes.STORE_UNAVAILABLE, message: `reading the queue's history failed: ${error instanceof Error ? error.message : String(error)}` });
          },
        );
        pending.set(frame.queue, done);
        return;
      }

      case "UNSUBSCRIBE": {
        const waiting = this.subscribing.get(ws)?.get(frame.queue);
        if (waiting !== undefined) return void waiting.then(() => this.sockets.has(ws) && this.handle(ws, frame));
        if (!ws.data.queues.has(frame.queue)) {
          return reject({ code: ErrorCodes.SUBSCRIPTION_NOT_FOUND, message: `not subscribed to queue "${frame.queue}"` });
        }
        this.unsubscribe(ws, frame.queue);
        return reply("UNSUBSCRIBED", { queue_name: frame.queue });
      }
      case "CONSUME": {
        const consumer = consumerOf(ws, frame.queue);
        this.consumers.set(consumer, { ws, queue: frame.queue, prefetch: frame.prefetch });
        ws.data.consuming.add(frame.queue);
        // [CONSUME-1] CONSUMING only for a queue that took the consumer (no CONSUMING-then-ERROR), before any delivery.
        const consumed = broker.consume(consumer, frame.queue, ws.data.connection, frame.prefetch, () =>
          reply("CONSUMING", { queue_name: frame.queue, prefetch: frame.prefetch }),
        );
        if (!consumed.ok) {
          this.consumers.delete(consumer);
          ws.data.consuming.delete(frame.queue);
          return reject(consumed.error);
        }
        return;
      }
      case "CANCEL": {
        if (!ws.data.consuming.has(frame.queue)) {
          return reject({ code: ErrorCodes.SUBSCRIPTION_NOT_FOUND, message: `not consuming from queue "${frame.queue}"` });
        }
        this.cancel(ws, frame.queue);
        return reply("CANCELLED", { queue_name: frame.queue });
      }
      case "ACK":
      case "NACK": {
        const queue = ws.data.tags.get(frame.tag);
        if (queue === undefined) {
          return reject({ code: ErrorCodes.UNKNOWN_DELIVERY_TAG, message: `unknown delivery tag ${frame.tag} (already acknowledged, or never delivered here)` });
        }
        ws.data.tags.delete(frame.tag);
        const consumer = consumerOf(ws, queue);
        const done = frame.type === "ACK" ? broker.ack(consumer, queue, frame.tag) : broker.nack(consumer, queue, frame.tag, frame.requeue);
        if (!done.ok) return reject(done.error);
        return reply(frame.type === "ACK" ? "ACKED" : "NACKED", { delivery_tag: frame.tag });
      }
      case "DECLARE_QUEUE": {
        const name = frame.name ?? `amq.gen-${crypto.randomUUID()}`;
        const named = frame.name !== undefined ? undefined : this.denied(ws, [{ kind: "resource", action: "configure", type: "queue", name }, ...deadLetterNeeds(name, frame.args.deadLetterExchange, frame.args.deadLetterRoutingKey)]);
        if (named !== undefined) return reject(named);
        void broker.declareQueue({ name, durable: frame.durable, args: frame.args, owner: ws.data.connection, serverNamed: frame.name === undefined }).then((declared) => {
          if (!declared.ok) return reject(declared.error);
          if (declared.value.created) this.logger?.info("management", { action: "declare_queue", queue: name, connection: ws.data.connection, remote: ws.data.remoteAddress });
          // Always answered: a server-named queue is useless until its name is known.
          ws.send(replyFrame("QUEUE_DECLARED", { queue_name: name, created: declared.value.created, ...withId }));
        });
        return;
      }
      case "PING":
        return void ws.send(replyFrame("PONG", withId));
    }
  }

  private publish(ws: Socket, frame: Extract<ClientFrame, { type: "PUBLISH" }>): void {
    // PUBLISH_RATE_PER_CONNECTION: refused, not queued (the client slows down on the ERROR).
    const limited = ws.data.publishRate?.take();
    if (limited !== undefined && limited !== true) {
      return this.answerPublish(ws, frame.id, fail(ErrorCodes.RATE_LIMITED, `publishing faster than PUBLISH_RATE_PER_CONNECTION allows; retry in ${limited.retryAfterMs} ms`));
    }
    const result = this.broker.publish(frame.publish);
    // Transient-only publishes answer synchronously; durable ones once committed.
    if (!(result instanceof Promise)) return this.answerPublish(ws, frame.id, result);
    // [CORK-1] Answered after the commit, outside the socket's handler: through the outbox.
    result.then(
      (done) => this.answerPublish(ws, frame.id, done, true),
      () => this.answerPublish(ws, frame.id, fail(ErrorCodes.INTERNAL, "publish failed"), true),
    );
  }

  /** CONFIRM when the frame had an id, ERROR whether or not it had one; `committed`: sent from the commit's callback. */
  private answerPublish(ws: Socket, id: string | number | undefined, result: Result<PublishResult>, committed = false): void {
    let answer: string;
    if (!result.ok) answer = errorFrame(result.error.code, result.error.message, id === undefined ? {} : { id });
    else if (id === undefined) return;
    else answer = replyFrame("CONFIRM", result.value.duplicate ? { routed: result.value.routed, duplicate: true, id } : { routed: result.value.routed, id });
    if (committed) this.outbox.send(ws, answer);
    else ws.send(answer);
  }

  drain(ws: Socket): void {
    if (this.cut.has(ws)) {
      if (ws.getBufferedAmount() === 0) this.closeSlow(ws);
      return;
    }
    for (const queue of ws.data.queues) this.broker.drained(queue);
  }

  /**
   * Reply, gap notice and replay go out before the topic subscription, all in this turn: nothing
   * published in between can be missed or sent twice.
   */
  private subscribed(
    ws: Socket,
    frame: Extract<ClientFrame, { type: "SUBSCRIBE" }>,
    subscribed: Result<SubscribeResult>,
    reply: (type: string, payload: Record<string, unknown>) => void,
    reject: (error: BrokerError) => void,
  ): void {
    if (this.cut.has(ws)) return;
    if (!subscribed.ok) return reject(subscribed.error);
    if (ws.data.queues.has(frame.queue)) return reply("SUBSCRIBED", { queue_name: frame.queue });
    reply("SUBSCRIBED", { queue_name: frame.queue });
    const { queue, replay, gap } = subscribed.value;
        if (gap !== undefined) {
          ws.send(replyFrame("GAP", { queue_name: frame.queue, since: frame.since, first_available_seq: gap.firstAvailable }));
        }
        // [SLOW-2] A replay past the buffer limit is cut with 4008 after whole frames: the
        // subscriber resumes from the last seq it got.
        if (!this.fanOut.sendAll(ws, replay.map((entry) => deliveryFrame(queue, entry)))) return;
        ws.data.queues.add(frame.queue);
        this.fanOut.subscribe(frame.queue, ws, ws.data.server, frame.batch);
    this.broker.attached(frame.queue, frame.since);
    // [HIST-2] A replay cut short at the buffer limit: the subscriber resumes from its last seq.
    if (subscribed.value.truncated === true) this.cutSlow(ws);
  }

  // ---- authentication -------------------------------------------------------------------------

  /** [AUTH-2] An AUTH frame: the first lets the connection in; a later one refreshes its token (the same user only). */
  private authenticate(ws: Socket, frame: Extract<ClientFrame, { type: "AUTH" }>): void {
    const withId = frame.id === undefined ? {} : { id: frame.id };
    const remote = ws.data.remoteAddress ?? undefined;
    const verify = this.auth?.verify;
    if (verify === undefined) return void ws.send(replyFrame("AUTHENTICATED", { user: ws.data.caller?.user ?? "anonymous", expires_at: null, ...withId }));
    ws.data.waitingForAuth = [];
    void verify(frame.token, remote).then((who) => {
      const waiting = ws.data.waitingForAuth ?? [];
      ws.data.waitingForAuth = undefined;
      if (!this.sockets.has(ws)) return;
      const before = ws.data.caller;
      if (who.caller === undefined) {
        if (before === undefined) return this.refuse(ws, who.problem ?? "authentication failed", frame.id, who.code);
        ws.send(errorFrame(who.code ?? ErrorCodes.UNAUTHORIZED, who.problem ?? "authentication failed", withId));
      } else if (before !== undefined && before.user !== who.caller.user) {
        ws.send(errorFrame(ErrorCodes.FORBIDDEN, `this connection is "${before.user}": a token for "${who.caller.user}" cannot replace it`, withId));
      } else {
        ws.data.caller = who.caller;
        // A refreshed token may grant less: what it no longer allows goes, as after a permission change.
        if (before !== undefined) this.prune(ws, who.caller);
        this.watchExpiry(ws);
        if (before === undefined) this.logger?.info("connection.authenticated", { connection: ws.data.connection, remote, user: who.caller.user });
        ws.send(replyFrame("AUTHENTICATED", { user: who.caller.user, expires_at: who.caller.expiresAt ?? null, ...withId }));
      }
      for (const raw of waiting) this.message(ws, raw);
    });
  }

  /** Not authenticated: an ERROR, then 4001. */
  private refuse(ws: Socket, message: string, id?: string | number, code: ErrorCode = ErrorCodes.UNAUTHORIZED): void {
    ws.send(errorFrame(code, message, id === undefined ? {} : { id }));
    this.logger?.info("connection.unauthenticated", { connection: ws.data.connection, remote: ws.data.remoteAddress, msg: message });
    this.outbox.flush(ws);
    ws.close(CloseCodes.UNAUTHORIZED, "authentication required");
  }

  /** [AUTH-3] A JWT's connection: TOKEN_EXPIRING shortly before its exp, closed with 4011 at exp unless an AUTH refreshed it. */
  private watchExpiry(ws: Socket): void {
    clearTimeout(ws.data.authTimer);
    ws.data.authTimer = undefined;
    const expiresAt = ws.data.caller?.expiresAt;
    if (expiresAt === undefined) return;
    const keep = (timer: ReturnType<typeof setTimeout>) => {
      ws.data.authTimer = timer;
    };
    const close = () => {
      if (ws.data.caller?.expiresAt !== expiresAt) return;
      this.logger?.info("connection.token_expired", { connection: ws.data.connection, remote: ws.data.remoteAddress, user: ws.data.caller?.user });
      this.outbox.flush(ws);
      ws.close(CloseCodes.TOKEN_EXPIRED, "token expired");
    };
    const notice = () => {
      ws.send(replyFrame("TOKEN_EXPIRING", { expires_at: expiresAt }));
      later(close, expiresAt, keep);
    };
    later(notice, expiresAt - TOKEN_REFRESH_NOTICE_MS, keep);
  }

  private denied(ws: Socket, needs: readonly Need[]): BrokerError | undefined {
    const caller = ws.data.caller;
    if (caller === undefined || needs.length === 0) return undefined;
    const allowed = check(caller, needs, (name) => {
      const exchange = this.broker.exchange(name);
      return exchange.ok && exchange.value.type === "topic";
    });
    return allowed.ok ? undefined : allowed.error;
  }

  /**
   * [AUTH-4] A user, a key or a permission changed: each authenticated connection is checked again
   * (`recheck`: the Authenticator's). One whose user or key is gone is closed (4001); one that lost
   * a permission leaves what it may no longer read, each with an ERROR FORBIDDEN naming the queue.
   */
  reauthorize(recheck: (caller: Identified) => Identified | undefined, guestAllowed = true): void {
    for (const ws of [...this.sockets]) {
      const before = ws.data.caller;
      // The first user with a key ends the loopback guest's bootstrap: its sockets go too.
      if (before?.via === "loopback" && !guestAllowed) {
        this.refuse(ws, "users are configured now: authenticate");
        continue;
      }
      if (before === undefined || before.via === "loopback" || before.via === "none") continue;
      const again = recheck(before);
      if (again === undefined) {
        this.refuse(ws, "this connection's user or key was removed");
        continue;
      }
      ws.data.caller = again;
      this.prune(ws, again);
    }
  }

  /** Subscriptions and consumers the caller may no longer read leave, each with an ERROR FORBIDDEN naming the queue. */
  private prune(ws: Socket, caller: Identified): void {
    for (const queue of [...ws.data.queues]) {
      if (caller.permissions.can("read", queue)) continue;
      this.unsubscribe(ws, queue);
      ws.send(errorFrame(ErrorCodes.FORBIDDEN, `read access to queue "${queue}" was revoked for user "${caller.user}"`, { queue_name: queue }));
    }
    for (const queue of [...ws.data.consuming]) {
      if (caller.permissions.can("read", queue)) continue;
      this.cancel(ws, queue);
      ws.send(errorFrame(ErrorCodes.FORBIDDEN, `read access to queue "${queue}" was revoked for user "${caller.user}"`, { queue_name: queue }));
    }
  }

  close(ws: Socket, code?: number): void {
    // [FLOW-1] What it sent before it closed is handled before it goes, as it would have been unpaused.
    const inbox = ws.data.inbox;
    ws.data.inbox = undefined;
    if (inbox !== undefined && this.sockets.has(ws)) {
      for (const raw of inbox) {
        try {
          this.take(ws, raw, true, true);
        } catch (error) {
          // The connection's cleanup below must run whatever a frame did.
          this.logger?.error("frame.failed", { connection: ws.data.connection, msg: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        }
      }
    }
    clearTimeout(ws.data.authTimer);
    ws.data.release();
    if (this.sockets.has(ws)) {
      this.closed++;
      this.logger?.info("connection.close", { connection: ws.data.connection, remote: ws.data.remoteAddress, code, seconds: Math.round((Date.now() - ws.data.openedAt) / 100) / 10 });
    }
    this.subscribing.delete(ws);
    clearTimeout(this.cut.get(ws));
    this.cut.delete(ws);
    this.sockets.delete(ws);
    this.detach(ws);
  }

  /**
   * [SLOW-1] A subscriber whose unsent data passed the limit. Detached from every queue at once (no
   * frame more reaches it, its consumers' messages go back), closed with 4008 once it has written out
   * what it holds: so the close frame comes right after its last whole frame, and comes at all if it
   * reads within SLOW_CLOSE_GRACE_MS (plus Bun's 16 s).
   */
  private cutSlow(ws: Socket): void {
    if (this.cut.has(ws)) return;
    // A control frame makes Bun write out the topic frames it still holds for this socket first (it
    // does so itself only when a socket leaves its last topic), so leaving the topics discards none.
    ws.ping();
    this.logger?.warn("subscriber.slow_closed", { connection: ws.data.connection, remote: ws.data.remoteAddress, buffered_bytes: ws.getBufferedAmount(), msg: "fell too far behind; closing with 4008 (it may resume with since)" });
    this.detach(ws);
    this.outbox.flush(ws);
    if (ws.getBufferedAmount() === 0) return void ws.close(CloseCodes.SLOW_SUBSCRIBER, SLOW_SUBSCRIBER.reason);
    const timer = setTimeout(() => this.closeSlow(ws), SLOW_CLOSE_GRACE_MS);
    timer.unref?.();
    this.cut.set(ws, timer);
  }

  private closeSlow(ws: Socket): void {
    clearTimeout(this.cut.get(ws));
    this.cut.delete(ws);
    this.outbox.flush(ws);
    ws.close(CloseCodes.SLOW_SUBSCRIBER, SLOW_SUBSCRIBER.reason);
  }

  /** Everything a closing connection leaves: subscriptions, consumers (their messages go back), exclusive queues. */
  private detach(ws: Socket): void {
    for (const queue of [...ws.data.queues]) this.unsubscribe(ws, queue);
    for (const queue of [...ws.data.consuming]) this.cancel(ws, queue);
    this.broker.connectionClosed(ws.data.connection);
  }

  private unsubscribe(ws: Socket, queue: string): void {
    ws.data.queues.delete(queue);
    this.fanOut.unsubscribe(queue, ws);
    this.broker.detached(queue);
  }

  private cancel(ws: Socket, queue: string): void {
    ws.data.consuming.delete(queue);
    const consumer = consumerOf(ws, queue);
    this.consumers.delete(consumer);
    this.dropTags(ws, queue);
    this.broker.cancel(consumer, queue);
  }

  private dropTags(ws: Socket, queue: string): void {
    for (const [tag, q] of ws.data.tags) if (q === queue) ws.data.tags.delete(tag);
  }

  /** The open connections, for the management API; with `queue`, those subscribed to it or consuming from it. */
  connectionViews(queue?: string): ConnectionView[] {
    const views: ConnectionView[] = [];
    for (const ws of this.sockets) {
      const { data } = ws;
      if (queue !== undefined && !data.queues.has(queue) && !data.consuming.has(queue)) continue;
      const consumers = [...data.consuming].map((q) => {
        let unacked = 0;
        for (const held of data.tags.values()) if (held === q) unacked++;
        return { id: `${data.connection}/${q}`, queue: q, prefetch: this.consumers.get(consumerOf(ws, q))?.prefetch ?? 0, unacked };
      });
      views.push({
        id: data.connection,
        user: data.caller?.user ?? null,
        remote_address: data.remoteAddress,
        opened_at: data.openedAt,
        subscriptions: [...data.queues].map((q) => ({ queue: q })),
        consumers,
        unacked: data.tags.size,
        buffered_bytes: ws.getBufferedAmount(),
      });
    }
    return views;
  }

  /** Closes one connection (4010); what its consumers held goes back to their queues. False if there is none. */
  closeConnection(id: string): boolean {
    for (const ws of this.sockets) {
      if (ws.data.connection !== id) continue;
      this.logger?.info("connection.closed_by_admin", { connection: id, remote: ws.data.remoteAddress });
      this.outbox.flush(ws);
      ws.close(CloseCodes.CLOSED_BY_ADMIN, "closed by an administrator");
      return true;
    }
    return false;
  }

  /** [SESSION-1] A dashboard session ended (logout): the sockets its cookie opened close with 4001. */
  endSession(id: string): void {
    for (const ws of this.sockets) {
      if (ws.data.session !== id) continue;
      this.logger?.info("connection.session_ended", { connection: ws.data.connection, remote: ws.data.remoteAddress, user: ws.data.caller?.user });
      this.outbox.flush(ws);
      ws.close(CloseCodes.UNAUTHORIZED, "the session ended (logged out)");
    }
  }

  /** At shutdown: every socket is closed with 1001 so clients know to reconnect later. */
  closeAll(): void {
    // [CORK-1] The last CONFIRMs first: a close must not overtake them.
    this.outbox.flushAll();
    for (const ws of this.sockets) ws.close(CloseCodes.GOING_AWAY, "broker shutting down");
  }
}

/** [FLOW-1] The frames a closing connection's inbox still gets handled: see WsHub.close(). */
function meaningfulAtClose(frame: ClientFrame): boolean {
  switch (frame.type) {
    case "PUBLISH":
    case "ACK":
    case "NACK":
      return true;
    case "DECLARE_QUEUE":
      return !frame.args.exclusive;
    default:
      return false;
  }
}
