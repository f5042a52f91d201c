import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { MAX_JSON_DEPTH } from "./limits.ts";

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Bytes to text, refusing invalid UTF-8 [UTF8-1]: `Request.text()` replaces it with U+FFFD
 * silently, so two different byte strings became one queue name.
 */
export function decodeUtf8(bytes: Uint8Array | ArrayBuffer): string | null {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return null;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * The subtrees of `text` nested deeper than `maxDepth`, as [start, end] offsets of each outermost
 * one, found without parsing (strings skipped by indexOf). Linear, and free for short texts.
 */
export function tooDeep(text: string, maxDepth = MAX_JSON_DEPTH): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  if (text.length <= maxDepth * 2 || !opensMoreThan(text, maxDepth)) return ranges;
  let depth = 0;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) break; // unterminated: JSON.parse will say so
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth && start < 0) start = i;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (depth-- === maxDepth + 1 && start >= 0) {
        ranges.push([start, i]);
        start = -1;
      }
    }
  }
  if (start >= 0) ranges.push([start, text.length - 1]);
  return ranges;
}

/** Whether `text` has more than `n` brackets that open: if not, nothing in it nests deeper. Native indexOf, not a loop per character. */
function opensMoreThan(text: string, n: number): boolean {
  // Two loops, not one over ["{", "["]: that array and its iterator were half the cost per frame.
  let count = 0;
  for (let at = text.indexOf("{"); at >= 0; at = text.indexOf("{", at + 1)) if (++count > n) return true;
  for (let at = text.indexOf("["); at >= 0; at = text.indexOf("[", at + 1)) if (++count > n) return true;
  return false;
}

function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return at;
  }
}

/** JSON.parse with nesting bounded first, so hostile input is refused in linear time. */
export function parseJson(text: string, what: string): Result<unknown> {
  if (tooDeep(text).length > 0) {
    return fail(ErrorCodes.BAD_JSON, `${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(ErrorCodes.BAD_JSON, `${what} is not valid JSON`);
  }
  // [FUZZ-4] 1e400 parses to Infinity, which JSON.stringify turns into null: the payload would
  // change silently. Only a text that could hold such a number is walked.
  if (MAYBE_OUT_OF_RANGE.test(text) && holdsNonFinite(value)) {
    return fail(ErrorCodes.BAD_JSON, `${what} holds a number out of range (larger than a 64-bit float holds)`);
  }
  return ok(value);
}

/** An exponent of three digits or more, or 309 digits in a row: the only ways to pass ±1.8e308. */
const MAYBE_OUT_OF_RANGE = /[eE][+]?0*[1-9]\d{2}|\d{309}/;

function holdsNonFinite(value: unknown): boolean {
  if (typeof value === "number") return !Number.isFinite(value);
  if (typeof value !== "object" || value === null) return false;
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (holdsNonFinite(item)) return true;
  return false;
}

/** `text` with every subtree deeper than the limit replaced by null: cheap to parse for its envelope. */
export function pruneDeep(text: string): string {
  const ranges = tooDeep(text);
  if (ranges.length === 0) return text;
  let out = "";
  let from = 0;
  for (const [start, end] of ranges) {
    out += `${text.slice(from, start)}null`;
    from = end + 1;
  }
  return out + text.slice(from);
}
