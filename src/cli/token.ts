/**
 * `pubsub token`: mints a JWT for testing, as Centrifugo's gentoken does. In production the
 * application's backend mints them; this signs with the same rules the broker verifies with
 * (HS256 for a secret, the key's own algorithm for a private key), so a token it prints is one
 * the broker accepts with the matching key. Needs no broker.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { importPKCS8, SignJWT, type CryptoKey } from "jose";
import { algorithmOf, PERMISSION_CLAIM } from "../auth/jwt.ts";
import { MIN_HS256_SECRET_BYTES } from "../auth/limits.ts";
import { parsePermissions } from "../auth/permissions.ts";
import { printableProblem, utf8ByteLength } from "../core/names.ts";
import { UsageError } from "./args.ts";
import { AUTH_COMMAND_USAGE } from "./usage.ts";

const TTL = /^([0-9]+)(s|m|h|d)?$/;
const TTL_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** `30s`, `15m`, `1h`, `7d` or plain seconds. */
export function ttlSeconds(text: string): number {
  const match = TTL.exec(text.trim());
  const seconds = match ? Number(match[1]) * TTL_SECONDS[(match[2] ?? "s") as keyof typeof TTL_SECONDS] : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new UsageError(`--ttl must be a duration like 30s, 15m, 1h or 7d, got "${text}"`);
  return seconds;
}

type SigningKey = { alg: string; key: CryptoKey | Uint8Array };

async function signingKeyOf(flags: { secret?: string; "secret-file"?: string; key?: string }): Promise<SigningKey> {
  const given = [flags.secret, flags["secret-file"], flags.key].filter((f) => f !== undefined).length;
  if (given !== 1) throw new UsageError("give exactly one of --secret, --secret-file or --key");
  if (flags.key !== undefined) {
    let key: KeyObject;
    try {
      key = createPrivateKey(readFileSync(flags.key, "utf8"));
    } catch (error) {
      throw new UsageError(`--key ${flags.key}: not a readable PEM private key (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const alg = algorithmOf(key);
    if (alg === undefined) throw new UsageError("--key must be RSA (2048 bits or more), EC P-256 or P-384, or Ed25519");
    return { alg, key: await importPKCS8(key.export({ type: "pkcs8", format: "pem" }) as string, alg) };
  }
  // A file's trailing newline is not part of the secret (echo adds one).
  const secret = flags.secret ?? readFileSync(flags["secret-file"]!, "utf8").replace(/\r?\n$/, "");
  if (utf8ByteLength(secret) < MIN_HS256_SECRET_BYTES) throw new UsageError(`the secret must be at least ${MIN_HS256_SECRET_BYTES} bytes (HS256's key is 256 bits)`);
  return { alg: "HS256", key: new TextEncoder().encode(secret) };
}

/** Mints the token for these arguments; `now` in milliseconds (tests pin it). */
export async function mintToken(argv: string[], now = Date.now()): Promise<string> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        sub: { type: "string" },
        ttl: { type: "string" },
        secret: { type: "string" },
        "secret-file": { type: "string" },
        key: { type: "string" },
        permissions: { type: "string" },
        issuer: { type: "string" },
        audience: { type: "string" },
        kid: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const sub = values.sub;
  if (sub === undefined || sub === "") throw new UsageError("--sub <user> is required");
  const subProblem = printableProblem(sub);
  if (subProblem) throw new UsageError(`--sub must be printable: ${subProblem}`);
  let claim: unknown;
  if (values.permissions !== undefined) {
    try {
      claim = JSON.parse(values.permissions);
    } catch {
      throw new UsageError("--permissions must be JSON: a permission set such as '{\"read\":\"^user\\\\.{user}\\\\.\"}'");
    }
    // The broker would refuse a token whose claim does not compile: refuse to mint it.
    const checked = parsePermissions(claim, sub, "--permissions");
    if (!checked.ok) throw new UsageError(checked.error.message);
  }
  const { alg, key } = await signingKeyOf(values);
  const issuedAt = Math.floor(now / 1000);
  const jwt = new SignJWT({ ...(claim !== undefined && { [PERMISSION_CLAIM]: claim }) })
    .setProtectedHeader({ alg, typ: "JWT", ...(values.kid !== undefined && { kid: values.kid }) })
    .setSubject(sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds(values.ttl ?? "1h"));
  if (values.issuer !== undefined) jwt.setIssuer(values.issuer);
  if (values.audience !== undefined) jwt.setAudience(values.audience);
  return jwt.sign(key);
}

/** `pubsub token …`: the token on stdout; exit 2 with the usage on a bad command line. */
export async function tokenCommand(argv: string[]): Promise<number> {
  try {
    process.stdout.write(`${await mintToken(argv)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pubsub token: ${error.message}\nusage: ${AUTH_COMMAND_USAGE.token}\n`);
      return 2;
    }
    process.stderr.write(`pubsub token: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
