/**
 * The three roles a load process plays, one interface each; every protocol file
 * (http-keepalive, ws-wire, amqp, nats) implements the roles its broker supports.
 */

/** Publishes and waits for the broker's "taken" answer (HTTP 200, AMQP confirm, JetStream ack). */
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

/** Counts the messages the broker delivers to one subscription. */
export interface Subscriber {
  readonly received: number;
  /** The text of the first delivery, to check that deliveries are what was published. */
  readonly firstDelivery: string | null;
  readonly closed: boolean;
  close(): Promise<void>;
}
