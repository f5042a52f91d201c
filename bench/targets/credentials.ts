/**
 * Credentials for the authenticated pubsub targets: an HS256 secret and the JWTs the harness mints
 * with it (as an application's backend would), and a USERS_FILE holding one user with one API key
 * hashed the way the broker hashes keys (`hashKey`, argon2id at the broker's cost).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { generateKey, hashKey } from "../../src/auth/api-keys.ts";

/** The user every bench credential names. */
export const BENCH_USER = "bench";
/** Full access: what the guest has, so the two compare like for like. */
const FULL_ACCESS = { configure: ".*", write: ".*", read: ".*" } as const;
/** No bench run comes near it; a token expiring mid-run would close its connections (4011). */
const TOKEN_TTL = "1h";
/** HS256 wants at least 32 bytes (the broker refuses less); 48 random bytes, base64url. */
const SECRET_BYTES = 48;

export function newJwtSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(SECRET_BYTES))).toString("base64url");
}

/** `{"sub":"bench","exp":now+1h,"pubsub":{".*" ×3}}`, HS256; `jti` makes each token distinct. */
export function mintJwt(secret: string, jti?: string): Promise<string> {
  const token = new SignJWT({ pubsub: FULL_ACCESS })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(BENCH_USER)
    .setIssuedAt()
    .setExpirationTime(TOKEN_TTL);
  if (jti !== undefined) token.setJti(jti);
  return token.sign(new TextEncoder().encode(secret));
}

/** `count` distinct tokens (a client each), minted up front: minting is the application's cost, not the broker's. */
export function mintJwts(secret: string, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => mintJwt(secret, `bench-${i}`)));
}

/** Writes `dir/users.json` with the bench user and one key; returns its path and the key's text. */
export async function writeUsersFile(dir: string): Promise<{ path: string; key: string }> {
  const { id, key } = generateKey();
  const hash = await hashKey(key);
  const path = join(dir, "users.json");
  const document = {
    users: [{ name: BENCH_USER, admin: false, permissions: FULL_ACCESS, keys: [{ id, hash, created_at: new Date().toISOString() }] }],
  };
  writeFileSync(path, JSON.stringify(document, null, 2), { mode: 0o600 });
  return { path, key };
}
