import type { PubsubError } from "./errors.ts";
import { DEFAULT_DEDUPE_WINDOW, SeenMessages } from "./seen-messages.ts";
import { declareOn, deferred, isTransient, notAttached, type Session, type SessionContext } from "./session.ts";
import { messageOf, type Message, type QueueDeclareFrame } from "./wire.ts";

/** A GAP frame: the resume asked for more than the queue retains; seqs before `first_available_seq` are gone. */
export type Gap = { queue_name: string; since: number; first_available_seq: number };

export type SubscribeOptions<Body = unknown> = {
  /**
   * Start after this seq: the broker first replays what the queue retained after it, then goes
   * live. Retention is the queue's `history_size` (and `history_ttl`, `history_max_bytes`): a
   * durable queue keeps 1,000 by default on disk, across broker restarts; a transient one nothing
   * unless declared with it, in memory (after a broker restart a resume on it gets a GAP).
   */
  since?: number;
  /** Declares the queue (DECLARE_QUEUE) before each SUBSCRIBE, so a transient queue lost in a restart is made again. */
  declare?: Omit<QueueDeclareFrame, "name">;
  /** Told when the broker could not replay all that was asked for. */
  onGap?: (gap: Gap) => void;
  /** Told when the handler throws; the subscription carries on. Without it the client's onError is. */
  onError?: (error: unknown, message: Message<Body>) => void;
  /** Messages remembered to drop redeliveries (default 10 000; 0 turns it off). */
  dedupeWindow?: number;
  /**
   * Ask the broker for batches [BATCH-1]: the messages one turn of its event loop hands this queue
   * come as one MESSAGES frame when there are several, far cheaper for both sides at high rates. The
   * handler still gets them one at a time, in order; nothing else changes.
   */
  batch?: boolean;
};

/** Called once per message, in queue order; the next call waits for the promise it returns. */
export type MessageHandler<Body = unknown> = (message: Message<Body>) => void | Promise<void>;

export interface Subscription {
  readonly queue: string;
  /** The seq of the message received last: where the next resume starts. */
  readonly lastSeq: number | undefined;
  /** Resolves when the subscription ends: `undefined` after close(), the error when the broker ended it (queue deleted: `Q002`). */
  readonly closed: Promise<PubsubError | undefined>;
  /** Sends UNSUBSCRIBE; resolves once the handler call under way returned. */
  close(): Promise<void>;
}

/**
 * A subscriber that outlives its socket: after a drop it subscribes again with `since` set to the
 * seq it received last, so it gets what the queue retained meanwhile, and drops messages it already
 * had (a replay overlapping what came, a broker crash sending some again). Messages reach the
 * handler one at a time, in the order they came.
 */
export class SubscriptionSession<Body> implements Session, Subscription {
  readonly ready = deferred<Subscription>();
  private readonly ending = deferred<PubsubError | undefined>();
  private readonly seen: SeenMessages;
  private readonly inbox: Message<Body>[] = [];
  private head = 0;
  private draining: Promise<void> | undefined;
  private attachedOnce = false;
  private stopped = false;
  /** `options.since`, until the queue is made anew: then 0, for everything the new queue retains is new. */
  private initialSince: number | undefined;

  constructor(
    readonly queue: string,
    private readonly handler: MessageHandler<Body>,
    private readonly options: SubscribeOptions<Body>,
    private readonly context: SessionContext,
  ) {
    this.seen = new SeenMessages(options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW);
    this.initialSince = options.since;
  }

  get lastSeq(): number | undefined {
    return this.seen.last;
  }

  get closed(): Promise<PubsubError | undefined> {
    return this.ending.promise;
  }

  attach(): void {
    void this.subscribe();
  }

  private async subscribe(): Promise<void> {
    const { connection } = this.context;
    try {
      if (this.options.declare !== undefined) {
        const created = await declareOn(connection, this.queue, this.options.declare);
        // A queue made anew (transient, lost in a restart) numbers its messages from 1 again.
        if (created && this.attachedOnce) this.queueRecreated();
      }
      const since = this.seen.last ?? this.initialSince;
      await connection.request("SUBSCRIBE", {
        queue_name: this.queue,
        ...(since === undefined ? {} : { since }),
        ...(this.options.batch === true ? { batch: true } : {}),
      });
      this.attachedOnce = true;
      this.ready.resolve(this);
    } catch (error) {
      if (!this.stopped && !isTransient(error)) this.end(error as PubsubError);
    }
  }

  deliver(frame: Message): void {
    if (this.stopped || !this.seen.add(frame.seq, frame.unique_id)) return;
    this.inbox.push(messageOf<Body>(frame));
    this.draining ??= this.drain();
  }

  queueRecreated(): void {
    this.seen.reset();
    this.initialSince = 0;
  }

  gap(gap: Gap): void {
    if (!this.stopped) this.options.onGap?.(gap);
  }

  private async drain(): Promise<void> {
    await Promise.resolve(); // runs after the caller stored this promise
    while (this.head < this.inbox.length && !this.stopped) {
      const message = this.inbox[this.head++]!;
      if (this.head >= 1_024 && this.head * 2 >= this.inbox.length) {
        this.inbox.splice(0, this.head);
        this.head = 0;
      }
      try {
        await this.handler(message);
      } catch (error) {
        if (this.options.onError) this.options.onError(error, message);
        else this.context.report(error);
      }
    }
    this.draining = undefined;
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const { connection } = this.context;
    if (connection.isOpen && this.attachedOnce) await connection.request("UNSUBSCRIBE", { queue_name: this.queue }).catch(() => {});
    await this.draining;
    this.end(undefined);
  }

  end(error: PubsubError | undefined): void {
    this.stopped = true;
    if (this.ending.settled) return;
    this.context.remove(this);
    if (!this.ready.settled) this.ready.reject(error ?? notAttached(this.queue));
    this.ending.resolve(error);
  }
}
