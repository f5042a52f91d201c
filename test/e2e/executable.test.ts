import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { api, removeDir, startBroker, tempDir } from "../support/broker-process.ts";
import { buildExecutable, type Built } from "../support/executable.ts";
import { TestSocket } from "../support/ws-client.ts";

let binary = "";
const dirs: string[] = [];

/** An empty directory holding nothing but a copy of the executable: what a user gets. */
function freshInstall(): { dir: string; exe: string } {
  const dir = tempDir("pubsub-e2e-");
  dirs.push(dir);
  const exe = join(dir, "pubsub");
  copyFileSync(binary, exe);
  Bun.spawnSync(["chmod", "+x", exe]);
  return { dir, exe };
}

/** Runs in the directory, with no DATA_DIR: the database lands beside the executable's cwd. */
const startIn = (dir: string, exe: string, env: Record<string, string> = {}) =>
  startBroker({ executable: exe, cwd: dir, dataDir: dir, env: { DATA_DIR: "", ...env } });

let built: Built | undefined;

beforeAll(() => {
  built = buildExecutable();
  binary = built.binary;
});

afterAll(() => {
  built?.remove();
  for (const dir of dirs) removeDir(dir);
});

describe("the compiled executable", () => {
  test("answers --version and --help without starting a broker", () => {
    const { exe } = freshInstall();
    const version = Bun.spawnSync([exe, "--version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = Bun.spawnSync([exe, "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("pubsub [serve]");
  });

  test("copied alone into an empty directory: creates pub-sub.db, migrates, serves, survives kill -9", async () => {
    const { dir, exe } = freshInstall();
    const first = await startIn(dir, exe);
    expect(existsSync(join(dir, "pub-sub.db"))).toBe(true);
    expect((await api(first.url, "GET", "/ping")).body).toEqual({ message: "PONG" });
    expect((await api(first.url, "POST", "/exchanges", { name: "orders", type: "direct" })).status).toBe(200);
    expect((await api(first.url, "POST", "/queues", { name: "billing", durable: true })).status).toBe(200);
    expect((await api(first.url, "POST", "/bindings", { exchange_name: "orders", queue_name: "billing", key: "eu" })).status).toBe(200);
    for (let i = 0; i < 50; i++) {
      const published = await api(first.url, "POST", "/publish", { exchange_name: "orders", key: "eu", payload: { n: i } });
      expect(published.body).toMatchObject({ routed: 1, durable: 1 });
    }
    // [CONFIRM-1] every answered publish is on disk: kill -9 right after the last answer.
    await first.kill9();

    const second = await startIn(dir, exe);
    const subscriber = await TestSocket.open(second.wsUrl);
    subscriber.subscribe("billing");
    await subscriber.untilMessages(50);
    expect(subscriber.messages().map((m) => m.body.n)).toEqual([...Array(50).keys()]);
    expect(subscriber.messages().map((m) => m.seq)).toEqual([...Array(50).keys()].map((i) => i + 1));
    // Topology came back too, and seqs go on from where they were.
    await api(second.url, "POST", "/publish", { exchange_name: "orders", key: "eu", payload: "after" });
    await subscriber.untilMessages(51);
    expect(subscriber.messages()[50]).toMatchObject({ body: "after", seq: 51 });
    subscriber.close();
    expect(await second.stop()).toBe(0);
  });

  test("DATABASE_NAME moves the database file", async () => {
    const { dir, exe } = freshInstall();
    const broker = await startIn(dir, exe, { DATABASE_NAME: "elsewhere" });
    expect(existsSync(join(dir, "elsewhere.db"))).toBe(true);
    expect(existsSync(join(dir, "pub-sub.db"))).toBe(false);
    expect(await broker.stop()).toBe(0);
  });

  test("a second broker on the same database refuses to start, and the first keeps serving", async () => {
    const { dir, exe } = freshInstall();
    const first = await startIn(dir, exe);
    const second = Bun.spawn([exe], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", HTTP_PORT: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await second.exited).not.toBe(0);
    expect(await new Response(second.stderr).text()).toContain("in use by another process");
    expect((await api(first.url, "GET", "/ping")).status).toBe(200);
    expect(await first.stop()).toBe(0);
  });

  test("serves Swagger UI and its assets from inside the executable", async () => {
    const { dir, exe } = freshInstall();
    const broker = await startIn(dir, exe);
    const page = await (await fetch(`${broker.url}/swagger`)).text();
    expect(page).not.toMatch(/https?:\/\//);
    const assets = [...page.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) expect((await fetch(`${broker.url}${asset}`)).status).toBe(200);
    const spec = await (await fetch(`${broker.url}/swagger/json`)).json();
    expect(Object.keys(spec.paths)).toContain("/publish");
    expect(await broker.stop()).toBe(0);
  });
});
