import type { MessageHeaders, HeaderValue } from "./exchanges/types.ts";
import type { PublishedMessage } from "./message.ts";
import type { DeathReason } from "./queue.ts";

/**
 * One entry of RabbitMQ's `x-death` header: one per queue and reason, most recent first. `count`
 * grows each time the message dies again in that queue for that reason; `time` (ms since the
 * epoch, as every time we send; RabbitMQ's AMQP 0-9-1 value is in seconds), `exchange` and
 * `routing-keys` are those of the first such death.
 */
export type DeathRecord = {
  readonly count: number;
  readonly reason: DeathReason;
  readonly queue: string;
  readonly time: number;
  readonly exchange: string;
  readonly "routing-keys": readonly string[];
};

const REASONS: readonly string[] = ["expired", "rejected", "maxlen", "delivery_limit"];

/** The message's `x-death` records, most recent first. Anything malformed a publisher put there is ignored. */
export function deathsOf(headers: MessageHeaders): DeathRecord[] {
  const raw = headers["x-death"];
  if (!Array.isArray(raw)) return [];
  return raw.filter(isDeathRecord);
}

const isDeathRecord = (v: HeaderValue): v is DeathRecord => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const r = v as Record<string, HeaderValue>;
  return (
    typeof r.count === "number" &&
    typeof r.queue === "string" &&
    typeof r.reason === "string" &&
    REASONS.includes(r.reason) &&
    typeof r.time === "number" &&
    typeof r.exchange === "string" &&
    Array.isArray(r["routing-keys"]) &&
    r["routing-keys"].every((k) => typeof k === "string")
  );
};

/**
 * The message a dead-lettered one becomes: same id and body, republished through the dead-letter
 * exchange (so its deliveries name that exchange, as in AMQP), with RabbitMQ's headers (`x-death`,
 * `x-first-death-*`, `x-last-death-*`) and our flat ones (`x-death-reason`, `x-death-queue`, …,
 * `x-death-count` counting every death) saying why and where from.
 */
export function deadLetteredMessage(
  m: PublishedMessage,
  reason: DeathReason,
  queue: string,
  to: { readonly exchange: string; readonly routingKey: string | undefined },
  now: number,
): PublishedMessage {
  const deaths = deathsOf(m.headers);
  // [DLX-6] With no valid x-death record this is its first death here, whatever a publisher wrote
  // in x-first-death-* or x-death-count: those are set afresh, not trusted.
  const first = deaths.length === 0;
  const count = !first && typeof m.headers["x-death-count"] === "number" ? m.headers["x-death-count"] : 0;
  const same = deaths.find((d) => d.queue === queue && d.reason === reason);
  const record: DeathRecord = same
    ? { ...same, count: same.count + 1 }
    : { count: 1, reason, queue, time: now, exchange: m.exchange, "routing-keys": [m.routingKey] };
  return {
    ...m,
    exchange: to.exchange,
    routingKey: to.routingKey ?? m.routingKey,
    timestamp: now,
    headers: {
      ...m.headers,
      "x-death": [record, ...deaths.filter((d) => d !== same)],
      ...(first ? { "x-first-death-queue": queue, "x-first-death-reason": reason, "x-first-death-exchange": m.exchange } : {}),
      "x-last-death-queue": queue,
      "x-last-death-reason": reason,
      "x-last-death-exchange": m.exchange,
      "x-death-reason": reason,
      "x-death-queue": queue,
      "x-death-exchange": m.exchange,
      "x-death-routing-key": m.routingKey,
      "x-death-time": now,
      "x-death-count": count + 1,
    },
  };
}

/**
 * [DLX-3] RabbitMQ's cycle rule: a dead-lettered message (its latest death already recorded) is
 * dropped instead of entering `target` when it already died in `target` and no death since then,
 * that one included, was a rejection. A consumer's reject is a decision, so a loop that goes
 * through one may go on; a loop of expiries or overflows alone would spin forever.
 */
export function isDeathCycle(target: string, headers: MessageHeaders): boolean {
  for (const death of deathsOf(headers)) {
    if (death.reason === "rejected") return false;
    if (death.queue === target) return true;
  }
  return false;
}
