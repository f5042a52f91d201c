import type { Entry } from "../core/queue.ts";

/** What a consumer's delivery adds to the subscriber frame. */
export type ConsumerFields = { tag: number; redelivered: boolean; deliveries: number };

/**
 * The delivery frame. `unique_id`, `body` and `TTL` are the seed's (a seed client reads the first
 * two); the rest is ours. Built by concatenation so the body (already JSON text) is not re-encoded.
 */
export function deliveryFrame(queueJson: string, entry: Entry, consumer?: ConsumerFields): string {
  const m = entry.message;
  const owned =
    consumer === undefined
      ? ""
      : `,"delivery_tag":${consumer.tag},"redelivered":${consumer.redelivered},"delivery_count":${consumer.deliveries}`;
  return (
    `{"type":"MESSAGE","unique_id":"${m.id}","body":${m.body},"TTL":0,"queue":${queueJson},` +
    `"seq":${entry.seq},"exchange":${JSON.stringify(m.exchange)},"routing_key":${JSON.stringify(m.routingKey)},` +
    `"headers":${JSON.stringify(m.headers)},"timestamp":${m.timestamp}${owned}}`
  );
}

export const errorFrame = (code: string, message: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: "ERROR", payload: { code, message, ...extra } });

export const replyFrame = (type: string, payload: Record<string, unknown>): string => JSON.stringify({ type, payload });
