/** Structured logs (LOG_FORMAT, LOG_LEVEL) from a real broker: one JSON object per line, the events operators need, never a payload. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, databaseUrlFor, MAIN, removeDir, startBroker, tempDir, testBackend, type BrokerProcess } from "../support/broker-process.ts";
import { declareQueue, openConsumer, publish } from "../support/consumer.ts";
import { until } from "../support/until.ts";

let broker: BrokerProcess;
const SECRET_BODY = "payload-that-must-never-be-logged";

beforeAll(async () => {
  broker = await startBroker({ env: { LOG_FORMAT: "json", LOG_LEVEL: "debug" } });
});
afterAll(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

const lines = () =>
  broker
    .output()
    .split("\n")
    .filter((l) => l.trim() !== "");
const events = () => lines().map((l) => JSON.parse(l));

test("LOG_FORMAT=json: every line is one JSON object with time, level and event; connections, management actions; no payload", async () => {
  await declareQueue(broker.url, "log-q", { durable: true });
  const consumer = await openConsumer(broker.wsUrl, "log-q");
  await publish(broker.url, "log-q", { secret: SECRET_BODY }, { headers: { "x-token-like": SECRET_BODY } });
  await consumer.untilMessages(1);
  consumer.close();
  await api(broker.url, "DELETE", "/queues/log-q");
  await until(() => events().some((e) => e.event === "connection.close"), 5_000, "a connection.close line");
  const all = events();
  for (const e of all) {
    expect(typeof e.time).toBe("string");
    expect(["debug", "info", "warn", "error"]).toContain(e.level);
    expect(typeof e.event).toBe("string");
  }
  expect(all.find((e) => e.event === "lifecycle" && String(e.msg).includes("listening on"))).toBeDefined();
  const open = all.find((e) => e.event === "connection.open");
  expect(open).toMatchObject({ level: "info", remote: "127.0.0.1" });
  expect(all.find((e) => e.event === "connection.close")).toMatchObject({ connection: open.connection, remote: "127.0.0.1" });
  const actions = all.filter((e) => e.event === "management").map((e) => [e.method, e.path, e.status, e.remote]);
  expect(actions).toContainEqual(["POST", "/queues", 200, "127.0.0.1"]);
  expect(actions).toContainEqual(["DELETE", "/queues/log-q", 200, "127.0.0.1"]);
  // Publishes are not management actions (too many), and no payload or header value is ever written.
  expect(actions.some((a) => a[1] === "/publish")).toBe(false);
  expect(broker.output()).not.toContain(SECRET_BODY);
});

test("LOG_LEVEL=warn keeps info lines out; a bad LOG_FORMAT refuses to start, naming the variable", async () => {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const dataDir = tempDir();
  const quiet = Bun.spawn([process.execPath, MAIN], {
    env: { PATH: process.env.PATH ?? "/usr/bin", HOST: "127.0.0.1", HTTP_PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: "warn", ...(testBackend === "postgres" ? { DATABASE_URL: await databaseUrlFor(dataDir) } : {}) },
    cwd: dataDir,
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.ok, 15_000, "the quiet broker answering");
    await declareQueue(`http://127.0.0.1:${port}`, "quiet-q");
  } finally {
    quiet.kill("SIGTERM");
    await quiet.exited;
  }
  const out = (await new Response(quiet.stdout).text()) + (await new Response(quiet.stderr).text());
  expect(out).not.toContain(" INFO ");
  const bad = Bun.spawnSync([process.execPath, MAIN], { env: { ...process.env, LOG_FORMAT: "xml", HTTP_PORT: "0" }, cwd: dataDir });
  removeDir(dataDir);
  expect(bad.exitCode).toBe(1);
  expect(bad.stderr.toString()).toContain("LOG_FORMAT must be one of text, json");
});

