/**
 * Client commands with a token, against a broker that takes HS256 JWTs: `--token` and
 * `PUBSUB_TOKEN` (the flag wins), REST and WebSocket commands alike; without one, the 401 is one
 * clear line and exit 1. Runs `bun src/main.ts` (the same code the executable compiles; cli.test.ts
 * covers the executable itself).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { connect, type PubsubClient } from "../../src/client/index.ts";
import { BUN, MAIN, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";

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
    expect(run.stderr).toContain("--token <token> or set PUBSUB_TOKEN");
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
