import { beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { ErrorCodes } from "../../src/core/errors.ts";
import { JwtVerifier, type JwtVerifierOptions, type TokenRejectReason } from "../../src/auth/jwt.ts";

/** The fake clock: every token and verifier here lives at this instant. */
const NOW_S = 1_800_000_000;
const now = () => NOW_S * 1000;
const SECRET = "a-shared-secret-of-at-least-32-bytes!";

type Pair = { publicKey: CryptoKey; privateKey: CryptoKey; pem: string };
let rsa: Pair;
let otherRsa: Pair;
let ec: Pair;
const pair = async (alg: string): Promise<Pair> => {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { publicKey, privateKey, pem: await exportSPKI(publicKey) };
};
beforeAll(async () => {
  [rsa, otherRsa, ec] = await Promise.all([pair("RS256"), pair("RS256"), pair("ES256")]);
});

const sign = (alg: string, key: CryptoKey | Uint8Array, claims: JWTPayload = {}, header: Record<string, unknown> = {}) =>
  new SignJWT({ sub: "alice", exp: NOW_S + 60, ...claims }).setProtectedHeader({ alg, ...header }).sign(key);
const secretBytes = (s: string) => new TextEncoder().encode(s);

const verifier = async (options: JwtVerifierOptions): Promise<JwtVerifier> => {
  const created = await JwtVerifier.create({ now, ...options });
  if (!created.ok) throw new Error(created.error.message);
  return created.value;
};

const b64 = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");

async function expectRejected(v: JwtVerifier, token: string, reason: TokenRejectReason, code: string = ErrorCodes.TOKEN_INVALID) {
  const result = await v.verify(token);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.reason).toBe(reason);
  expect(result.error.code).toBe(code as never);
  // Safe messages: nothing of the token comes back.
  for (const part of token.split(".").filter((p) => p.length > 8)) expect(result.error.message).not.toContain(part);
  return result.error;
}

describe("happy paths", () => {
  test("HS256 with a shared secret", async () => {
    const v = await verifier({ secret: SECRET });
    expect(v.algorithms).toEqual(["HS256"]);
    const result = await v.verify(await sign("HS256", secretBytes(SECRET), { pubsub: { read: "^user\\.{user}\\." } }));
    expect(result).toEqual({ ok: true, value: { sub: "alice", expiresAt: (NOW_S + 60) * 1000, claim: { read: "^user\\.{user}\\." } } });
  });

  test("RS256 from an RSA public key", async () => {
    const v = await verifier({ publicKeyPem: rsa.pem });
    expect(v.algorithms).toEqual(["RS256"]);
    expect((await v.verify(await sign("RS256", rsa.privateKey))).ok).toBe(true);
  });

  test("ES256 from an EC P-256 public key", async () => {
    const v = await verifier({ publicKeyPem: ec.pem });
    expect(v.algorithms).toEqual(["ES256"]);
    expect((await v.verify(await sign("ES256", ec.privateKey))).ok).toBe(true);
  });

  test("a local JWKS, keys found by kid", async () => {
    const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: "r1", alg: "RS256" }, { ...(await exportJWK(ec.publicKey)), kid: "e1" }] };
    const v = await verifier({ jwksJson: JSON.stringify(jwks) });
    expect([...v.algorithms].sort()).toEqual(["ES256", "RS256"]);
    expect((await v.verify(await sign("RS256", rsa.privateKey, {}, { kid: "r1" }))).ok).toBe(true);
    expect((await v.verify(await sign("ES256", ec.privateKey, {}, { kid: "e1" }))).ok).toBe(true);
    await expectRejected(v, await sign("RS256", rsa.privateKey, {}, { kid: "gone" }), "no_key");
    await expectRejected(v, await sign("RS256", otherRsa.privateKey, {}, { kid: "r1" }), "signature");
  });

  test("a JWKS of several keys of one type and a token without kid: the key that verifies is found", async () => {
    const jwks = { keys: [await exportJWK(otherRsa.publicKey), await exportJWK(rsa.publicKey)] };
    const v = await verifier({ jwksJson: JSON.stringify(jwks) });
    expect((await v.verify(await sign("RS256", rsa.privateKey))).ok).toBe(true);
    expect((await v.verify(await sign("RS256", otherRsa.privateKey))).ok).toBe(true);
    const stranger = await pair("RS256");
    await expectRejected(v, await sign("RS256", stranger.privateKey), "signature");
    await expectRejected(v, await sign("RS256", rsa.privateKey, { exp: NOW_S - 1 }), "expired", ErrorCodes.TOKEN_EXPIRED);
  });

  test("a secret and a public key together: each algorithm uses its own key", async () => {
    const v = await verifier({ secret: SECRET, publicKeyPem: rsa.pem });
    expect((await v.verify(await sign("HS256", secretBytes(SECRET)))).ok).toBe(true);
    expect((await v.verify(await sign("RS256", rsa.privateKey))).ok).toBe(true);
    // The confusion attack finds the real secret, not the PEM, behind HS256.
    await expectRejected(v, await sign("HS256", secretBytes(rsa.pem)), "signature");
  });

  test("issuer, audience and clock tolerance when configured", async () => {
    const v = await verifier({ secret: SECRET, issuer: "https://app.example", audience: "pubsub", clockToleranceSeconds: 30 });
    const token = await sign("HS256", secretBytes(SECRET), { iss: "https://app.example", aud: ["pubsub", "other"], exp: NOW_S - 10 });
    expect((await v.verify(token)).ok).toBe(true);
  });
});

