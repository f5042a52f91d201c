import type { PublishRequest } from "../broker/broker.ts";
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { DEFAULT_PREFETCH, MAX_PREFETCH } from "../core/limits.ts";
import { parseQueueArgs, type QueueArgs } from "../core/queue-args.ts";
import { bodyCheck } from "./body-check.ts";
import { parseJson, pruneDeep } from "./json-text.ts";
import { frameModels } from "./schemas.ts";
import { isObject, isWhole, parsePublishRequest } from "./publish-fields.ts";

type Id = string | number | undefined;

/** Frames a client may send. `id` is optional: when present the broker answers with a frame naming it. */
export type ClientFrame =
  | { type: "SUBSCRIBE"; queue: string; since?: number; id: Id }
  | { type: "UNSUBSCRIBE"; queue: string; id: Id }
  | { type: "CONSUME"; queue: string; prefetch: number; id: Id }
  | { type: "CANCEL"; queue: string; id: Id }
  | { type: "ACK"; tag: number; id: Id }
  | { type: "NACK"; tag: number; requeue: boolean; id: Id }
  | { type: "DECLARE_QUEUE"; name: string | undefined; durable: boolean; args: QueueArgs; id: Id }
  | { type: "PUBLISH"; publish: PublishRequest; id: Id }
  | { type: "PING"; id: Id };

/** [STRICT-2] The closed payload model of each frame type, checked before the frame's own rules. */
const PAYLOAD_CHECKS: Record<string, (payload: unknown) => Result<unknown>> = {
  SUBSCRIBE: bodyCheck(frameModels.SubscribeFrame),
  UNSUBSCRIBE: bodyCheck(frameModels.QueueFrame),
  CANCEL: bodyCheck(frameModels.QueueFrame),
  CONSUME: bodyCheck(frameModels.ConsumeFrame),
  ACK: bodyCheck(frameModels.AckFrame),
  NACK: bodyCheck(frameModels.NackFrame),
  PING: bodyCheck(frameModels.PingFrame),
  DECLARE_QUEUE: bodyCheck(frameModels.DeclareQueueFrame),
  PUBLISH: bodyCheck(frameModels.PublishFrame),
};

/** Parses and checks one text frame before anything acts on it. */
export function parseClientFrame(text: string): Result<ClientFrame> {
  const parsed = parseJson(text, "frame"); // [DEPTH-1] nesting bounded before parsing
  if (!parsed.ok) return parsed;
  const frame = seedEnvelope(parsed.value);
  if (!isObject(frame) || typeof frame.type !== "string") {
    return fail(ErrorCodes.VALIDATION, 'frame must be a JSON object with a string "type"');
  }
  const payload = frame.payload === undefined ? {} : frame.payload;
  if (!isObject(payload)) return fail(ErrorCodes.VALIDATION, '"payload" must be an object');
  const id = payload.id ?? frame.id;
  if (id !== undefined && typeof id !== "string" && typeof id !== "number") {
    return fail(ErrorCodes.VALIDATION, '"id" must be a string or a number');
  }
  const checked = PAYLOAD_CHECKS[frame.type]?.(payload);
  if (checked !== undefined && !checked.ok) return fail(checked.error.code, `${frame.type}: ${checked.error.message.replace(/^request body/, "payload")}`);
  const queue = (): Result<string> =>
    typeof payload.queue_name === "string" ? ok(payload.queue_name) : fail(ErrorCodes.VALIDATION, `${frame.type} needs payload.queue_name (string)`);
  const tag = (): Result<number> =>
    isWhole(payload.delivery_tag) ? ok(payload.delivery_tag) : fail(ErrorCodes.VALIDATION, `${frame.type} needs payload.delivery_tag (a whole number)`);

  switch (frame.type) {
    case "SUBSCRIBE": {
      const q = queue();
      if (!q.ok) return q;
      // null is "no since", as a client that always sends the field means it.
      const since = payload.since ?? undefined;
      if (since !== undefined && !isWhole(since)) return fail(ErrorCodes.VALIDATION, "since must be a whole number (a seq) or null");
      return ok({ type: "SUBSCRIBE", queue: q.value, since, id });
    }
    case "UNSUBSCRIBE":
    case "CANCEL": {
      const q = queue();
      return q.ok ? ok({ type: frame.type, queue: q.value, id }) : q;
    }
    case "CONSUME": {
      const q = queue();
      if (!q.ok) return q;
      const prefetch = payload.prefetch ?? DEFAULT_PREFETCH;
      if (!isWhole(prefetch) || prefetch < 1 || prefetch > MAX_PREFETCH) {
        return fail(ErrorCodes.VALIDATION, `prefetch must be a whole number from 1 to ${MAX_PREFETCH}`);
      }
      return ok({ type: "CONSUME", queue: q.value, prefetch, id });
    }
    case "ACK": {
      const t = tag();
      return t.ok ? ok({ type: "ACK", tag: t.value, id }) : t;
    }
    case "NACK": {
      const t = tag();
      if (!t.ok) return t;
      if (payload.requeue !== undefined && typeof payload.requeue !== "boolean") return fail(ErrorCodes.VALIDATION, "requeue must be true or false");
      return ok({ type: "NACK", tag: t.value, requeue: payload.requeue !== false, id });
    }
    case "DECLARE_QUEUE": {
      const args = parseQueueArgs(payload);
      if (!args.ok) return args;
      return ok({ type: "DECLARE_QUEUE", name: payload.name as string | undefined, durable: payload.durable === true, args: args.value, id });
    }
    case "PUBLISH": {
      const fields = parsePublishRequest(payload);
      return fields.ok ? ok({ type: "PUBLISH", publish: fields.value, id }) : fields;
    }
    case "PING":
      return ok({ type: "PING", id });
    default:
      return fail(ErrorCodes.UNKNOWN_FRAME, `unknown frame type ${JSON.stringify(frame.type)}`);
  }
}

/**
 * The id of a frame parseClientFrame refused, if it carried a usable one (its ERROR names it).
 * Too-deep parts are cut out first, so a depth bomb's ERROR still names its id [DEPTH-2].
 */
export function frameIdOf(text: string): string | number | undefined {
  try {
    const frame: unknown = JSON.parse(pruneDeep(text));
    if (!isObject(frame)) return undefined;
    const id = (isObject(frame.payload) ? frame.payload.id : undefined) ?? frame.id;
    return typeof id === "string" || typeof id === "number" ? id : undefined;
  } catch {
    return undefined;
  }
}



/**
 * The seed's Go server read frames into structs, matching `Type`, `Payload` and `Queue_Name`
 * case-insensitively; only when the exact name is missing are the other spellings looked for.
 */
function seedEnvelope(frame: unknown): unknown {
  if (!isObject(frame)) return frame;
  const fixed = frame.type === undefined || frame.payload === undefined ? renameCaseInsensitive(frame, ["type", "payload"]) : frame;
  if (isObject(fixed.payload) && fixed.payload.queue_name === undefined) fixed.payload = renameCaseInsensitive(fixed.payload, ["queue_name"]);
  return fixed;
}

function renameCaseInsensitive(o: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out = { ...o };
  for (const key of Object.keys(o)) {
    const name = names.find((n) => n === key.toLowerCase());
    if (name !== undefined && !(name in out)) {
      out[name] = out[key];
      delete out[key];
    }
  }
  return out;
}
