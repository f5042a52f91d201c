/**
 * Every JSON route and every client frame, field by field: what a valid value looks like and what
 * a wrong one does (wrong type, wrong range, or a string standing in for a number or boolean).
 */
import fc from "fast-check";
import { hostileString, oddJsonValue } from "./hostile.ts";

export type FieldKind = "name" | "key" | "string" | "bool" | "int" | "prefetch" | "exchangeType" | "overflow" | "payload" | "headers" | "arguments" | "messageId" | "id";
export type Field = { kind: FieldKind; required?: boolean };
export type Shape = Record<string, Field>;

const QUEUE_ARGS: Shape = {
  max_length: { kind: "int" },
  max_bytes: { kind: "int" },
  message_ttl: { kind: "int" },
  overflow: { kind: "overflow" },
  dead_letter_exchange: { kind: "name" },
  dead_letter_routing_key: { kind: "key" },
  delivery_limit: { kind: "int" },
  history_size: { kind: "int" },
  history_ttl: { kind: "int" },
  history_max_bytes: { kind: "int" },
  auto_delete: { kind: "bool" },
};
const BINDING: Shape = {
  exchange_name: { kind: "name", required: true },
  queue_name: { kind: "name", required: true },
  key: { kind: "key" },
  arguments: { kind: "arguments" },
};
const PUBLISH: Shape = {
  exchange_name: { kind: "string", required: true },
  key: { kind: "key" },
  payload: { kind: "payload", required: true },
  headers: { kind: "headers" },
  ttl: { kind: "int" },
  delay: { kind: "int" },
  message_id: { kind: "messageId" },
};

export type Route = { method: string; path: string; shape: Shape; valid: (n: string) => Record<string, unknown> };

/** Counterexamples print as `POST /queues`, not as the whole table row. */
const named = <T extends object>(row: T, name: string): T => Object.assign(row, { [fc.toStringMethod]: () => name });

/** The fuzz file creates `fz-x` (direct) and `fz-q` (bound with key `k`) before the properties run. */
export const ROUTES: readonly Route[] = ([
  { method: "POST", path: "/exchanges", shape: { name: { kind: "name", required: true }, type: { kind: "exchangeType", required: true }, durable: { kind: "bool" } }, valid: (n) => ({ name: `fz-x-${n}`, type: "fanout", durable: false }) },
  { method: "POST", path: "/queues", shape: { name: { kind: "name", required: true }, durable: { kind: "bool" }, ...QUEUE_ARGS }, valid: (n) => ({ name: `fz-q-${n}`, durable: false, max_length: 10, message_ttl: 60000, overflow: "drop-head", delivery_limit: 3, history_size: 1, auto_delete: false }) },
  { method: "POST", path: "/bindings", shape: BINDING, valid: () => ({ exchange_name: "fz-x", queue_name: "fz-q", key: "k" }) },
  { method: "DELETE", path: "/bindings", shape: BINDING, valid: () => ({ exchange_name: "fz-x", queue_name: "fz-q", key: "never-bound" }) },
  { method: "POST", path: "/publish", shape: PUBLISH, valid: (n) => ({ exchange_name: "fz-x", key: "nobody", payload: { n }, headers: { h: 1 }, ttl: 1000, delay: 0, message_id: `fz-m-${n}` }) },
] as Route[]).map((route) => named(route, `${route.method} ${route.path}`));

export type FrameType = "SUBSCRIBE" | "UNSUBSCRIBE" | "CONSUME" | "CANCEL" | "ACK" | "NACK" | "DECLARE_QUEUE" | "PUBLISH" | "PING" | "AUTH";
export type ClientFrameSpec = { type: FrameType; shape: Shape; valid: (n: string) => Record<string, unknown> };

export const FRAMES: readonly ClientFrameSpec[] = ([
  { type: "SUBSCRIBE", shape: { queue_name: { kind: "string", required: true }, since: { kind: "int" }, id: { kind: "id" } }, valid: () => ({ queue_name: "fz-q", since: 0 }) },
  { type: "UNSUBSCRIBE", shape: { queue_name: { kind: "string", required: true }, id: { kind: "id" } }, valid: () => ({ queue_name: "fz-q" }) },
  { type: "CONSUME", shape: { queue_name: { kind: "string", required: true }, prefetch: { kind: "prefetch" }, id: { kind: "id" } }, valid: () => ({ queue_name: "fz-q", prefetch: 5 }) },
  { type: "CANCEL", shape: { queue_name: { kind: "string", required: true }, id: { kind: "id" } }, valid: () => ({ queue_name: "fz-q" }) },
  { type: "ACK", shape: { delivery_tag: { kind: "int", required: true }, id: { kind: "id" } }, valid: () => ({ delivery_tag: 123456789 }) },
  { type: "NACK", shape: { delivery_tag: { kind: "int", required: true }, requeue: { kind: "bool" }, id: { kind: "id" } }, valid: () => ({ delivery_tag: 123456789, requeue: true }) },
  { type: "DECLARE_QUEUE", shape: { name: { kind: "name" }, durable: { kind: "bool" }, exclusive: { kind: "bool" }, ...QUEUE_ARGS, id: { kind: "id" } }, valid: (n) => ({ name: `fz-wq-${n}`, durable: false, max_length: 10 }) },
  { type: "PUBLISH", shape: { ...PUBLISH, id: { kind: "id" } }, valid: (n) => ({ exchange_name: "fz-x", key: "nobody", payload: { n }, message_id: `fz-wm-${n}` }) },
  { type: "PING", shape: { id: { kind: "id" } }, valid: () => ({}) },
  // The fuzz broker is the loopback guest: any token is accepted and changes nothing.
  { type: "AUTH", shape: { token: { kind: "string", required: true }, id: { kind: "id" } }, valid: (n) => ({ token: `pk_fuzz_${n}` }) },
] as ClientFrameSpec[]).map((frame) => named(frame, frame.type));

