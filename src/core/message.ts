import type { Headers } from "./exchanges/types.ts";

/** A published message as the broker routes it. Ids and time are given by the caller, never made here. */
export type Message = {
  /** The seed's `unique_id`. */
  readonly id: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly headers: Headers;
  /** The payload as JSON text, exactly as it is delivered (serialised once, at the edge). */
  readonly body: string;
  /** Milliseconds since the epoch, when the broker accepted it. */
  readonly timestamp: number;
  /** The publisher's own id, for de-duplication (idempotent publish). */
  readonly messageId?: string;
};

/** Bytes a message holds in memory, roughly; used for the queue's byte count. */
export const messageBytes = (m: Message): number =>
  m.body.length + m.routingKey.length + m.exchange.length + m.id.length + 64;
