import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import type { Headers, HeaderValue } from "../core/exchanges/types.ts";

/** Frames a client may send. `id` is optional: when present the broker answers with a frame naming it. */
export type ClientFrame =
  | { type: "SUBSCRIBE"; queue: string; id?: string | number }
  | { type: "UNSUBSCRIBE"; queue: string; id?: string | number }
  | { type: "PUBLISH"; exchange: string; key: string; body: string; headers: Headers; id?: string | number }
  | { type: "PING"; id?: string | number };

/** Parses and checks one text frame before anything acts on it. */
export function parseClientFrame(text: string): Result<ClientFrame> {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return fail(ErrorCodes.BAD_JSON, "frame is not valid JSON");
  }
  if (!isObject(frame) || typeof frame.type !== "string") {
    return fail(ErrorCodes.VALIDATION, 'frame must be a JSON object with a string "type"');
  }
  const payload = frame.payload === undefined ? {} : frame.payload;
  if (!isObject(payload)) return fail(ErrorCodes.VALIDATION, '"payload" must be an object');
  const id = payload.id ?? frame.id;
  if (id !== undefined && typeof id !== "string" && typeof id !== "number") {
    return fail(ErrorCodes.VALIDATION, '"id" must be a string or a number');
  }
  switch (frame.type) {
    case "SUBSCRIBE":
    case "UNSUBSCRIBE": {
      if (typeof payload.queue_name !== "string") {
        return fail(ErrorCodes.VALIDATION, `${frame.type} needs payload.queue_name (string)`);
      }
      return ok({ type: frame.type, queue: payload.queue_name, id });
    }
    case "PUBLISH": {
      if (typeof payload.exchange_name !== "string") {
        return fail(ErrorCodes.VALIDATION, "PUBLISH needs payload.exchange_name (string)");
      }
      const key = payload.key ?? payload.Key ?? "";
      if (typeof key !== "string") return fail(ErrorCodes.VALIDATION, "payload.key must be a string");
      if (!("payload" in payload)) return fail(ErrorCodes.VALIDATION, "PUBLISH needs payload.payload (any JSON value)");
      const headers = parseHeaders(payload.headers);
      if (!headers.ok) return headers;
      return ok({
        type: "PUBLISH",
        exchange: payload.exchange_name,
        key,
        body: JSON.stringify(payload.payload),
        headers: headers.value,
        id,
      });
    }
    case "PING":
      return ok({ type: "PING", id });
    default:
      return fail(ErrorCodes.UNKNOWN_FRAME, `unknown frame type ${JSON.stringify(frame.type)}`);
  }
}

/** Headers are a flat object of scalars: what a headers exchange can match. */
export function parseHeaders(raw: unknown): Result<Headers> {
  if (raw === undefined || raw === null) return ok({});
  if (!isObject(raw)) return fail(ErrorCodes.VALIDATION, "headers must be an object of strings, numbers, booleans or null");
  for (const [name, value] of Object.entries(raw)) {
    if (!isHeaderValue(value)) {
      return fail(ErrorCodes.VALIDATION, `header "${name}" must be a string, number, boolean or null`);
    }
  }
  return ok(raw as Headers);
}

const isHeaderValue = (v: unknown): v is HeaderValue =>
  v === null || typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
