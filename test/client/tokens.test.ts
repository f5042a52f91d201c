/** The client's tokens, on a fake clock: a JWT's exp read without verifying, when it is due, what REST calls send. */
import { describe, expect, test } from "bun:test";
import { jwtExpiry, REFRESH_AHEAD_MS, renewalAt, Tokens } from "../../src/client/tokens.ts";
import { rejection } from "./support/collect.ts";

const base64url = (value: unknown): string => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
/** An unsigned JWT-shaped token: the client never checks the signature. */
const jwt = (payload: Record<string, unknown>): string => `${base64url({ alg: "HS256" })}.${base64url(payload)}.signature`;

describe("jwtExpiry", () => {
  test("a JWT's exp in milliseconds; undefined for an API key, a JWT without exp, or garbage", () => {
    expect(jwtExpiry(jwt({ sub: "alice", exp: 1_764_637_200 }))).toBe(1_764_637_200_000);
    // base64url characters and no padding, as JWTs are written (ü makes "-"/"_" likely in the payload).
    expect(jwtExpiry(jwt({ sub: "ü?>~ü?>~", exp: 2 }))).toBe(2_000);
    expect(jwtExpiry("pk_0123456789abcdef_secretsecret")).toBeUndefined();
    expect(jwtExpiry(jwt({ sub: "alice" }))).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: "soon" }))).toBeUndefined();
    expect(jwtExpiry("a.%%%.c")).toBeUndefined();
    expect(jwtExpiry("a..c")).toBeUndefined();
  });
});

describe("renewalAt", () => {
  test("REFRESH_AHEAD_MS before exp, but never before half the lifetime", () => {
    const hour = 3_600_000;
    expect(renewalAt(0, hour)).toBe(hour - REFRESH_AHEAD_MS);
    expect(renewalAt(1_000, 1_000 + 90_000)).toBe(1_000 + 45_000);
    expect(renewalAt(0, 10_000)).toBe(5_000);
  });
});

describe("Tokens", () => {
  test("REST reuses the latest token until it is due, then asks the source again", async () => {
    let now = 0;
    let asked = 0;
    const tokens = new Tokens(() => jwt({ n: ++asked, exp: (now + 600_000) / 1000 }), () => now);
    const first = await tokens.current();
    expect(asked).toBe(1);
    now = 600_000 - REFRESH_AHEAD_MS - 1;
    expect(await tokens.current()).toBe(first);
    now = 600_000 - REFRESH_AHEAD_MS;
    expect(await tokens.current()).not.toBe(first);
    expect(asked).toBe(2);
  });

  test("fresh() asks every time; concurrent asks share one call", async () => {
    let asked = 0;
    const tokens = new Tokens(async () => `key-${++asked}`);
    const [a, b] = await Promise.all([tokens.fresh(), tokens.fresh()]);
    expect(a).toBe("key-1");
    expect(b).toBe("key-1");
    expect(await tokens.fresh()).toBe("key-2");
    // A token that does not expire (an API key) is kept for REST.
    expect(await tokens.current()).toBe("key-2");
    expect(asked).toBe(2);
  });

  test("a string is used as it is, even past its exp: only a function can renew", async () => {
    let now = 0;
    const token = jwt({ exp: 1 });
    const tokens = new Tokens(token, () => now);
    expect(tokens.renewable).toBe(false);
    now = 10_000;
    expect(await tokens.current()).toBe(token);
  });

  test("what is not a token is refused with TOKEN_UNAVAILABLE, without echoing it", async () => {
    for (const bad of ["", "two words", "line\nbreak", "naïve", 42 as unknown as string]) {
      const error = await rejection(new Tokens(() => bad).fresh());
      expect(error.code).toBe("TOKEN_UNAVAILABLE");
      if (typeof bad === "string" && bad !== "") expect(error.message).not.toContain(bad);
    }
  });
});
