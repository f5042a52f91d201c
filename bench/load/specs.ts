/**
 * What a load process is told to do. Plain data: it crosses the IPC channel between the
 * orchestrator (bench/run.ts) and the load processes it spawns (bench/load/*-process.ts).
 */

/** Every benchmark message carries this many payload bytes (printable ASCII), unless its spec says `payloadBytes`. */
export const PAYLOAD_BYTES = 256;

/** A request whose answer means "the broker has taken the message" (scenarios 2, 6 prefill, 7). */
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
      /** pubsub with users or JWT keys: sent as `Authorization: Bearer …` on every request. */
      token?: string;
    }
  /** pubsub: PUBLISH frames with an `id` over one WebSocket, each answered by a CONFIRM naming it. */
  | { protocol: "ws-confirm"; host: string; port: number; path: string; exchange: string; key: string; payloadBytes?: number; token?: string }
  | { protocol: "amqp"; url: string; exchange: string; routingKey: string; persistent: boolean; payloadBytes?: number }
  | { protocol: "jetstream"; servers: string; subject: string };

/**
 * `token` on a pubsub WebSocket spec: sent in an AUTH frame first, and the connection is used once
 * the broker answered AUTHENTICATED (that answer is not counted as a delivery).
 */

/** One-way publishing: fan-out, work queue, latency, broadcast (scenarios 3, 5, 8, 9). */
export type StreamPublisherSpec =
  | { protocol: "ws"; host: string; port: number; path: string; publishFrame: string; token?: string }
  | { protocol: "amqp"; url: string; exchange: string; routingKey?: string; persistent?: boolean }
  | { protocol: "nats"; servers: string; subject: string };
/** The old name, kept for the fan-out scenario's wording. */
export type FanoutPublisherSpec = StreamPublisherSpec;

export type SubscriberSpec =
  /** `batched`: the SUBSCRIBE asks for MESSAGES frames [BATCH-1], each counted as the messages it holds. */
  | { protocol: "ws"; host: string; port: number; path: string; subscribeFrame: string; token?: string; batched?: boolean }
  /** Declares its own exclusive queue bound to `exchange`, consumes with auto-ack. */
  | { protocol: "amqp"; url: string; exchange: string }
  | { protocol: "nats"; servers: string; subject: string }
  /** A bare NATS protocol client over one TCP socket: cheap enough to hold thousands (scenario 9). */
  | { protocol: "nats-wire"; host: string; port: number; subject: string };

/** A competing consumer that acknowledges every message it gets (scenarios 5 and 6). */
export type ConsumerSpec =
  /** pubsub: CONSUME with `prefetch`, an ACK frame per delivery. */
  | { protocol: "ws"; host: string; port: number; path: string; queue: string; prefetch: number; token?: string }
  /** RabbitMQ: basic.qos(prefetch) on its own channel and connection, manual basic.ack per message. */
  | { protocol: "amqp"; url: string; queue: string; prefetch: number }
  /** NATS JetStream: a durable pull consumer, `consume({max_messages: prefetch})`, msg.ack() per message. */
  | { protocol: "jetstream"; servers: string; stream: string; consumer: string; prefetch: number };

/**
 * Scenario 11: WebSocket connections opened a few at a time, each closed once ready. With tokens,
 * ready means the AUTH frame sent first was answered AUTHENTICATED (connection i sends tokens[i %
 * length]); without, the 101 answer to the upgrade.
 */
export type ConnectSpec = { protocol: "ws"; host: string; port: number; path: string; tokens: string[] | null };

export type FanoutSpec = {
  publisher: StreamPublisherSpec;
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
const MARKER_BYTES = Buffer.from(PAYLOAD_MARKER);

/**
 * Stamps: a number written into the payload right after the marker, over the `x`s, as this many
 * decimal digits. Latency runs stamp the send time (µs, see nowUs); broadcasts stamp their index.
 */
export const STAMP_DIGITS = 20;

/**
 * Microseconds on a clock every process on this machine shares (the wall clock, read with
 * performance.now()'s resolution). Measured between two bun processes over IPC, the clocks agree
 * to within ~30 µs. (process.hrtime in Bun counts from the process's own start: not shared.)
 */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Where the stamp goes in `bytes` (a frame or message containing the bench payload), or -1. */
export function stampOffset(bytes: Uint8Array): number {
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(MARKER_BYTES);
  return at < 0 ? -1 : at + MARKER_BYTES.length;
}

export function writeStamp(bytes: Uint8Array, offset: number, value: number): void {
  let v = Math.max(0, Math.floor(value));
  for (let i = offset + STAMP_DIGITS - 1; i >= offset; i--) {
    bytes[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
}

/** The stamp in a delivered message, or null when it carries none. */
export function readStamp(bytes: Uint8Array): number | null {
  const offset = stampOffset(bytes);
  if (offset < 0 || offset + STAMP_DIGITS > bytes.length) return null;
  let value = 0;
  for (let i = offset; i < offset + STAMP_DIGITS; i++) {
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}
