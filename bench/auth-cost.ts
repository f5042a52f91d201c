/**
 * What each credential check costs in the broker's own code, in one process, one call at a time
 * (no sockets): the per-request price of `Authorization: Bearer` on HTTP, and the per-AUTH price
 * on WebSocket. Compare with scenario 2's "broker CPU per request" of pubsub-auth / pubsub-keys
 * against pubsub. `bun run bench/auth-cost.ts [--calls=20000]`
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthenticator } from "../src/auth/authenticator.ts";
import { JwtVerifier } from "../src/auth/jwt.ts";
import { parsePermissions } from "../src/auth/permissions.ts";
import { UserDirectory } from "../src/auth/users.ts";
import { mintJwts, newJwtSecret, writeUsersFile } from "./targets/credentials.ts";

const calls = Number(process.argv.find((arg) => arg.startsWith("--calls="))?.slice(8) ?? 20_000);
const CLAIM = { configure: ".*", write: ".*", read: ".*" };

/** Calls `call(i)` for i in [0, n) after a warm-up on i in [n, n + WARM_UP) (distinct inputs stay unseen). */
const WARM_UP = 2_000;
async function perCall(label: string, n: number, call: (i: number) => unknown): Promise<void> {
  for (let i = n; i < n + WARM_UP; i++) await call(i); // warm-up: JIT
  const startedAt = performance.now();
  for (let i = 0; i < n; i++) await call(i);
  const us = ((performance.now() - startedAt) * 1000) / n;
  console.log(`| ${label} | ${us < 1 ? us.toFixed(3) : us.toFixed(1)} µs | ${n.toLocaleString("en-US")} |`);
}

const secret = newJwtSecret();
// Distinct tokens for each row that wants them, warm-up included: a token verified once is remembered [JWT-CACHE-1].
const tokens = await mintJwts(secret, calls + WARM_UP);
const otherTokens = await mintJwts(secret, calls + WARM_UP);
const verifier = await JwtVerifier.create({ secret });
if (!verifier.ok) throw new Error(verifier.error.message);
const dir = mkdtempSync(join(tmpdir(), "auth-cost-"));
try {
  const { path, key } = await writeUsersFile(dir);
  const users = await UserDirectory.load(path);
  if (!users.ok) throw new Error(users.error.message);
  const jwtOnly = createAuthenticator({ jwt: verifier.value });
  const keysOnly = createAuthenticator({ users: users.value });

  const firstKeyAt = performance.now();
  const first = await keysOnly.authenticate({ bearer: key });
  if (!first.ok) throw new Error(`the API key was refused: ${first.error.message}`);
  const firstKeyMs = performance.now() - firstKeyAt;
  const checked = await jwtOnly.authenticate({ bearer: tokens[0]! });
  if (!checked.ok) throw new Error(`the JWT was refused: ${checked.error.message}`);
  const permissions = checked.value.permissions;

  console.log(`Bun ${Bun.version}, ${calls.toLocaleString("en-US")} calls each, one at a time, awaited\n`);
  console.log("| check | per call | calls |\n| --- | ---: | ---: |");
  await perCall("JwtVerifier.verify (jose jwtVerify, HS256), a distinct token each", calls, (i) => verifier.value.verify(tokens[i]!));
  await perCall("authenticate(Bearer JWT): verify + the claim's permissions compiled, a distinct token each", calls, (i) => jwtOnly.authenticate({ bearer: otherTokens[i]! }));
  await perCall("authenticate(Bearer JWT), the same token again (a client's every request): remembered until its exp", calls, () => jwtOnly.authenticate({ bearer: tokens[0]! }));
  await perCall("parsePermissions(claim) alone (3 regular expressions compiled)", calls, () => parsePermissions(CLAIM, "bench"));
  await perCall("authenticate(Bearer API key), verified-key cache hit (SHA-256 + compare)", calls, () => keysOnly.authenticate({ bearer: key }));
  await perCall("permissions.can(write, exchange), cached answer", calls * 50, () => permissions.can("write", "bench.direct"));
  console.log(`| the API key's first authenticate (argon2id verify) | ${firstKeyMs.toFixed(1)} ms | 1 |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
