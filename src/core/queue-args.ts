import { ErrorCodes, ok, type BrokerError, type ErrorCode, type Result } from "./errors.ts";
import { DEFAULT_EXCHANGE } from "./exchanges/types.ts";
import { DEFAULT_DELIVERY_LIMIT, DEFAULT_DURABLE_HISTORY_SIZE, MAX_HISTORY_SIZE } from "./limits.ts";
import { validateName, validateRoutingKey } from "./names.ts";

export type Overflow = "drop-head" | "reject-publish";

/** Declared once per queue; declaring again with other arguments is a conflict (Q001). */
export type QueueArgs = {
  readonly maxLength?: number;
  readonly maxBytes?: number;
  /** Milliseconds a message may wait in the queue. */
  readonly messageTtl?: number;
  readonly overflow: Overflow;
  readonly deadLetterExchange?: string;
  readonly deadLetterRoutingKey?: string;
  /** A message handed to consumers this many times is dead-lettered instead of requeued again. */
  readonly deliveryLimit: number;
  /**
   * Delivered messages kept for SUBSCRIBE `since` replays: the last N … Unset when declared: the
   * default for the queue's durability (withDefaultHistory), which the broker fills in.
   */
  readonly historySize?: number;
  /** … and none older than this many milliseconds (unset: no age limit). */
  readonly historyTtl?: number;
  /** [HIST-2] … and at most this many bytes of them (durable queues; unset: DEFAULT_HISTORY_MAX_BYTES). */
  readonly historyMaxBytes?: number;
  /** Only the connection that declared it may use it; it goes when that connection closes. */
  readonly exclusive: boolean;
  /** Deleted when its last consumer or subscriber leaves (after having had one). */
  readonly autoDelete: boolean;
};

export const DEFAULT_QUEUE_ARGS: QueueArgs = {
  overflow: "drop-head",
  deliveryLimit: DEFAULT_DELIVERY_LIMIT,
  exclusive: false,
  autoDelete: false,
};

/** The declare body's snake_case arguments, as the API accepts them. */
export type QueueArgsInput = {
  max_length?: unknown;
  max_bytes?: unknown;
  message_ttl?: unknown;
  overflow?: unknown;
  dead_letter_exchange?: unknown;
  dead_letter_routing_key?: unknown;
  delivery_limit?: unknown;
  history_size?: unknown;
  history_ttl?: unknown;
  history_max_bytes?: unknown;
  exclusive?: unknown;
  auto_delete?: unknown;
};

export function parseQueueArgs(input: QueueArgsInput): Result<QueueArgs> {
  let error: BrokerError | undefined; // the first problem found is the one reported
  const refuse = (code: ErrorCode, message: string) => void (error ??= { code, message });
  const whole = (name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max) return v;
    refuse(ErrorCodes.VALIDATION, `${name} must be a whole number from 0 to ${max}`);
    return undefined;
  };
  const flag = (name: string, v: unknown): boolean => {
    if (v === undefined || v === null || typeof v === "boolean") return v === true;
    refuse(ErrorCodes.VALIDATION, `${name} must be true or false`);
    return false;
  };
  const text = (name: string, v: unknown, check: (v: unknown) => BrokerError | null): string | undefined => {
    if (v === undefined || v === null) return undefined;
    const bad = check(v);
    if (bad) refuse(bad.code, `${name}: ${bad.message}`);
    return bad ? undefined : (v as string);
  };

  const overflow = input.overflow ?? "drop-head";
  if (overflow !== "drop-head" && overflow !== "reject-publish") {
    refuse(ErrorCodes.VALIDATION, 'overflow must be "drop-head" or "reject-publish"');
  }
  const deliveryLimit = whole("delivery_limit", input.delivery_limit) ?? DEFAULT_DELIVERY_LIMIT;
  if (deliveryLimit === 0) refuse(ErrorCodes.VALIDATION, "delivery_limit must be at least 1");
  const args = compact({
    maxLength: whole("max_length", input.max_length),
    maxBytes: whole("max_bytes", input.max_bytes),
    messageTtl: whole("message_ttl", input.message_ttl),
    overflow: overflow as Overflow,
    // [DLX-2] "" is the default exchange (routing to the queue named by the key), as in AMQP: kept, not dropped.
    deadLetterExchange:
      input.dead_letter_exchange === DEFAULT_EXCHANGE ? DEFAULT_EXCHANGE : text("dead_letter_exchange", input.dead_letter_exchange, (v) => validateName("exchange", v)),
    deadLetterRoutingKey: text("dead_letter_routing_key", input.dead_letter_routing_key, validateRoutingKey),
    deliveryLimit,
    historySize: whole("history_size", input.history_size, MAX_HISTORY_SIZE),
    historyTtl: whole("history_ttl", input.history_ttl),
    historyMaxBytes: whole("history_max_bytes", input.history_max_bytes),
    exclusive: flag("exclusive", input.exclusive),
    autoDelete: flag("auto_delete", input.auto_delete),
  });
  return error ? { ok: false, error } : ok(args);
}

/** The arguments as a queue holds them: every default filled in. */
export type HeldQueueArgs = QueueArgs & { readonly historySize: number };

/** The arguments as a queue of that durability holds them: `history_size` filled in when it was not declared. */
export const withDefaultHistory = (args: QueueArgs, durable: boolean): HeldQueueArgs => ({
  ...args,
  historySize: args.historySize ?? (durable ? DEFAULT_DURABLE_HISTORY_SIZE : 0),
});

/** The API's view of the arguments (snake_case, unset ones left out). */
export function queueArgsView(a: QueueArgs): Record<string, string | number | boolean> {
  const view: Record<string, string | number | boolean | undefined> = {
    max_length: a.maxLength,
    max_bytes: a.maxBytes,
    message_ttl: a.messageTtl,
    overflow: a.overflow,
    dead_letter_exchange: a.deadLetterExchange,
    dead_letter_routing_key: a.deadLetterRoutingKey,
    delivery_limit: a.deliveryLimit,
    history_size: a.historySize,
    history_ttl: a.historyTtl,
    history_max_bytes: a.historyMaxBytes,
    exclusive: a.exclusive,
    auto_delete: a.autoDelete,
  };
  return compact(view) as Record<string, string | number | boolean>;
}

export const sameArgs = (a: QueueArgs, b: QueueArgs): boolean =>
  JSON.stringify(queueArgsView(a)) === JSON.stringify(queueArgsView(b));

function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
