import { describe, expect, test } from "bun:test";
import { ErrorCodes } from "../../src/core/errors.ts";
import { MAX_NAME_BYTES, utf8ByteLength, validateName, validateRoutingKey } from "../../src/core/names.ts";

const euro = "€"; // 3 bytes in UTF-8
const emoji = "🐇"; // 4 bytes, two UTF-16 units

/** [what, name, valid?] */
const NAME_CASES: readonly (readonly [string, unknown, boolean])[] = [
  ["plain", "orders", true],
  ["dots, dashes, spaces", "amq.gen orders-1_x", true],
  ["one byte", "a", true],
  ["emoji", `jobs${emoji}`, true],
  ["Cyrillic look-alike \"оrders\"", "\u043erders", true], // printable; spoofing is not a byte rule
  ["non-breaking space U+00A0 (first after C1)", "a\u00a0b", true],
  ["255 one-byte chars", "a".repeat(255), true],
  ["255 bytes of 3-byte chars", euro.repeat(85), true],
  ["256 bytes: 85 x 3-byte + 1", `${euro.repeat(85)}a`, false],
  ["252 + 4-byte emoji = 256 bytes", `${"a".repeat(252)}${emoji}`, false],
  ["251 + 4-byte emoji = 255 bytes", `${"a".repeat(251)}${emoji}`, true],
  ["empty", "", false],
  ["tab", "a\tb", false],
  ["newline", "a\nb", false],
  ["NUL", "a\u0000b", false],
  ["DEL U+007F", "a\u007fb", false],
  ["NEL U+0085 (C1)", "a\u0085b", false],
  ["U+009F (last C1)", "\u009f", false],
  ["lone high surrogate", "a\ud83d", false],
  ["lone low surrogate", "\udc07a", false],
  ["reversed surrogate pair", "\udc07\ud83d", false],
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
    ["non-string", 1, false],
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
