import { errorOf, ErrorCodes, type BrokerError } from "./errors.ts";
import { isDotSegment } from "./path-segments.ts";

import { MAX_MESSAGE_ID_BYTES, MAX_NAME_BYTES, MAX_ROUTING_KEY_BYTES } from "./limits.ts";

/** UTF-8 length without allocating; a lone surrogate counts 3, as TextEncoder encodes it as U+FFFD. */
export const utf8ByteLength = (s: string): number => {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (isHighSurrogate(unit) && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
};

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/** U+0041 style, for messages; `at` is a UTF-16 index, as RegExp reports it. */
const codePointAt = (s: string, at: number): string =>
  `U+${(s.codePointAt(at) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

// ---- printable ---------------------------------------------------------------------------------

/**
 * What a printable name may not contain, one reason per class, tried in this order. A name is read
 * by people in logs, UIs and the CLI: every code point must have an agreed visible form, and two
 * names that look the same must not differ by something invisible.
 * - Cc: C0 and C1 controls and DEL (tab, newline and NEL included).
 * - Cs: a lone surrogate is not Unicode at all; UTF-8 cannot carry it (it would become U+FFFD).
 * - Noncharacters: U+FDD0–U+FDEF and U+xxFFFE/U+xxFFFF, reserved for a program's internal use.
 * - Cf and Default_Ignorable_Code_Point: invisible or reordering characters — BOM U+FEFF, zero-width
 *   space/joiners U+200B–U+200D, bidi overrides U+202A–U+202E and isolates, soft hyphen, variation
 *   selectors, Hangul fillers, tag characters. They let `a\u202Eb` or `\uFEFFq` pass for another name.
 * - Co: private-use code points have no agreed glyph.
 * - Zl, Zp and every Zs but U+0020: line/paragraph separators, and spaces that look like U+0020
 *   (no-break, en, em, ideographic …) but make a different name.
 * - U+FFFD, the replacement character: what a decoder leaves for bytes that were not UTF-8.
 * Unassigned code points (Cn, noncharacters aside) are accepted: which ones are assigned depends on
 * the runtime's Unicode version, and a stored name must not turn invalid with an upgrade.
 */
const NOT_PRINTABLE: readonly (readonly [RegExp, string])[] = [
  [/\p{Cc}/v, "control character"],
  [/\p{Cs}/v, "lone surrogate"],
  [/\p{Noncharacter_Code_Point}/v, "noncharacter"],
  [/[\p{Cf}\p{Default_Ignorable_Code_Point}]/v, "invisible or format character"],
  [/\p{Co}/v, "private-use character"],
  [/[\p{Zl}\p{Zp}]/v, "line or paragraph separator"],
  [/[\p{Zs}--[\x20]]/v, "space other than U+0020"],
  // [FUZZ-6] Decoders put U+FFFD where bytes were not UTF-8 (Bun does so in a raw request path):
  // a name holding it cannot be told from a broken spelling of another.
  [/\uFFFD/v, "replacement character"],
];

/**
 * Null when every code point of `s` is printable (the rule above) and it neither starts nor ends
 * with a space; otherwise why not, naming the code point and its UTF-16 index. The one definition
 * of "printable" for names, over HTTP, WebSocket and the store alike.
 */
export function printableProblem(s: string): string | null {
  for (const [pattern, what] of NOT_PRINTABLE) {
    const found = pattern.exec(s);
    if (found) return `${what} ${codePointAt(s, found.index)} at index ${found.index}`;
  }
  if (s.startsWith(" ") || s.endsWith(" ")) return "a space at its start or end";
  return null;
}

// ---- names --------------------------------------------------------------------------------------

/**
 * Null when `name` may name an exchange or queue; otherwise an INVALID_NAME error saying why:
 * 1–255 bytes of UTF-8, printable (`printableProblem`), and not a dot segment (`.`, `..`), which
 * no URL path can carry.
 */
export const validateName = (kind: "exchange" | "queue", name: unknown): BrokerError | null => {
  const invalid = (why: string) => errorOf(ErrorCodes.INVALID_NAME, `${kind} name ${why}`);
  if (typeof name !== "string") return invalid(`must be a string, got ${describeType(name)}`);
  const bytes = utf8ByteLength(name);
  if (bytes < 1 || bytes > MAX_NAME_BYTES) {
    return invalid(`must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8, got ${bytes}`);
  }
  const unprintable = printableProblem(name);
  if (unprintable) return invalid(`must be printable: ${unprintable}`);
  if (isDotSegment(name)) return invalid(`must not be "${name}": a URL path cannot carry it (it means ${name === "." ? "this" : "the parent"} path)`);
  return null;
};

/**
 * [RESERVED-1] Names starting with `amq.` are the broker's, as in AMQP 0-9-1 and RabbitMQ: server-named
 * queues (`amq.gen-…`) and the name permissions check the default exchange under (`amq.default`).
 * An exchange a client made under such a name would pass for the default exchange in a permission
 * rule. Only creating one is refused: one that exists (stored by an older version) stays usable.
 */
export const RESERVED_PREFIX = "amq.";
export const isReservedName = (name: string): boolean => name.startsWith(RESERVED_PREFIX);

// ---- strings that reach the store as text -------------------------------------------------------

/**
 * Null when `s` can be stored in a text column on every backend and read back unchanged. Postgres
 * text refuses U+0000; a lone surrogate cannot be UTF-8 and would come back as U+FFFD. (Strings
 * stored inside JSON — headers, binding arguments, payloads — are escaped by JSON.stringify and
 * need no such rule.)
 */
export function storableProblem(s: string): string | null {
  const nul = s.indexOf("\u0000");
  if (nul !== -1) return `must not contain U+0000 (at index ${nul}): it cannot be stored`;
  const surrogate = /\p{Cs}/v.exec(s);
  if (surrogate) return `must be valid Unicode: lone surrogate ${codePointAt(s, surrogate.index)} at index ${surrogate.index}`;
  return null;
}

/** Null when `key` can be a message's routing key: any storable string, "" included, of at most 255 bytes. */
export const validateRoutingKey = (key: unknown): BrokerError | null =>
  keyProblem(key, (why) => errorOf(ErrorCodes.VALIDATION, `routing key ${why}`));

/** The same rule for a binding's key or pattern, reported as an invalid binding (B002). */
export const validateBindingKey = (key: unknown): BrokerError | null =>
  keyProblem(key, (why) => errorOf(ErrorCodes.BINDING_INVALID, `binding key ${why}`));

/** Null when `id` is absent or a publisher's message_id: 1 to 255 bytes of UTF-8 (as names and keys), storable. */
export const validateMessageId = (id: unknown): BrokerError | null => {
  if (id === undefined) return null;
  const invalid = (why: string) => errorOf(ErrorCodes.VALIDATION, `message_id ${why}`);
  if (typeof id !== "string" || id.length < 1 || utf8ByteLength(id) > MAX_MESSAGE_ID_BYTES) {
    return invalid(`must be a string of 1 to ${MAX_MESSAGE_ID_BYTES} bytes of UTF-8`);
  }
  const unstorable = storableProblem(id);
  return unstorable ? invalid(unstorable) : null;
};

const keyProblem = (key: unknown, invalid: (why: string) => BrokerError): BrokerError | null => {
  if (typeof key !== "string") return invalid(`must be a string, got ${describeType(key)}`);
  const bytes = utf8ByteLength(key);
  if (bytes > MAX_ROUTING_KEY_BYTES) {
    return invalid(`must be at most ${MAX_ROUTING_KEY_BYTES} bytes of UTF-8, got ${bytes}`);
  }
  const unstorable = storableProblem(key);
  return unstorable ? invalid(unstorable) : null;
};

const describeType = (x: unknown): string =>
  x === null ? "null" : Array.isArray(x) ? "array" : typeof x;