describe("[JWT-CACHE-1] a verified token is remembered until it expires, never past", () => {
  test("valid to the last millisecond before exp (+ tolerance), TOKEN_EXPIRED from then on, as without the cache", async () => {
    for (const tolerance of [0, 30]) {
      let clock = now();
      const v = await verifier({ secret: SECRET, clockToleranceSeconds: tolerance, now: () => clock });
      const token = await sign("HS256", secretBytes(SECRET), { exp: NOW_S + 60 });
      expect((await v.verify(token)).ok).toBe(true);
      clock = (NOW_S + 60 + tolerance) * 1000 - 1;
      const last = await v.verify(token);
      expect(last.ok && last.value.expiresAt).toBe((NOW_S + 60) * 1000);
      clock += 1;
      await expectRejected(v, token, "expired", ErrorCodes.TOKEN_EXPIRED);
      // A fresh verifier (no memory) gives the same verdict at that instant.
      const fresh = await verifier({ secret: SECRET, clockToleranceSeconds: tolerance, now: () => clock });
      await expectRejected(fresh, token, "expired", ErrorCodes.TOKEN_EXPIRED);
    }
  });
  test("a token that was refused is not remembered: not yet valid, then valid once nbf passes", async () => {
    let clock = now();
    const v = await verifier({ secret: SECRET, now: () => clock });
    const token = await sign("HS256", secretBytes(SECRET), { nbf: NOW_S + 10 });
    await expectRejected(v, token, "not_yet_valid");
    clock += 10_000;
    expect((await v.verify(token)).ok).toBe(true);
  });
});