const structural = [[], ["a"], {}, { a: 1 }] as const;

/**
 * Values of the wrong type or range for a field: each must be refused (HTTP 400/422, an ERROR
 * frame), never coerced, defaulted or ignored. `null` counts as wrong only for required fields.
 */
export const WRONG: Record<FieldKind, readonly unknown[]> = {
  name: [5, 0, -1, 1.5, true, false, ...structural],
  key: [5, 0, true, false, ...structural],
  string: [5, 0, true, false, ...structural],
  messageId: [5, true, "", "m".repeat(256), ...structural],
  bool: [1, 0, "", "yes", "TRUE", ...structural, [true]],
  int: [-1, 1.5, -0.5, true, false, "", "abc", ...structural, [5]],
  prefetch: [0, -1, 10_001, 1.5, true, "", ...structural, [5]],
  exchangeType: [5, true, ...structural, "", "FANOUT", "fanout ", " direct", "x-delayed-message", "topic\u0000"],
  overflow: [5, true, ...structural, "", "DROP-HEAD", "reject_publish", "drop-head "],
  payload: [],
  /** Message headers are an object whose values may be any JSON (x-death is an array of objects, [REDRIVE-1]). */
  headers: ["ab", 5, true, [], ["a"]],
  /** Binding arguments are what a headers exchange compares: a flat object of scalars. */
  arguments: ["ab", 5, true, [], ["a"], { a: {} }, { a: [1] }, { a: { b: 1 } }],
  id: [true, false, {}, [], [1]],
};

/** A string standing in for a number or a boolean: refused like any wrong type (issue 9, no coercion). */
export const STRINGLY: Partial<Record<FieldKind, readonly unknown[]>> = {
  int: ["5", "100", "0", "1e3", " 5"],
  prefetch: ["5", "10"],
  bool: ["true", "false", "1", "0"],
};

export type Mutation = { field: string; value: unknown; missing: boolean };

/** One field of a valid body made wrong (or left out when required). */
export function wrongField(shape: Shape, table: Partial<Record<FieldKind, readonly unknown[]>>): fc.Arbitrary<Mutation> {
  const choices: fc.Arbitrary<Mutation>[] = [];
  for (const [field, { kind, required }] of Object.entries(shape)) {
    // null is a payload like any JSON value; for other required fields it is as good as missing.
    const values = [...(table[kind] ?? []), ...(required && table === WRONG && kind !== "payload" ? [null] : [])];
    if (values.length > 0) choices.push(fc.constantFrom(...values).map((value) => ({ field, value, missing: false })));
    if (required && table === WRONG) choices.push(fc.constant({ field, value: undefined, missing: true }));
  }
  return choices.length === 0 ? fc.constant({ field: "", value: undefined, missing: true }) : fc.oneof(...choices);
}

/** Whether the table has anything to make wrong in this shape. */
export const hasWrongField = (shape: Shape, table: Partial<Record<FieldKind, readonly unknown[]>>): boolean =>
  Object.values(shape).some(({ kind }) => (table[kind]?.length ?? 0) > 0);

/**
 * A valid body whose field `field` is replaced by raw JSON text (a depth bomb, 1e400, a wide
 * object…): spliced as text, so it reaches the parser exactly as generated.
 */
export function spliceField(body: Record<string, unknown>, field: string, rawValue: string): string {
  const marker = "\u0002SPLICE\u0002";
  return JSON.stringify({ ...body, [field]: marker }).replace(JSON.stringify(marker), () => rawValue);
}

export const applyMutation = (body: Record<string, unknown>, m: Mutation): Record<string, unknown> => {
  const copy = { ...body };
  if (m.missing) delete copy[m.field];
  else copy[m.field] = m.value;
  return copy;
};

/** A value of the field's type (valid-ish): odd strings for names and keys, any JSON for a payload. */
export const anyValueFor = (kind: FieldKind): fc.Arbitrary<unknown> => {
  switch (kind) {
    case "name":
    case "key":
    case "string":
    case "messageId":
      return hostileString;
    case "payload":
      return oddJsonValue;
    case "headers":
    case "arguments":
      return fc.dictionary(hostileString, fc.oneof(fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), hostileString), { maxKeys: 4 });
    default:
      return fc.oneof(fc.constantFrom(...WRONG[kind]), fc.anything());
  }
};

/** Field names that are no field of the shape, not even case-insensitively (the seed's spellings are accepted). */
export const unknownFieldName = (shape: Shape): fc.Arbitrary<string> =>
  fc
    .oneof(fc.constantFrom("max_lenght", "durabel", "typ", "routing_key", "exchange", "queue", "__proto__", "constructor", "x", "", "name ", " type", "arguments2"), fc.string({ minLength: 1, maxLength: 12 }))
    .filter((k) => !Object.keys(shape).some((f) => f.toLowerCase() === k.toLowerCase()) && k.toLowerCase() !== "key" && k !== "id");
