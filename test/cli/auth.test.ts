/**
 * Client commands with a token, against a broker that takes HS256 JWTs: `--token` and
 * `PUBSUB_TOKEN` (the flag wins), REST and WebSocket commands alike; without one, the 401 is one
 * clear line and exit 1. Runs `bun src/main.ts` (the same code the executable compiles; cli.test.ts
 * covers the executable itself).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { connect, type PubsubClient } from "../../src/client/index.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, MAIN, removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";

const SECRET = "a test secret that is well over 32 bytes long";

async function mint(options: { secret?: string; ttlSeconds?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ pubsub: { configure: ".*", write: ".*", read: ".*" } })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("cli-user")
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3_600))
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

let broker: BrokerProcess;
let admin: PubsubClient;
let token = "";

beforeAll(async () => {
  broker = await startBroker({ env: { JWT_SECRET: SECRET, AUTH_FAILURES_FREE: "1000" } });
  token = await mint();
  admin = connect(broker.url, { token });
}, 30_000);
afterAll(async () => {
  await admin?.close();
  await broker?.stop();
  removeDir(broker?.dataDir ?? "");
});

type Run = { code: number; stdout: string; stderr: string };

/** `pubsub … --url <broker>` with only the environment given (no PUBSUB_TOKEN leaks in from the test's). */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const proc = Bun.spawn([BUN, MAIN, ...args, "--url", broker.url], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}
const jsonLines = (text: string): any[] => text.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));

