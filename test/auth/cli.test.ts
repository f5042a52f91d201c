/** `pubsub token` and `pubsub key` from source, as a user runs them: what they print, the broker's verifier accepts. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportPKCS8, exportSPKI, generateKeyPair } from "jose";
import { JwtVerifier } from "../../src/auth/jwt.ts";
import { UserDirectory } from "../../src/auth/users.ts";
import { ttlSeconds } from "../../src/cli/token.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const SECRET = "a-shared-secret-of-at-least-32-bytes!";
const dir = mkdtempSync(join(tmpdir(), "pubsub-cli-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pubsub(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

const verifierFor = async (options: Parameters<typeof JwtVerifier.create>[0]) => {
  const v = await JwtVerifier.create(options);
  if (!v.ok) throw new Error(v.error.message);
  return v.value;
};

describe("pubsub token", () => {
  test("HS256 with a claim, issuer and audience: the verifier accepts it", async () => {
    const run = await pubsub(["token", "--sub", "42", "--secret", SECRET, "--ttl", "15m", "--permissions", '{"read":"^user\\\\.{user}\\\\."}', "--issuer", "app", "--audience", "pubsub"]);
    expect(run.code).toBe(0);
    const verified = await (await verifierFor({ secret: SECRET, issuer: "app", audience: "pubsub" })).verify(run.stdout.trim());
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.value.sub).toBe("42");
    expect(verified.value.claim).toEqual({ read: "^user\\.{user}\\." });
    const ttl = verified.value.expiresAt - Date.now();
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
  });

  test("--secret-file (its trailing newline is not part of the secret)", async () => {
    const file = join(dir, "secret");
    writeFileSync(file, `${SECRET}\n`);
    const run = await pubsub(["token", "--sub", "alice", "--secret-file", file]);
    expect(run.code).toBe(0);
    expect((await (await verifierFor({ secret: SECRET })).verify(run.stdout.trim())).ok).toBe(true);
  });

  for (const alg of ["RS256", "ES256"]) {
    test(`--key with an ${alg} private key: signed with the key's algorithm`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const file = join(dir, `${alg}.pem`);
      writeFileSync(file, await exportPKCS8(privateKey));
      const run = await pubsub(["token", "--sub", "alice", "--key", file, "--kid", "k1"]);
      expect(run.code).toBe(0);
      const token = run.stdout.trim();
      expect(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString())).toEqual({ alg, typ: "JWT", kid: "k1" });
      expect((await (await verifierFor({ publicKeyPem: await exportSPKI(publicKey) })).verify(token)).ok).toBe(true);
    });
  }

  test("bad command lines exit 2 with the usage", async () => {
    for (const args of [
      ["token", "--secret", SECRET],
      ["token", "--sub", "a"],
      ["token", "--sub", "a", "--secret", "short"],
      ["token", "--sub", "a", "--secret", SECRET, "--key", "x.pem"],
      ["token", "--sub", "a", "--secret", SECRET, "--permissions", "{"],
      ["token", "--sub", "a", "--secret", SECRET, "--permissions", '{"read":"("}'],
      ["token", "--sub", "a", "--secret", SECRET, "--ttl", "soon"],
      ["token", "--sub", "a", "--secret", SECRET, "--bogus"],
      ["token", "--sub", "a", "--key", join(dir, "missing.pem")],
    ]) {
      const run = await pubsub(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toContain("usage: pubsub token");
      expect(run.stdout).toBe("");
    }
  });

  test("durations", () => {
    expect([ttlSeconds("30"), ttlSeconds("30s"), ttlSeconds("15m"), ttlSeconds("1h"), ttlSeconds("7d")]).toEqual([30, 30, 900, 3600, 604800]);
    expect(() => ttlSeconds("0s")).toThrow();
    expect(() => ttlSeconds("1w")).toThrow();
  });
});

describe("pubsub key", () => {
  test("prints a key and its USERS_FILE entry; the two authenticate together", async () => {
    const run = await pubsub(["key"]);
    expect(run.code).toBe(0);
    const [key, entry] = run.stdout.trim().split("\n");
    expect(key).toMatch(/^pk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const stored = JSON.parse(entry!);
    expect(Object.keys(stored).sort()).toEqual(["created_at", "hash", "id"]);
    expect(entry).not.toContain(key!.slice(20));
    const users = UserDirectory.fromDocument({ users: [{ name: "ci", permissions: { configure: "", write: ".*", read: "" }, keys: [stored] }] });
    if (!users.ok) throw new Error(users.error.message);
    expect((await users.value.authenticate(key!))?.user).toBe("ci");
  });

  test("takes no arguments", async () => {
    expect((await pubsub(["key", "extra"])).code).toBe(2);
  });
});
