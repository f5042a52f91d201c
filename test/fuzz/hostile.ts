/**
 * Generators of hostile input: odd Unicode, huge and deeply nested JSON, invalid UTF-8, random
 * bytes. Bodies are text or bytes, never objects, so that what JSON.stringify cannot write
 * (1e400, duplicate keys, lone surrogates as raw UTF-8 bytes) is sent too.
 */
import fc from "fast-check";

/**
 * Characters that have broken brokers, proxies and UIs: controls (C0, DEL, C1), format characters
 * (bidi overrides, BOM, zero-width), lone surrogates, noncharacters, odd whitespace, look-alikes,
 * path and query syntax, and percent escapes that are malformed or decode to path syntax.
 */
export const ODD_PIECES = [
  "\u0000", "\u0001", "\u0008", "\u001b", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f",
  "\u00a0", "\u00ad", "\u034f", "\u061c", "\u115f", "\u180e", "\u2000", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",
  "\u2028", "\u2029", "\u202a", "\u202e", "\u2060", "\u2066", "\u2069", "\u3000", "\ufeff", "\ufff9", "\ufffc", "\ufffd",
  "\ufffe", "\uffff", "\ufdd0", "\ufdef", "\ud800", "\udbff", "\udc00", "\udfff", "\udc00\ud800",
  "\u{1f600}", "\u{1d11e}", "\u{e0001}", "\u{e007f}", "\u{f0000}", "\u{fffff}", "\u{10ffff}", "\u{1fffe}",
  "e\u0301", "\uff45", "\u0435", "\u212a", "\u00df", "\u0130", "\u01c5",
  " ", "  ", "\t", "\n", "\r", "\r\n", "\u000b", "\u000c",
  ".", "..", "/", "//", "\\", "%", "%2e", "%2E", "%2e%2e", "%2f", "%2F", "%5c", "%00", "%zz", "%e", "%%", "%u002e", "%c0%ae", "%ef%bc%8e",
  "?", "#", "&", "=", "+", ";", ",", "*", ">", "#.", "*.", '"', "'", "<", ">", "`", "{", "}", "[", "]", ":", "@", "$", "~", "!",
  "__proto__", "constructor", "prototype", "toString", "amq.", "amq.gen-", "a", "q", "messages", "0", "-1", "null", "true",
] as const;

export const oddPiece = fc.constantFrom(...ODD_PIECES);

/** Short strings made mostly of odd pieces, with some plain and fully random text between. */
export const oddString = (maxPieces = 6): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof({ weight: 5, arbitrary: oddPiece }, fc.string({ maxLength: 4 }), fc.string({ unit: "binary", maxLength: 3 })), {
      minLength: 1,
      maxLength: maxPieces,
    })
    .map((parts) => parts.join(""));

/** Strings around the 255-byte name limit, in 1- to 4-byte characters. */
export const boundaryString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("a", "\u00e9", "\u20ac", "\u{1f600}", "\ud800", "\u0000"), fc.integer({ min: 60, max: 300 }))
  .map(([ch, n]) => ch.repeat(Math.ceil(n / Math.max(1, new TextEncoder().encode(ch).length))));

/** A string of 10 KB to 900 KB: under the default 1 MiB body limit, far over every name limit. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("a", "\u00e9", "\u{1f600}", "\\", '"', "\u0000"), fc.constantFrom(10_000, 100_000, 300_000))
  .map(([ch, n]) => ch.repeat(n));

/** Any string a field may be sent: odd, near the limits, or huge (rarely: they cost time). */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: oddString() },
  { weight: 2, arbitrary: boundaryString },
  { weight: 1, arbitrary: hugeString },
);

/** JSON number literals JSON.stringify never writes, and ones at the edges of doubles and integers. */
export const ODD_NUMBERS = [
  "1e400", "-1e400", "1e-400", "-0", "0.0", "5.0", "5e0", "0.5", "-1", "4294967296", "9007199254740991", "9007199254740993",
  "18446744073709551616", "123456789012345678901234567890", "1E+2", "0e0", "-0.0",
] as const;

/**
 * Depth bombs: nested arrays or objects, closed or not. The issue's case is 100,000 arrays; 4,500
 * arrays in a validated field already answered 500 [FUZZ-1], 10,000 objects cost 700 MB [FUZZ-2].
 */
export const DEPTHS = [100, 1_000, 4_500, 10_000, 100_000] as const;
export const depthBomb: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...DEPTHS), fc.constantFrom("array", "object", "unclosed", "mixed"))
  .map(([depth, shape]) => nested(depth, shape as "array"));

export type NestShape = "array" | "object" | "unclosed" | "mixed";
export function nested(depth: number, shape: NestShape): string {
  switch (shape) {
    case "array":
      return "[".repeat(depth) + "]".repeat(depth);
    case "object":
      return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    case "unclosed":
      return "[".repeat(depth);
    case "mixed":
      return '[{"a":'.repeat(depth / 2) + "0" + "}]".repeat(depth / 2);
  }
}

/** Objects with many keys (up to 50,000), or one key repeated (JSON.parse keeps the last). */
export const wideObject: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(1_000, 10_000, 50_000), fc.boolean())
  .map(([keys, duplicate]) => `{${Array.from({ length: keys }, (_, i) => `"${duplicate ? "k" : `k${i}`}":${i}`).join(",")}}`);

/** Any JSON value, strings drawn from the odd ones. */
export const oddJsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    oddString(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(oddString(3), tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Text that is JSON only in places: hostile structure, numbers and strings, truncated or not. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: depthBomb },
  { weight: 1, arbitrary: wideObject },
  { weight: 4, arbitrary: oddJsonValue.map((v) => JSON.stringify(v) ?? "null") },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_NUMBERS) },
  { weight: 1, arbitrary: hugeString.map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: oddJsonValue.chain((v) => {
      const text = JSON.stringify(v) ?? "null";
      return fc.nat(text.length).map((cut) => text.slice(0, cut));
    }),
  },
);

/** Bytes that are not valid UTF-8: stray continuation bytes, overlong forms, CESU surrogates, truncations, > U+10FFFF. */
export const INVALID_UTF8: readonly (readonly number[])[] = [
  [0xff], [0xfe], [0x80], [0xbf], [0xc0, 0x80], [0xc0, 0xae], [0xc1, 0xbf], [0xe0, 0x80, 0xae], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3], [0xfe, 0xff],
];
export const invalidUtf8 = fc.constantFrom(...INVALID_UTF8);

const encoder = new TextEncoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
export const concatBytes = (...parts: (Uint8Array | readonly number[])[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** `before` + invalid UTF-8 + `after`: a JSON string whose bytes are not UTF-8. */
export const withInvalidUtf8 = (before: string, bad: readonly number[], after: string): Uint8Array =>
  concatBytes(utf8(before), bad, utf8(after));

/** Raw bodies: random bytes, JSON behind a BOM or in UTF-16, JSON with invalid UTF-8 in a string. */
export const hostileBodyBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1000, maxLength: 20_000 }),
  hostileJsonText.map((t) => concatBytes([0xef, 0xbb, 0xbf], utf8(t))),
  oddJsonValue.map((v) => new Uint8Array(Buffer.from(JSON.stringify(v) ?? "null", "utf16le"))),
  fc.tuple(oddString(), invalidUtf8, oddString()).map(([a, bad, b]) => withInvalidUtf8(`{"name":"${a}`, bad, `${b}","type":"fanout"}`)),
);