describe("refused tokens", () => {
  let hs: JwtVerifier;
  let rs: JwtVerifier;
  beforeAll(async () => {
    hs = await verifier({ secret: SECRET, issuer: "https://app.example", audience: "pubsub" });
    rs = await verifier({ publicKeyPem: rsa.pem });
  });
  const good = (claims: JWTPayload = {}) => sign("HS256", secretBytes(SECRET), { iss: "https://app.example", aud: "pubsub", ...claims });

  test("expired: TOKEN_EXPIRED, its own code, for the client to refresh", async () => {
    await expectRejected(hs, await good({ exp: NOW_S - 1 }), "expired", ErrorCodes.TOKEN_EXPIRED);
    await expectRejected(hs, await good({ exp: NOW_S }), "expired", ErrorCodes.TOKEN_EXPIRED);
  });
  test("not yet valid (nbf)", async () => {
    await expectRejected(hs, await good({ nbf: NOW_S + 30 }), "not_yet_valid");
  });
  test("tampered: the payload changed under the signature", async () => {
    const [header, , signature] = (await good()).split(".");
    const forged = `${header}.${b64({ sub: "admin", exp: NOW_S + 60, iss: "https://app.example", aud: "pubsub" })}.${signature}`;
    await expectRejected(hs, forged, "signature");
  });
  test("signed with another key", async () => {
    await expectRejected(hs, await sign("HS256", secretBytes("another-secret-that-is-32-bytes-long"), { iss: "https://app.example", aud: "pubsub" }), "signature");
    await expectRejected(rs, await sign("RS256", otherRsa.privateKey), "signature");
  });
  test("wrong issuer, missing issuer", async () => {
    await expectRejected(hs, await good({ iss: "https://evil.example" }), "issuer");
    await expectRejected(hs, await sign("HS256", secretBytes(SECRET), { aud: "pubsub" }), "issuer");
  });
  test("wrong audience", async () => {
    await expectRejected(hs, await good({ aud: "someone-else" }), "audience");
  });
  test("no exp, no sub, a sub that is no name, a claim that is no object", async () => {
    await expectRejected(hs, await good({ exp: undefined }), "claims");
    await expectRejected(hs, await good({ sub: undefined }), "claims");
    await expectRejected(hs, await good({ sub: "" }), "claims");
    await expectRejected(hs, await good({ sub: 42 as never }), "claims");
    await expectRejected(hs, await good({ sub: ["alice"] as never }), "claims");
    await expectRejected(hs, await good({ exp: "soon" as never }), "claims");
    await expectRejected(hs, await good({ nbf: "later" as never }), "claims");
    await expectRejected(hs, await good({ sub: "a\u202Eb" }), "claims");
    await expectRejected(hs, await good({ pubsub: "everything" }), "claims");
  });
  test("alg: none, however it is spelt", async () => {
    const payload = b64({ sub: "alice", exp: NOW_S + 60, iss: "https://app.example", aud: "pubsub" });
    for (const alg of ["none", "None", "NONE"]) {
      await expectRejected(hs, `${b64({ alg, typ: "JWT" })}.${payload}.`, "algorithm");
      await expectRejected(rs, `${b64({ alg, typ: "JWT" })}.${payload}.`, "algorithm");
    }
  });
  test("algorithm confusion: an HS256 token signed with the RSA public key's PEM as the secret", async () => {
    const error = await expectRejected(rs, await sign("HS256", secretBytes(rsa.pem)), "algorithm");
    expect(error!.message).toContain("RS256");
  });
  test("an RS256 token where only a secret is configured, an ES256 token for an RSA key", async () => {
    await expectRejected(hs, await sign("RS256", rsa.privateKey, { iss: "https://app.example", aud: "pubsub" }), "algorithm");
    await expectRejected(rs, await sign("ES256", ec.privateKey), "algorithm");
  });
  test("not a JWT at all", async () => {
    for (const junk of ["", "abc", "a.b.c", "a.b", `${b64({ alg: "HS256" })}.!!!.x`]) await expectRejected(hs, junk, "malformed");
  });
});

describe("key material is checked when the verifier is made", () => {
  const invalid: [JwtVerifierOptions | (() => Promise<JwtVerifierOptions>), string][] = [
    [{}, "needs a secret, a public key or a JWKS"],
    [{ secret: "short" }, "at least 32 bytes"],
    [{ publicKeyPem: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----" }, "not a PEM public key"],
    [async () => ({ publicKeyPem: await exportPKCS8(rsa.privateKey) }), "is a private key"],
    [async () => ({ publicKeyPem: rsa.pem, jwksJson: "{}" }), "not both"],
    [{ jwksJson: "{" }, "the JWKS is not JSON"],
    [{ jwksJson: '{"keys":[]}' }, "at least one key"],
    [{ jwksJson: JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0" }] }) }, "keys[0] is a symmetric key"],
    [async () => ({ jwksJson: JSON.stringify({ keys: [{ ...(await exportJWK(rsa.privateKey)) }] }) }), "keys[0] is a private key"],
    [{ secret: SECRET, clockToleranceSeconds: -1 }, "clockToleranceSeconds"],
  ];
  for (const [options, message] of invalid) {
    test(message, async () => {
      const result = await JwtVerifier.create(typeof options === "function" ? await options() : options);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe(ErrorCodes.VALIDATION);
        expect(result.error.message).toContain(message);
      }
    });
  }
  test("an RSA key under 2048 bits is refused", async () => {
    // jose will not even make one; WebCrypto will.
    const { publicKey } = await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    );
    const result = await JwtVerifier.create({ publicKeyPem: await exportSPKI(publicKey) });
    expect(!result.ok && result.error.message).toContain("2048 bits");
  });
});
