/**
 * Starting on Postgres: an unreachable server stops the broker fast with one line naming it, and
 * a second broker on the same database is refused while the first runs [LOCK-1], after waiting a
 * moment for a lock that a killed broker's session may still hold [LOCK-3].
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN, MAIN, api, removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { SQL } from "bun";
import { LOCK_KEY } from "../../src/store/postgres/database-lock.ts";
import { until } from "../support/until.ts";
import { createDatabase, type TestDatabase } from "./databases.ts";
import { sparePort } from "./instance.ts";

/** The bound: unreachable Postgres at start means exit within 10 s. */
const START_FAILURE_BOUND_MS = 10_000;

/** Runs `pubsub serve` until it exits by itself; resolves with its exit code, output and duration. */
async function runUntilExit(databaseUrl: string): Promise<{ code: number; output: string; ms: number }> {
  const dataDir = tempDir();
  const started = performance.now();
  const proc = Bun.spawn([BUN, MAIN], {
    cwd: dataDir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dataDir, HOST: "127.0.0.1", HTTP_PORT: "0", DATA_DIR: dataDir, DATABASE_URL: databaseUrl },
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill("SIGKILL"), START_FAILURE_BOUND_MS + 5_000);
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(killer);
  const ms = performance.now() - started;
  removeDir(dataDir);
  return { code, output: (out + err).trim(), ms };
}

let database: TestDatabase;
let first: BrokerProcess | undefined;

beforeAll(async () => {
  database = await createDatabase();
});

afterAll(async () => {
  if (first && first.proc.exitCode === null) await first.kill9();
  if (first) removeDir(first.dataDir);
  await database.drop();
});

test("Postgres unreachable at start: exit non-zero within 10 s with one line naming host and port", async () => {
  const closedPort = sparePort();
  // Refused at once, and an address that never answers (the connect timeout's case).
  const [refused, silent] = await Promise.all([
    runUntilExit(`postgres://postgres@127.0.0.1:${closedPort}/pubsub`),
    runUntilExit("postgres://postgres@10.255.255.1:5432/pubsub"),
  ]);
  for (const [run, where] of [
    [refused, `127.0.0.1:${closedPort}`],
    [silent, "10.255.255.1:5432"],
  ] as const) {
    expect(run.code).not.toBe(0);
    expect(run.ms).toBeLessThan(START_FAILURE_BOUND_MS);
    expect(run.output.split("\n")).toHaveLength(1);
    expect(run.output).toContain(where);
    expect(run.output).toContain("cannot connect to Postgres");
  }
}, 20_000);

test("[LOCK-1] a second broker on the same database refuses to start with a clear message; the first keeps working", async () => {
  first = await startBroker({ env: { DATABASE_URL: database.url } });
  await api(first.url, "POST", "/queues", { name: "q", durable: true });
  const second = await runUntilExit(database.url);
  expect(second.code).not.toBe(0);
  expect(second.output).toContain(`database "${database.name}" at 127.0.0.1:5432 is in use by another pubsub broker`);
  expect(second.output.split("\n")).toHaveLength(1);
  const answer = await api(first.url, "POST", "/publish", { exchange_name: "", key: "q", payload: "still here" });
  expect(answer.status).toBe(200);
  expect(answer.body.durable).toBe(1);
}, 20_000);

test("[LOCK-3] a lock still held when the broker starts (a killed broker's session not yet gone) is waited for: once released, the broker starts", async () => {
  const other = await createDatabase();
  // Another session holds the broker's lock, as a broker killed mid-statement leaves it for a moment.
  const holder = new SQL({ url: other.url, max: 1 });
  const [row] = await holder.unsafe(`select pg_try_advisory_lock(${LOCK_KEY}) as locked`);
  expect(row.locked).toBe(true);
  let startedAt = 0;
  const starting = startBroker({ env: { DATABASE_URL: other.url } }).then((broker) => {
    startedAt = performance.now();
    return broker;
  });
  // Released once the broker is seen trying for it: connected to the database, not yet listening.
  await until(async () => {
    const [seen] = await holder.unsafe(`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
    return seen.n > 0;
  }, 10_000, "the broker's connection");
  await Bun.sleep(300);
  expect(startedAt).toBe(0);
  const releasedAt = performance.now();
  await holder.unsafe(`select pg_advisory_unlock(${LOCK_KEY})`);
  const broker = await starting;
  try {
    expect(startedAt).toBeGreaterThan(releasedAt);
    const answer = await api(broker.url, "POST", "/queues", { name: "after-the-wait", durable: true });
    expect(answer.status).toBe(200);
  } finally {
    await broker.kill9();
    removeDir(broker.dataDir);
    await holder.close();
    await other.drop();
  }
}, 30_000);

test("a bad DATABASE_URL stops the start with one line", async () => {
  const run = await runUntilExit("mysql://root@127.0.0.1/x");
  expect(run.code).not.toBe(0);
  expect(run.output).toContain("DATABASE_URL must start with postgres://");
}, 20_000);
