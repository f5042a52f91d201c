/**
 * JWT verification with jose. The accepted algorithms are pinned from the key material, never
 * from the token: a secret accepts HS256 only, a public key only its own algorithm (RS256 for RSA,
 * ES256/ES384 by curve, EdDSA for Ed25519), a JWKS only what its keys are for. So `alg: none` and
 * the classic confusion — an HS256 token "signed" with the public key's PEM as the secret — are
 * refused before any signature is computed. `exp` and `sub` are required; `nbf`, `iss`, `aud`
 * checked when present or configured. Rejections say what failed, never what the token held.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { createLocalJWKSet, importSPKI, jwtVerify, type CryptoKey, type JSONWebKeySet, type JWSHeaderParameters, type JWTPayload } from "jose";
import { errorOf, ErrorCodes, fail, ok, type BrokerError, type Result } from "../core/errors.ts";
import { utf8ByteLength, printableProblem } from "../core/names.ts";
import { MAX_NAME_BYTES } from "../core/limits.ts";
import { MIN_HS256_SECRET_BYTES, VERIFIED_JWT_ENTRIES } from "./limits.ts";
import { isObject } from "./permissions.ts";

export type JwtVerifierOptions = {
  /** HS256 shared secret, at least 32 bytes of UTF-8. */
  secret?: string;
  /** An SPKI public key (`-----BEGIN PUBLIC KEY-----`) or an X.509 certificate; its type decides the algorithm. */
  publicKeyPem?: string;
  /** A JSON Web Key Set's text (public keys only), kept locally: the broker fetches nothing. */
  jwksJson?: string;
  issuer?: string;
  audience?: string;
  /** Clock skew allowed on `exp` and `nbf`; 0 unless configured. */
  clockToleranceSeconds?: number;
  now?: () => number;
};

/** What a verified token says. `claim` is its `pubsub` permission set, unchecked against any user yet. */
export type VerifiedToken = Readonly<{ sub: string; expiresAt: number; claim?: unknown }>;

/** Why a token was refused; tests assert it (and the code), never the prose. */
export type TokenRejectReason = "malformed" | "algorithm" | "no_key" | "signature" | "expired" | "not_yet_valid" | "issuer" | "audience" | "claims";
export type TokenRejection = BrokerError & { readonly reason: TokenRejectReason };
export type TokenResult = { ok: true; value: VerifiedToken } | { ok: false; error: TokenRejection };

/** The claim that carries a token's permissions (see README "JWT permission claim"). */
export const PERMISSION_CLAIM = "pubsub";

type KeyResolver = (header: JWSHeaderParameters) => Promise<CryptoKey | Uint8Array>;

export class JwtVerifier {
  /**
   * Tokens that verified, until they expire. Exact: what a verify checks besides the clock (the
   * signature, alg, iss, aud, sub, nbf already passed) is fixed for a token and the key material is
   * loaded once, so a token that verified once verifies again until its exp.
   */
  private readonly verified = new Map<string, { value: VerifiedToken; until: number }>();

  private constructor(
    /** The algorithms this verifier accepts, from its key material. */
    readonly algorithms: readonly string[],
    private readonly keyFor: KeyResolver,
    private readonly options: JwtVerifierOptions,
  ) {}