describe("--token and PUBSUB_TOKEN", () => {
  test("--token: REST commands and publish, then subscribe and consume over the WebSocket", async () => {
    expect((await cli(["queues", "declare", "cli-feed", "--token", token])).code).toBe(0);
    expect((await cli(["queues", "declare", "cli-jobs", "--token", token])).code).toBe(0);
    const published = await cli(["publish", "", "cli-feed", '{"n":1}', "--token", token]);
    expect(published.code).toBe(0);
    expect(jsonLines(published.stdout)[0].routed).toBe(1);
    const subscribed = await cli(["subscribe", "cli-feed", "--since", "0", "--count", "1", "--token", token]);
    expect(subscribed.stderr).toBe("");
    expect(subscribed.code).toBe(0);
    expect(jsonLines(subscribed.stdout)[0].body).toEqual({ n: 1 });

    await admin.publish("", "cli-jobs", { n: 2 });
    const consumed = await cli(["consume", "cli-jobs", "--count", "1", "--token", token]);
    expect(consumed.code).toBe(0);
    expect(jsonLines(consumed.stdout)[0].body).toEqual({ n: 2 });
  });

  test("PUBSUB_TOKEN when there is no flag (its trailing newline ignored); the flag wins over it", async () => {
    const listed = await cli(["queues", "list"], { PUBSUB_TOKEN: `${token}\n` });
    expect(listed.code).toBe(0);
    expect(jsonLines(listed.stdout).map((q) => q.name)).toContain("cli-feed");

    const forged = await mint({ secret: "another secret, also longer than 32 bytes" });
    expect((await cli(["queues", "list", "--token", token], { PUBSUB_TOKEN: forged })).code).toBe(0);
    const refused = await cli(["queues", "list", "--token", forged], { PUBSUB_TOKEN: token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toStartWith("pubsub: ");
    expect(refused.stderr).toContain("(401)");
  });

  test("no token against a JWT broker: the 401 in one line saying where a token goes, exit 1", async () => {
    const run = await cli(["queues", "list"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toStartWith("pubsub: UNAUTHORIZED (401): ");
    expect(run.stderr).toContain("--token <token> or --token-file <file>, or set PUBSUB_TOKEN");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);

    // Over the WebSocket too: refused once, not retried.
    const sub = await cli(["subscribe", "cli-feed", "--count", "1"]);
    expect(sub.code).toBe(1);
    expect(sub.stderr).toStartWith("pubsub: UNAUTHORIZED: ");
    expect(sub.stderr).toContain("PUBSUB_TOKEN");
    expect(sub.stderr).not.toContain("reconnecting");
  });

  test("a token the broker refuses on the WebSocket: its code, exit 1, the token never printed", async () => {
    const forged = await mint({ secret: "another secret, also longer than 32 bytes" });
    const run = await cli(["subscribe", "cli-feed", "--count", "1", "--token", forged]);
    expect(run.code).toBe(1);
    expect(run.stderr).toStartWith("pubsub: TOKEN_INVALID: ");
    expect(run.stderr).not.toContain(forged);
    expect(run.stderr).not.toContain("PUBSUB_TOKEN");
  });

  test("--token with nothing in it is a usage error", async () => {
    const run = await cli(["queues", "list", "--token", " "]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--token needs a token");
  });

  test("--help names --token and PUBSUB_TOKEN", async () => {
    const proc = Bun.spawn([BUN, MAIN, "--help"], { stdout: "pipe" });
    const help = await new Response(proc.stdout).text();
    expect(help).toContain("--token");
    expect(help).toContain("PUBSUB_TOKEN");
  });
});

describe("[CLI-TOKEN-1] --token-file and PUBSUB_TOKEN_FILE", () => {
  test("a token file works as --token does; PUBSUB_TOKEN_FILE when there is no flag; a file that is missing or empty is one clear line", async () => {
    const dir = tempDir();
    try {
      const file = join(dir, "token");
      writeFileSync(file, `${token}\n`);
      const listed = await cli(["queues", "list", "--token-file", file]);
      expect(listed.code).toBe(0);
      expect((await cli(["queues", "list"], { PUBSUB_TOKEN_FILE: file })).code).toBe(0);

      const missing = await cli(["queues", "list", "--token-file", join(dir, "nope")]);
      expect([missing.code, missing.stderr.trim()]).toEqual([1, `pubsub: cannot read the token file ${join(dir, "nope")} (--token-file): ENOENT`]);
      writeFileSync(join(dir, "empty"), "\n");
      const empty = await cli(["queues", "list"], { PUBSUB_TOKEN_FILE: join(dir, "empty") });
      expect([empty.code, empty.stderr.trim()]).toEqual([1, `pubsub: the token file ${join(dir, "empty")} (PUBSUB_TOKEN_FILE) is empty`]);
      const both = await cli(["queues", "list", "--token", token, "--token-file", file]);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain("give --token or --token-file, not both");
    } finally {
      removeDir(dir);
    }
  });

  test("a JWT rotated in the file keeps a consume going past the first token's exp", async () => {
    const dir = tempDir();
    try {
      const file = join(dir, "token");
      // Expires in 3-4 s: within the broker's notice, so TOKEN_EXPIRING comes at once.
      const first = await mint({ ttlSeconds: 4 });
      const firstExp = JSON.parse(atob(first.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000;
      writeFileSync(file, first);
      await admin.queues.declare({ name: "cli-rotated", durable: true });
      const proc = Bun.spawn([BUN, MAIN, "consume", "cli-rotated", "--count", "1", "--token-file", file, "--url", broker.url], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      await until(async () => (await admin.queues.get("cli-rotated")).consumers === 1, 10_000, "the CLI's consumer");
      // What rotates the token writes the next one; the CLI reads it at the renewal (or reconnection).
      writeFileSync(file, await mint({ ttlSeconds: 3_600 }));
      await Bun.sleep(Math.max(0, firstExp + 1_000 - Date.now()));
      await admin.publish("", "cli-rotated", { after: "exp" });
      const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      // The broker's notice may come before the rotation: the file still held the first token, so
      // the socket closed at its exp (4011) and the CLI reconnected with the new one. Nothing else.
      for (const line of stderr.trim().split("\n").filter(Boolean)) expect(line).toMatch(/close 4011 token expired\); reconnecting$|^pubsub: reconnected$/);
      expect(code).toBe(0);
      expect(jsonLines(stdout)[0].body).toEqual({ after: "exp" });
    } finally {
      removeDir(dir);
    }
  }, 20_000);
});
