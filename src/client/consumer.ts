import { ClientErrorCodes, PubsubError } from "./errors.ts";
import { declareOn, deferred, isTransient, notAttached, type Session, type SessionContext } from "./session.ts";
import { messageOf, type ConsumerFields, type Message, type QueueDeclareFrame } from "./wire.ts";

/** A message a consumer owns until it acks or nacks it. */
export type Delivery<Body = unknown> = Message<Body> &
  ConsumerFields & {
    /**
     * Done: the message leaves the queue. Resolves once the broker confirmed (ACKED). Rejects with
     * DELIVERY_STALE when the connection it came on has dropped (the broker already requeued it
     * and will deliver it again, `redelivered: true`), `D001` if it was settled already.
     */
    ack(): Promise<void>;
    /** `requeue: true` (default): back to the head of the queue; `false`: dead-lettered as `rejected`. */
    nack(options?: { requeue?: boolean }): Promise<void>;
  };

/**
 * Handlers run concurrently, up to `prefetch` at a time. One that throws before settling its
 * delivery gets it nacked with requeue, so a poison message goes round until the queue's
 * `delivery_limit` dead-letters it.
 */
export type DeliveryHandler<Body = unknown> = (delivery: Delivery<Body>) => void | Promise<void>;

export type ConsumeOptions<Body = unknown> = {
  /** Unacknowledged messages the broker may hand this consumer at once (1–10000, broker default 10). */
  prefetch?: number;
  /** Declares the queue (DECLARE_QUEUE) before each CONSUME. */
  declare?: Omit<QueueDeclareFrame, "name">;
  /** Told when the handler throws. Without it the client's onError is. */
  onError?: (error: unknown, delivery: Delivery<Body>) => void;
};

export interface Consumer {
  readonly queue: string;
  /** Resolves when consuming ends: `undefined` after close(), the error when the broker ended it (`Q002`). */
  readonly closed: Promise<PubsubError | undefined>;
  /** Waits for the handlers under way (so their acks go out), then CANCELs: what is left unacked goes back to the queue. */
  close(): Promise<void>;
}

/**
 * A competing consumer that outlives its socket: after a drop it CONSUMEs again on the next one.
 * Deliveries from the old socket cannot be acked any more — their tags belonged to it and the
 * broker has put them back — so ack() on one says DELIVERY_STALE instead of sending a tag that
 * might name another message now.
 */
export class ConsumerSession<Body> implements Session, Consumer {
  readonly ready = deferred<Consumer>();
  private readonly ending = deferred<PubsubError | undefined>();
  private readonly running = new Set<Promise<void>>();
  private attachedOnce = false;
  private stopped = false;

  constructor(
    readonly queue: string,
    private readonly handler: DeliveryHandler<Body>,
    private readonly options: ConsumeOptions<Body>,
    private readonly context: SessionContext,
  ) {}

  get closed(): Promise<PubsubError | undefined> {
    return this.ending.promise;
  }

  attach(): void {
    void this.consume();
  }

  private async consume(): Promise<void> {
    const { connection } = this.context;
    try {
      if (this.options.declare !== undefined) await declareOn(connection, this.queue, this.options.declare);
      const prefetch = this.options.prefetch;
      await connection.request("CONSUME", prefetch === undefined ? { queue_name: this.queue } : { queue_name: this.queue, prefetch });
      this.attachedOnce = true;
      this.ready.resolve(this);
    } catch (error) {
      if (!this.stopped && !isTransient(error)) this.end(error as PubsubError);
    }
  }

  deliver(frame: Message & Partial<ConsumerFields>): void {
    // Not handed out once closing: left unacked, CANCEL puts it back for another consumer.
    if (this.stopped || frame.delivery_tag === undefined) return;
    const delivery = this.delivery(frame as Message & ConsumerFields);
    const run = this.handle(delivery).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async handle(delivery: Delivery<Body> & { readonly settled: boolean }): Promise<void> {
    try {
      await this.handler(delivery);
    } catch (error) {
      if (this.options.onError) this.options.onError(error, delivery);
      else this.context.report(error);
      if (!delivery.settled) await delivery.nack({ requeue: true }).catch(() => {});
    }
  }

  private delivery(frame: Message & ConsumerFields): Delivery<Body> & { readonly settled: boolean } {
    const { connection } = this.context;
    const epoch = connection.epoch;
    const tag = frame.delivery_tag;
    let settled = false;
    const settle = (type: "ACK" | "NACK", extra: Record<string, unknown>): Promise<void> => {
      let outcome: Promise<void>;
      if (settled) {
        outcome = Promise.reject(new PubsubError("D001", `delivery ${tag} of "${this.queue}" was already acked or nacked`));
      } else if (epoch !== connection.epoch || !connection.isOpen) {
        settled = true;
        outcome = Promise.reject(
          new PubsubError(ClientErrorCodes.DELIVERY_STALE, `delivery ${tag} of "${this.queue}" came on a connection that dropped; the broker requeued it`),
        );
      } else {
        settled = true;
        outcome = connection.request(type, { delivery_tag: tag, ...extra }).then(() => undefined);
      }
      // Awaiting it is how a caller hears of a failure; one that does not must not crash the process.
      outcome.catch(() => {});
      return outcome;
    };
    const delivery: Delivery<Body> = {
      ...messageOf<Body>(frame),
      delivery_tag: tag,
      redelivered: frame.redelivered,
      delivery_count: frame.delivery_count,
      ack: () => settle("ACK", {}),
      nack: (options = {}) => settle("NACK", { requeue: options.requeue ?? true }),
    };
    // Not enumerable: a delivery printed as JSON is the message and its consumer fields, nothing else.
    return Object.defineProperty(delivery, "settled", { get: () => settled, enumerable: false }) as Delivery<Body> & { readonly settled: boolean };
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.running);
    const { connection } = this.context;
    if (connection.isOpen && this.attachedOnce) await connection.request("CANCEL", { queue_name: this.queue }).catch(() => {});
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
