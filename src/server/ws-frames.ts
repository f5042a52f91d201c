import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { PublishRequest } from "../broker/broker.ts";
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { DEFAULT_PREFETCH } from "../core/limits.ts";
import { parseQueueArgs, type QueueArgs } from "../core/queue-args.ts";
import { bodyCheck, type BodyCheck } from "./body-check.ts";
import { parseJson, pruneDeep } from "./json-text.ts";
import { isObject, isWhole, parsePublishRequest } from "./publish-fields.ts";
import { ClientEnvelope, clientPayloads, FrameId, type ClientFrameType } from "./ws-schemas.ts";

type Id = string | number | undefined;

/** Frames a client may send. `id` is optional: when present the broker answers with a frame naming it. */
export type ClientFrame =
  | { type: "SUBSCRIBE"; queue: string; since?: number; batch: boolean; id: Id }
  | { type: "UNSUBSCRIBE"; queue: string; id: Id }
  | { type: "CONSUME"; queue: string; prefetch: number; id: Id }
  | { type: "CANCEL"; queue: string; id: Id }
  | { type: "ACK"; tag: number; id: Id }
  | { type: "NACK"; tag: number; requeue: boolean; id: Id }
  | { type: "DECLARE_QUEUE"; name: string | undefined; durable: boolean; args: QueueArgs; id: Id }
  | { type: "PUBLISH"; publish: PublishRequest; id: Id }
  | { type: "PING"; id: Id }
  | { type: "AUTH"; token: string; id: Id };

/** A payload that passed its model (ws-schemas.ts) → the frame, after the rules a schema cannot say. */
type Reader<T extends ClientFrameType> = (payload: Record<string, unknown>, id: Id) => Result<Extract<ClientFrame, { type: T }>>;

const tag = (type: string, payload: Record<string, unknown>): Result<number> =>
  // The model says integer ≥ 0; a tag past 2^53 could not be one we gave out exactly.
  isWhole(payload.delivery_tag) ? ok(payload.delivery_tag) : fail(ErrorCodes.VALIDATION, `${type} needs payload.delivery_tag (a whole number)`);

/**
 * One reader per type in clientPayloads, and no other: the mapped type makes a frame type without
 * a schema, or a schema without a reader, a compile error. Fields the models guarantee (queue_name
 * is a string, prefetch in range, requeue a boolean) are not checked again.
 */
const READERS: { [T in ClientFrameType]: Reader<T> } = {
  SUBSCRIBE: (payload, id) => {
    // null is "no since", as a client that always sends the field means it.
    const since = payload.since ?? undefined;
    if (since !== undefined && !isWhole(since)) return fail(ErrorCodes.VALIDATION, "since must be a whole number (a seq) or null");
    return ok({ type: "SUBSCRIBE", queue: payload.queue_name as string, since, batch: payload.batch === true, id });
  },
  UNSUBSCRIBE: (payload, id) => ok({ type: "UNSUBSCRIBE", queue: payload.queue_name as string, id }),
  CANCEL: (payload, id) => ok({ type: "CANCEL", queue: payload.queue_name as string, id }),
  CONSUME: (payload, id) => ok({ type: "CONSUME", queue: payload.queue_name as string, prefetch: (payload.prefetch as number | undefined) ?? DEFAULT_PREFETCH, id }),
  ACK: (payload, id) => {
    const t = tag("ACK", payload);
    return t.ok ? ok({ type: "ACK", tag: t.value, id }) : t;
  },
  NACK: (payload, id) => {
    const t = tag("NACK", payload);
    return t.ok ? ok({ type: "NACK", tag: t.value, requeue: payload.requeue !== false, id }) : t;
  },
  DECLARE_QUEUE: (payload, id) => {
    const args = parseQueueArgs(payload);
    if (!args.ok) return args;
    return ok({ type: "DECLARE_QUEUE", name: payload.name as string | undefined, durable: payload.durable === true, args: args.value, id });
  },
  PUBLISH: (payload, id) => {
    const fields = parsePublishRequest(payload);
    return fields.ok ? ok({ type: "PUBLISH", publish: fields.value, id }) : fields;
  },
  PING: (_payload, id) => ok({ type: "PING", id }),
  AUTH: (payload, id) => ok({ type: "AUTH", token: payload.token as string, id }),
};

type FrameType = { check: BodyCheck<unknown>; read: Reader<ClientFrameType> };
/** A Map, not an object: a frame typed "toString" or "__proto__" must be unknown, not Object.prototype's. */
const FRAME_TYPES = new Map<string, FrameType>(
  (Object.keys(clientPayloads) as ClientFrameType[]).map((type) => [type, { check: bodyCheck(clientPayloads[type]), read: READERS[type] as Reader<ClientFrameType> }]),
);
const envelope = TypeCompiler.Compile(ClientEnvelope);
const frameId = TypeCompiler.Compile(FrameId);

/** Parses and checks one text frame before anything acts on it. */
export function parseClientFrame(text: string): Result<ClientFrame> {
  const parsed = parseJson(text, "frame"); // [DEPTH-1] nesting bounded before parsing
  if (!parsed.ok) return parsed;
  const frame = seedEnvelope(parsed.value);
  if (!envelope.Check(frame)) {
    return envelope.Errors(frame).First()?.path.startsWith("/payload")
      ? fail(ErrorCodes.VALIDATION, '"payload" must be an object')
      : fail(ErrorCodes.VALIDATION, 'frame must be a JSON object with a string "type"');
  }
  const payload: Record<string, unknown> = frame.payload ?? {};
  const id = (payload.id ?? (frame as { id?: unknown }).id) as Id;
  if (id !== undefined && !frameId.Check(id)) return fail(ErrorCodes.VALIDATION, '"id" must be a string or a number');
  const type = FRAME_TYPES.get(frame.type);
  if (type === undefined) return fail(ErrorCodes.UNKNOWN_FRAME, `unknown frame type ${JSON.stringify(frame.type)}`);
  const checked = type.check(payload);
  if (!checked.ok) return fail(checked.error.code, `${frame.type}: ${checked.error.message.replace(/^request body/, "payload")}`);
  return type.read(payload, id);
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
  // Every frame's payload comes here (a PUBLISH has no queue_name): copy only when a key is renamed.
  if (!needsRename(o, names)) return o;
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

/** Whether some key of `o` is one of `names` in other letter case (a loop, not a closure per frame). */
function needsRename(o: Record<string, unknown>, names: readonly string[]): boolean {
  for (const key in o) {
    const lower = key.toLowerCase();
    if (lower !== key && names.includes(lower)) return true;
  }
  return false;
}