  /** Checks the key material once; a bad key is a VALIDATION error naming the option. */
  static async create(options: JwtVerifierOptions): Promise<Result<JwtVerifier>> {
    const invalid = (message: string) => fail<JwtVerifier>(ErrorCodes.VALIDATION, message);
    if (options.secret === undefined && options.publicKeyPem === undefined && options.jwksJson === undefined) {
      return invalid("a JWT verifier needs a secret, a public key or a JWKS");
    }
    if (options.publicKeyPem !== undefined && options.jwksJson !== undefined) return invalid("give a public key or a JWKS, not both");
    const tolerance = options.clockToleranceSeconds ?? 0;
    if (!Number.isFinite(tolerance) || tolerance < 0) return invalid("clockToleranceSeconds must be a number of seconds, 0 or more");

    const algorithms: string[] = [];
    let secret: CryptoKey | undefined;
    if (options.secret !== undefined) {
      if (utf8ByteLength(options.secret) < MIN_HS256_SECRET_BYTES) {
        return invalid(`the JWT secret must be at least ${MIN_HS256_SECRET_BYTES} bytes (HS256's key is 256 bits), got ${utf8ByteLength(options.secret)}`);
      }
      // Imported once: given bytes, jose imports the HMAC key again on every verify.
      secret = await crypto.subtle.importKey("raw", new TextEncoder().encode(options.secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
      algorithms.push("HS256");
    }
    let publicKey: { alg: string; key: CryptoKey } | undefined;
    if (options.publicKeyPem !== undefined) {
      const imported = await importPublicKey(options.publicKeyPem);
      if (!imported.ok) return imported;
      publicKey = imported.value;
      algorithms.push(publicKey.alg);
    }
    let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
    if (options.jwksJson !== undefined) {
      const set = jwksOf(options.jwksJson);
      if (!set.ok) return set;
      jwks = set.value.resolve;
      algorithms.push(...set.value.algorithms.filter((a) => !algorithms.includes(a)));
    }
    // jose refuses any alg outside `algorithms` before this runs; each alg maps to its own key.
    const keyFor: KeyResolver = async (header) => {
      if (header.alg === "HS256" && secret) return secret;
      if (publicKey && header.alg === publicKey.alg) return publicKey.key;
      if (jwks) return jwks(header);
      throw new Error("unreachable: an algorithm without a key");
    };
    return ok(new JwtVerifier(algorithms, keyFor, { ...options, clockToleranceSeconds: tolerance }));
  }

  async verify(token: string): Promise<TokenResult> {
    const now = (this.options.now ?? Date.now)();
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (now < known.until) return { ok: true, value: known.value };
      this.verified.delete(token);
    }
    const result = await this.verifyNow(token, now);
    if (result.ok) this.remember(token, result.value);
    return result;
  }

  /** jose's exp check, with the tolerance: valid while now < (exp + tolerance) seconds. */
  private remember(token: string, value: VerifiedToken): void {
    if (this.verified.size >= VERIFIED_JWT_ENTRIES) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { value, until: value.expiresAt + (this.options.clockToleranceSeconds ?? 0) * 1000 });
  }

  private async verifyNow(token: string, now: number): Promise<TokenResult> {
    const options = {
      algorithms: [...this.algorithms],
      requiredClaims: ["exp", "sub"],
      ...(this.options.issuer !== undefined && { issuer: this.options.issuer }),
      ...(this.options.audience !== undefined && { audience: this.options.audience }),
      clockTolerance: this.options.clockToleranceSeconds ?? 0,
      currentDate: new Date(now),
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keyFor, options));
    } catch (error) {
      const candidates = (error as { code?: unknown }).code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS" ? (error as AsyncIterable<CryptoKey>) : undefined;
      const found = candidates && (await firstVerifying(token, candidates, options));
      if (found === undefined) return { ok: false, error: rejectionOf(error, this.algorithms) };
      if (!found.ok) return { ok: false, error: rejectionOf(found.error, this.algorithms) };
      payload = found.payload;
    }
    const sub: unknown = payload.sub;
    if (typeof sub !== "string") return reject("claims", "token sub must be a string"); // jose checks presence, not type
    const subProblem = utf8ByteLength(sub) > MAX_NAME_BYTES ? `is over ${MAX_NAME_BYTES} bytes` : sub === "" ? "is empty" : printableProblem(sub);
    if (subProblem) return reject("claims", `token sub ${subProblem}`);
    if (typeof payload.exp !== "number") return reject("claims", "token exp must be a number");
    const claim = payload[PERMISSION_CLAIM];
    if (claim !== undefined && !isObject(claim)) return reject("claims", `token ${PERMISSION_CLAIM} claim must be an object (a permission set)`);
    return { ok: true, value: { sub, expiresAt: payload.exp * 1000, ...(claim !== undefined && { claim }) } };
  }
}

/**
 * A token without a `kid` where several JWKS keys fit its alg (jose's documented pattern): try
 * each. The first whose signature verifies decides (its claim errors included); none: undefined.
 */
async function firstVerifying(
  token: string,
  candidates: AsyncIterable<CryptoKey>,
  options: Parameters<typeof jwtVerify>[2],
): Promise<{ ok: true; payload: JWTPayload } | { ok: false; error: unknown } | undefined> {
  for await (const key of candidates) {
    try {
      return { ok: true, payload: (await jwtVerify(token, key, options)).payload };
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") return { ok: false, error };
    }
  }
  return undefined;
}

type TokenErrorCode = typeof ErrorCodes.TOKEN_INVALID | typeof ErrorCodes.TOKEN_EXPIRED;

const rejection = (reason: TokenRejectReason, message: string, code: TokenErrorCode = ErrorCodes.TOKEN_INVALID): TokenRejection => ({
  ...errorOf(code, message),
  reason,
});
const reject = (reason: TokenRejectReason, message: string): TokenResult => ({ ok: false, error: rejection(reason, message) });

