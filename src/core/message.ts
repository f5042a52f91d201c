import type { MessageHeaders } from "./exchanges/types.ts";
import { MESSAGE_OVERHEAD_BYTES } from "./limits.ts";

/**
 * A published message as the broker routes and stores it (the client's `Message` is what a
 * subscriber receives). Ids and time are given by the caller, never made here.
 */
export type PublishedMessage = {
  /** The seed's `unique_id`. */
  readonly id: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly headers: MessageHeaders;
  /** The payload as JSON text, exactly as it is delivered (serialised once, at the edge). */
  readonly body: string;
  /** Milliseconds since the epoch, when the broker accepted it. */
  readonly timestamp: number;
  /** The publisher's own id, for de-duplication (idempotent publish). */
  readonly messageId?: string;
};

/** Defined in limits.ts; also exported here, beside messageBytes, which adds it. */
export { MESSAGE_OVERHEAD_BYTES };

/** Each message's headers, as JSON, measured once however many queues it reaches. */
const sizes = new WeakMap<PublishedMessage, number>();

/**
 * What a message counts toward `max_bytes`, the queue's `bytes` and MAX_QUEUED_BYTES: the length of
 * its body (the payload as JSON text), routing key, exchange name, id and headers (as JSON), in
 * UTF-16 code units (one per character of ASCII text), plus MESSAGE_OVERHEAD_BYTES. Headers count
 * because they grow (x-death) and a publisher chooses them. Headers are measured once per message, however
 * many queues it reaches.
 */
export function messageBytes(m: PublishedMessage): number {
  const plain = m.body.length + m.routingKey.length + m.exchange.length + m.id.length + MESSAGE_OVERHEAD_BYTES;
  // Only headers cost anything to measure; a WeakMap entry per message (GC work) only for those.
  for (const _ in m.headers) {
    let headers = sizes.get(m);
    if (headers === undefined) sizes.set(m, (headers = JSON.stringify(m.headers).length));
    return plain + headers;
  }
  return plain;
}
