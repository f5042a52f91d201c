import { describe, expect, test } from "bun:test";
import { ErrorCodes } from "../../src/core/errors.ts";
import { MAX_NAME_BYTES } from "../../src/core/limits.ts";
import {
  printableProblem,
  utf8ByteLength,
  validateBindingKey,
  validateMessageId,
  validateName,
  validateRoutingKey,
} from "../../src/core/names.ts";

const euro = "€"; // 3 bytes in UTF-8
const emoji = "🐇"; // 4 bytes, two UTF-16 units

/**
 * [what, name, valid?]. [NAME-2] is the printable rule (src/core/names.ts `printableProblem`),
 * [NAME-1] the names a URL path cannot carry.
 */
const NAME_CASES: readonly (readonly [string, unknown, boolean])[] = [
  ["plain", "orders", true],
  ["dots, dashes, spaces", "amq.gen orders-1_x", true],
  ["one byte", "a", true],
  ["emoji", `jobs${emoji}`, true],
  ["Cyrillic look-alike \"оrders\" (visible; spoofing by look-alike letters is not a code point rule)", "\u043erders", true],
  ["Greek omicron look-alike", "\u03bfrders", true],
  ["combining acute accent (visible, attached)", "cafe\u0301", true],
  ["Braille blank U+2800 (a visible So symbol, blank in most fonts)", "a\u2800b", true],
  ["unassigned U+0378 (depends on the Unicode version: accepted)", "a\u0378b", true],
  ["255 one-byte chars", "a".repeat(255), true],
  ["255 bytes of 3-byte chars", euro.repeat(85), true],
  ["256 bytes: 85 x 3-byte + 1", `${euro.repeat(85)}a`, false],
  ["252 + 4-byte emoji = 256 bytes", `${"a".repeat(252)}${emoji}`, false],
  ["251 + 4-byte emoji = 255 bytes", `${"a".repeat(251)}${emoji}`, true],
  ["empty", "", false],
  // Cc
  ["tab", "a\tb", false],
  ["newline", "a\nb", false],
  ["NUL", "a\u0000b", false],
  ["DEL U+007F", "a\u007fb", false],
  ["NEL U+0085 (C1)", "a\u0085b", false],
  ["U+009F (last C1)", "\u009f", false],
  // Cs
  ["lone high surrogate", "a\ud83d", false],
  ["lone low surrogate", "\udc07a", false],
  ["reversed surrogate pair", "\udc07\ud83d", false],
  // [NAME-2] Cf and default-ignorable: invisible or reordering
  ["[NAME-2] right-to-left override U+202E", "a\u202eb", false],
  ["[NAME-2] left-to-right embedding U+202A", "\u202aab", false],
  ["[NAME-2] first strong isolate U+2068", "a\u2068b", false],
  ["[NAME-2] byte order mark U+FEFF", "\ufeffq", false],
  ["[NAME-2] zero-width space U+200B", "a\u200bb", false],
  ["[NAME-2] zero-width joiner U+200D (emoji ZWJ sequences too)", "\u{1f468}\u200d\u{1f469}", false],
  ["[NAME-2] word joiner U+2060", "a\u2060b", false],
  ["[NAME-2] soft hyphen U+00AD", "or\u00adders", false],
  ["[NAME-2] Arabic letter mark U+061C", "a\u061cb", false],
  ["[NAME-2] variation selector-16 U+FE0F", "\u2764\ufe0f", false],
  ["the heart U+2764 without its selector", "\u2764", true],
  ["[NAME-2] combining grapheme joiner U+034F", "a\u034fb", false],
  ["[NAME-2] Hangul filler U+3164 (Lo, but default-ignorable)", "\u3164", false],
  ["[NAME-2] tag letter U+E0041", "a\u{e0041}", false],
  ["[NAME-2] interlinear annotation U+FFF9", "a\ufff9b", false],
  // [NAME-2] noncharacters and private use
  ["[NAME-2] noncharacter U+FFFF", "\uffff", false],
  ["[NAME-2] noncharacter U+FFFE", "a\ufffe", false],
  ["[NAME-2] noncharacter U+FDD0", "\ufdd0", false],
  ["[NAME-2] noncharacter U+10FFFF", "a\u{10ffff}", false],
  ["[NAME-2] noncharacter U+1FFFE", "a\u{1fffe}", false],
  ["[NAME-2] private use U+E000", "a\ue000", false],
  ["[NAME-2] supplementary private use U+F0000", "\u{f0000}", false],
  ["[FUZZ-6] replacement character U+FFFD (left where bytes were not UTF-8): refused", "a\ufffdb", false],
  // [NAME-2] whitespace: only U+0020, and not at either end
  ["[NAME-2] a single space", " ", false],
  ["[NAME-2] only spaces", "   ", false],
  ["[NAME-2] leading space", " orders", false],
  ["[NAME-2] trailing space", "orders ", false],
  ["two spaces inside", "a  b", true],
  ["[NAME-2] no-break space U+00A0 looks like a space", "a\u00a0b", false],
  ["[NAME-2] narrow no-break space U+202F", "a\u202fb", false],
  ["[NAME-2] em space U+2003", "a\u2003b", false],
  ["[NAME-2] ideographic space U+3000", "a\u3000b", false],
  ["[NAME-2] ogham space mark U+1680", "a\u1680b", false],
  ["[NAME-2] line separator U+2028", "a\u2028b", false],
  ["[NAME-2] paragraph separator U+2029", "a\u2029b", false],
  ["[NAME-2] Mongolian vowel separator U+180E", "a\u180eb", false],
  // [NAME-1] dot segments: no encoding carries them
  ["[NAME-1] \".\"", ".", false],
  ["[NAME-1] \"..\"", "..", false],
  ["three dots are no dot segment", "...", true],
  ["dot and letter", ".a", true],
  ["literal %2e (encoded as %252e)", "%2e", true],
  ["backslash (carried as %5C)", "a\\b", true],
  ["slash (carried as %2F)", "a/b", true],
  ["\"./..\" (carried as .%2F..)", "./..", true],
  ["number", 42, false],
  ["null", null, false],
  ["undefined", undefined, false],
  ["array", ["orders"], false],
];