/** jose's error → a rejection. Only jose's codes and claim names are read: nothing of the token is echoed. */
function rejectionOf(error: unknown, algorithms: readonly string[]): TokenRejection {
  const code = (error as { code?: unknown }).code;
  const claim = (error as { claim?: unknown }).claim;
  const as = rejection;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return as("expired", "token expired: get a new one", ErrorCodes.TOKEN_EXPIRED);
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (claim === "nbf" && (error as { reason?: unknown }).reason === "check_failed") return as("not_yet_valid", "token is not valid yet (nbf)");
      if (claim === "iss") return as("issuer", "token issuer is not the one this broker accepts");
      if (claim === "aud") return as("audience", "token audience is not this broker's");
      return as("claims", `token claim ${typeof claim === "string" && /^[a-z]{1,8}$/.test(claim) ? claim : "?"} is missing or invalid`);
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return as("algorithm", `token algorithm is not accepted: this broker takes ${algorithms.join(", ")}`);
    case "ERR_JWKS_NO_MATCHING_KEY":
      return as("no_key", "no key of the JWKS matches the token (its kid and alg)");
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS": // none of the candidates verified
      return as("signature", "token signature does not verify with any key of the JWKS that fits it");
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return as("signature", "token signature does not verify: altered, or signed with another key");
    default:
      return as("malformed", "token is not a well-formed signed JWT");
  }
}

/**
 * The algorithm a key is for, from its type: the PEM never says, and the token must not decide.
 * `pubsub token --key` signs with the same rule, so what it mints is what the broker accepts.
 */
export function algorithmOf(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case "rsa":
      return (details?.modulusLength ?? 0) >= 2048 ? "RS256" : undefined;
    case "ec":
      return details?.namedCurve === "prime256v1" || details?.namedCurve === "P-256" ? "ES256" : details?.namedCurve === "secp384r1" || details?.namedCurve === "P-384" ? "ES384" : undefined;
    case "ed25519":
      return "EdDSA";
    default:
      return undefined;
  }
}

async function importPublicKey(pem: string): Promise<Result<{ alg: string; key: CryptoKey }>> {
  if (pem.includes("PRIVATE KEY")) return fail(ErrorCodes.VALIDATION, "the JWT public key is a private key: give the broker the public key only");
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return fail(ErrorCodes.VALIDATION, "the JWT public key is not a PEM public key or certificate");
  }
  const alg = algorithmOf(key);
  if (alg === undefined) return fail(ErrorCodes.VALIDATION, "the JWT public key must be RSA (2048 bits or more), EC P-256 or P-384, or Ed25519");
  try {
    return ok({ alg, key: await importSPKI(key.export({ type: "spki", format: "pem" }) as string, alg) });
  } catch (error) {
    return fail(ErrorCodes.VALIDATION, `the JWT public key could not be imported for ${alg}: ${(error as Error).message}`);
  }
}

/** The algorithm each JWK is for, as its `alg` says or its type implies; symmetric keys are refused. */
function jwksOf(text: string): Result<{ resolve: ReturnType<typeof createLocalJWKSet>; algorithms: string[] }> {
  const invalid = (message: string) => fail<never>(ErrorCodes.VALIDATION, `the JWKS ${message}`);
  let set: unknown;
  try {
    set = JSON.parse(text);
  } catch {
    return invalid("is not JSON");
  }
  if (!isObject(set) || !Array.isArray(set.keys) || set.keys.length === 0) return invalid('must be {"keys": [ … ]} with at least one key');
  const algorithms = new Set<string>();
  for (const [i, jwk] of set.keys.entries()) {
    if (!isObject(jwk)) return invalid(`keys[${i}] is not an object`);
    if (jwk.kty === "oct") return invalid(`keys[${i}] is a symmetric key: put an HS256 secret in the secret, not in the JWKS`);
    if ("d" in jwk) return invalid(`keys[${i}] is a private key: publish public keys only`);
    const alg = typeof jwk.alg === "string" ? jwk.alg : jwk.kty === "RSA" ? "RS256" : jwk.kty === "EC" && jwk.crv === "P-256" ? "ES256" : jwk.kty === "EC" && jwk.crv === "P-384" ? "ES384" : jwk.kty === "OKP" && jwk.crv === "Ed25519" ? "EdDSA" : undefined;
    if (alg === undefined || alg.startsWith("HS") || alg === "none") return invalid(`keys[${i}] has no algorithm this broker accepts (RSA, EC P-256/P-384, Ed25519)`);
    algorithms.add(alg);
  }
  try {
    return ok({ resolve: createLocalJWKSet(set as unknown as JSONWebKeySet), algorithms: [...algorithms] });
  } catch (error) {
    return invalid(`is invalid: ${(error as Error).message}`);
  }
}
