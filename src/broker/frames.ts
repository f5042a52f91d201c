import type { QueuedMessage } from "../core/message.ts";

/**
 * The delivery frame. `unique_id`, `body` and `TTL` are the seed's (a seed client reads the first
 * two); the rest is ours. Built by concatenation so the body (already JSON text) is not re-encoded.
 */
export function deliveryFrame(queueJson: string, queued: QueuedMessage): string {
  const m = queued.message;
  return (
    `{"type":"MESSAGE","unique_id":"${m.id}","body":${m.body},"TTL":0,"queue":${queueJson},` +
    `"seq":${queued.seq},"exchange":${JSON.stringify(m.exchange)},"routing_key":${JSON.stringify(m.routingKey)},` +
    `"headers":${JSON.stringify(m.headers)},"timestamp":${m.timestamp}}`
  );
}

export const errorFrame = (code: string, message: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: "ERROR", payload: { code, message, ...extra } });