describe("validateName", () => {
  for (const [what, name, valid] of NAME_CASES) {
    test(`${what}: ${valid ? "accepted" : "INVALID_NAME"}`, () => {
      const error = validateName("queue", name);
      if (valid) expect(error).toBeNull();
      else expect(error?.code).toBe(ErrorCodes.INVALID_NAME);
    });
  }

  test("the messages say what is wrong, in bytes", () => {
    expect(validateName("queue", "a".repeat(300))?.message).toBe("queue name must be 1 to 255 bytes of UTF-8, got 300");
    expect(validateName("exchange", "")?.message).toBe("exchange name must be 1 to 255 bytes of UTF-8, got 0");
    expect(validateName("queue", "a\u0085")?.message).toContain("U+0085 at index 1");
    expect(validateName("queue", 7)?.message).toBe("queue name must be a string, got number");
    expect(validateName("queue", "a\u202eb")?.message).toBe("queue name must be printable: invisible or format character U+202E at index 1");
    expect(validateName("queue", "x\u{10ffff}")?.message).toBe("queue name must be printable: noncharacter U+10FFFF at index 1");
    expect(validateName("queue", "a\u00a0")?.message).toBe("queue name must be printable: space other than U+0020 U+00A0 at index 1");
    expect(validateName("queue", " ")?.message).toBe("queue name must be printable: a space at its start or end");
    expect(validateName("exchange", "..")?.message).toContain('must not be "..": a URL path cannot carry it');
  });

  test("[NAME-2] printableProblem is the one rule: every refused code point class, and nothing visible", () => {
    // One of each refused class, alone: each is refused whatever surrounds it.
    for (const cp of [0x0, 0x1f, 0x7f, 0x9f, 0xad, 0x200b, 0x200e, 0x202e, 0x2066, 0xfeff, 0xfe00, 0xe000, 0xfdef, 0xfffe, 0x2028, 0x2029, 0x3000, 0xe0001]) {
      expect(printableProblem(`a${String.fromCodePoint(cp)}b`)).not.toBeNull();
    }
    // Printable ASCII, Latin-1 letters, CJK, emoji: accepted.
    for (let cp = 0x21; cp < 0x7f; cp++) expect(printableProblem(String.fromCodePoint(cp))).toBeNull();
    for (const s of ["é", "ß", "日本", "🐇", "Ω", "\u0915\u094d\u0937"]) expect(printableProblem(s)).toBeNull();
  });

  test("MAX_NAME_BYTES is AMQP's shortstr limit", () => expect(MAX_NAME_BYTES).toBe(255));
});

describe("validateRoutingKey", () => {
  const cases: readonly (readonly [string, unknown, boolean])[] = [
    ["empty", "", true],
    ["dotted", "a.b.c", true],
    ["255 bytes", euro.repeat(85), true],
    ["256 bytes", `${euro.repeat(85)}a`, false],
    ["control characters are opaque key bytes", "a\tb", true],
    ["invisible characters too: keys are not names", "a\u202eb", true],
    ["non-string", 1, false],
    ["[KEY-1] NUL: Postgres text cannot hold it", "a\u0000b", false],
    ["[KEY-1] lone surrogate: UTF-8 cannot carry it", "a\ud800", false],
    ["a surrogate pair is fine", "a\ud83d\udc07", true],
  ];
  for (const [what, key, valid] of cases) {
    test(`${what}: ${valid ? "accepted" : "VALIDATION"}`, () => {
      const error = validateRoutingKey(key);
      if (valid) expect(error).toBeNull();
      else expect(error?.code).toBe(ErrorCodes.VALIDATION);
    });
  }
});

test("utf8ByteLength agrees with TextEncoder, lone surrogates included", () => {
  for (const s of ["", "abc", euro, emoji, "\u0085", "\ud83d", `x\udc07y`, "\u07ff\u0800", `${emoji}${euro}a`]) {
    expect(utf8ByteLength(s)).toBe(new TextEncoder().encode(s).length);
  }
});

test("[KEY-1] a binding key follows the routing key rule, as B002", () => {
  expect(validateBindingKey("a.*")).toBeNull();
  expect(validateBindingKey("a\u0000")?.code).toBe(ErrorCodes.BINDING_INVALID);
  expect(validateBindingKey("a\u0000")?.message).toBe("binding key must not contain U+0000 (at index 1): it cannot be stored");
  expect(validateBindingKey("\udc00")?.message).toContain("lone surrogate U+DC00 at index 0");
});

describe("[KEY-2] validateMessageId", () => {
  const cases: readonly (readonly [string, unknown, boolean])[] = [
    ["absent", undefined, true],
    ["plain", "order-42", true],
    ["255 characters", "x".repeat(255), true],
    ["256 characters", "x".repeat(256), false],
    ["empty", "", false],
    ["number", 42, false],
    ["NUL", "id\u0000", false],
    ["lone surrogate", "\ud800id", false],
    ["controls are opaque", "a\tb", true],
  ];
  for (const [what, id, valid] of cases) {
    test(`${what}: ${valid ? "accepted" : "VALIDATION"}`, () => {
      const error = validateMessageId(id);
      if (valid) expect(error).toBeNull();
      else expect(error).toMatchObject({ code: ErrorCodes.VALIDATION, message: expect.stringMatching(/^message_id /) });
    });
  }
});
