import type { Message } from "./message.ts";
import type { DeathReason, Entry } from "./queue.ts";

/**
 * The message a dead-lettered entry becomes: same id and body, republished through the dead-letter
 * exchange (so its deliveries name that exchange, as in AMQP), headers saying why and where from
 * (flat, as our headers are; AMQP's x-death list carries the same facts).
 */
export function deadLetteredMessage(
  entry: Entry,
  reason: DeathReason,
  queue: string,
  to: { readonly exchange: string; readonly routingKey: string | undefined },
  now: number,
): Message {
  const m = entry.message;
  const count = typeof m.headers["x-death-count"] === "number" ? m.headers["x-death-count"] : 0;
  return {
    ...m,
    exchange: to.exchange,
    routingKey: to.routingKey ?? m.routingKey,
    timestamp: now,
    headers: {
      ...m.headers,
      "x-death-reason": reason,
      "x-death-queue": queue,
      "x-death-exchange": m.exchange,
      "x-death-routing-key": m.routingKey,
      "x-death-time": now,
      "x-death-count": count + 1,
      ...(m.headers["x-first-death-queue"] === undefined ? { "x-first-death-queue": queue, "x-first-death-reason": reason } : {}),
    },
  };
}
