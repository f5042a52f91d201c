/**
 * What a load process is told to do. Plain data: it crosses the IPC channel between the
 * orchestrator (bench/run.ts) and the load processes it spawns (bench/load/*-process.ts).
 */

/** Every benchmark message carries this many payload bytes (printable ASCII). */
export const PAYLOAD_BYTES = 256;

/** A request whose answer means "the broker has taken the message" (scenario 2). */
export type ConfirmedPublishSpec =
  | {
      protocol: "http";
      host: string;
      port: number;
      path: string;
      /** The whole JSON body, built by the target (the envelope is target-specific). */
      body: string;
      /** A regular expression the first answer's body must match, checked once per connection. */
      expectBody?: string;
    }
  | { protocol: "amqp"; url: string; exchange: string; routingKey: string; persistent: boolean }
  | { protocol: "jetstream"; servers: string; subject: string };

/** One-way publishing whose deliveries the subscribers count (scenario 3). */
export type FanoutPublisherSpec =
  | { protocol: "ws"; host: string; port: number; path: string; publishFrame: string }
  | { protocol: "amqp"; url: string; exchange: string }
  | { protocol: "nats"; servers: string; subject: string };

export type SubscriberSpec =
  | { protocol: "ws"; host: string; port: number; path: string; subscribeFrame: string }
  /** Declares its own exclusive queue bound to `exchange`, consumes with auto-ack. */
  | { protocol: "amqp"; url: string; exchange: string }
  | { protocol: "nats"; servers: string; subject: string };

export type FanoutSpec = {
  publisher: FanoutPublisherSpec;
  /** One entry per subscriber connection; every subscriber should receive every message. */
  subscribers: SubscriberSpec[];
};

/** The payload every target publishes: 256 bytes that are easy to recognise in a delivery. */
export function benchPayload(bytes = PAYLOAD_BYTES): string {
  const marker = "bench-payload:";
  return (marker + "x".repeat(Math.max(0, bytes - marker.length))).slice(0, bytes);
}

/** What a subscriber's first delivery must contain for the run to count. */
export const PAYLOAD_MARKER = "bench-payload:";
