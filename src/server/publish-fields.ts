import type { PublishRequest } from "../broker/broker.ts";
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { isHeaderScalar, type BindingArgs, type MessageHeaders } from "../core/exchanges/types.ts";
import { validateMessageId } from "../core/names.ts";
import { MAX_HEADERS } from "./limits.ts";

/**
 * The checks a publish and a binding's arguments go through on both transports: the HTTP body
 * (app.ts) and the WebSocket frame (ws-frames.ts) import them from here, so both give one verdict.
 */

/** A publish body or PUBLISH frame payload (already checked against its model) → what the broker publishes. */
export function parsePublishRequest(payload: Record<string, unknown>): Result<PublishRequest> {
  if (typeof payload.exchange_name !== "string") return fail(ErrorCodes.VALIDATION, "exchange_name must be a string");
  const key = payload.key ?? payload.Key ?? "";
  if (typeof key !== "string") return fail(ErrorCodes.VALIDATION, "key must be a string");
  if (!("payload" in payload) || payload.payload === undefined) return fail(ErrorCodes.VALIDATION, "payload is required (any JSON value)");
  const headers = parseHeaders(payload.headers);
  if (!headers.ok) return headers;
  for (const name of ["ttl", "delay"] as const) {
    if (payload[name] !== undefined && !isWhole(payload[name])) return fail(ErrorCodes.VALIDATION, `${name} must be a whole number of milliseconds`);
  }
  const messageId = payload.message_id;
  const messageIdError = validateMessageId(messageId);
  if (messageIdError) return { ok: false, error: messageIdError };
  return ok({
    exchange: payload.exchange_name,
    routingKey: key,
    body: JSON.stringify(payload.payload),
    headers: headers.value,
    ttl: payload.ttl as number | undefined,
    delay: payload.delay as number | undefined,
    messageId: messageId as string | undefined,
  });
}

/**
 * A message's headers: an object of JSON values. Scalars are what a headers exchange matches;
 * structured values (a redriven message's `x-death` records) are carried as they are.
 */
export function parseHeaders(raw: unknown): Result<MessageHeaders> {
  return headerTable(raw, "headers", (v) => v !== undefined, "any JSON value");
}

/** A binding's arguments: scalars only (isHeaderScalar), as they are part of the binding's identity. */
export function parseBindingArgs(raw: unknown): Result<BindingArgs> {
  return headerTable(raw, "binding arguments", isHeaderScalar, "a string, number, boolean or null") as Result<BindingArgs>;
}

function headerTable(raw: unknown, what: string, valid: (v: unknown) => boolean, expected: string): Result<MessageHeaders> {
  if (raw === undefined || raw === null) return ok({});
  if (!isObject(raw)) return fail(ErrorCodes.VALIDATION, `${what} must be an object, got ${Array.isArray(raw) ? "an array" : typeof raw}`);
  const names = Object.keys(raw);
  if (names.length > MAX_HEADERS) return fail(ErrorCodes.VALIDATION, `${what} may have at most ${MAX_HEADERS} entries, got ${names.length}`);
  for (const name of names) {
    // [PROTO-1] Copied by assignment anywhere, "__proto__" sets a prototype instead of a key: a
    // binding argument so named was listed as {} and could not be deleted as listed.
    if (name === "__proto__") return fail(ErrorCodes.VALIDATION, `${what}: "__proto__" is a reserved name`);
    if (!valid(raw[name])) return fail(ErrorCodes.VALIDATION, `${what}: "${name}" must be ${expected}`);
  }
  return ok(raw as MessageHeaders);
}

/** A whole number JSON can carry exactly (a seq, a tag, milliseconds). */
export const isWhole = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
