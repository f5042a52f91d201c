/**
 * The roles a load process plays, one interface each; every protocol file (http-keepalive,
 * ws-wire, amqp, nats, nats-wire) implements the roles its broker supports.
 */

/** Publishes and waits for the broker's "taken" answer (HTTP 200, CONFIRM frame, AMQP confirm, JetStream ack). */
export interface ConfirmedPublisher {
  /** Independent request slots: slot i never has two requests outstanding. */
  readonly slots: number;
  /** Resolves once the broker confirmed; rejects on an error answer or a lost connection. */
  publish(slot: number): Promise<void>;
  close(): Promise<void>;
}

/** Publishes without waiting for anything; the caller paces it. */
export interface StreamPublisher {
  /** Hands up to `count` messages to the connection; returns how many it took (0 while blocked). */
  send(count: number): number;
  /** Calls back once `send` may take more. */
  whenWritable(callback: () => void): void;
  close(): Promise<void>;
}

/** Publishes one message at a time with a number (a send time, a broadcast index) in its payload. */
export interface StampedPublisher {
  /** Sends at once (no batching with later messages beyond what the client library does). */
  send(stamp: number): void;
  close(): Promise<void>;
}

/** Gets the bytes of each delivered message; they are valid during the call only. */
export type PayloadListener = (payload: Uint8Array) => void;

/** Counts the messages the broker delivers to one subscription. */
export interface Subscriber {
  readonly received: number;
  /** The text of the first delivery, to check that deliveries are what was published. */
  readonly firstDelivery: string | null;
  readonly closed: boolean;
  close(): Promise<void>;
}

/**
 * Asked before each delivery is acknowledged: false leaves it unacknowledged and uncounted (it goes
 * back to the queue when the consumer closes). Lets a process stop at an exact message budget.
 */
export type AckGate = () => boolean;

/** A competing consumer: acknowledges every message it gets, one ack per message. */
export interface Consumer {
  /** Starts consuming (CONSUME, basic.consume, JetStream consume). */
  start(): Promise<void>;
  readonly acked: number;
  /** Deliveries flagged as redelivered: a broker giving a message out twice. */
  readonly redelivered: number;
  readonly firstDelivery: string | null;
  readonly firstError: string | null;
  readonly closed: boolean;
  close(): Promise<void>;
}
