import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createDatabase, type TestDatabase } from "../postgres/databases.ts";

const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath;
export const MAIN = join(ROOT, "src/main.ts");

export type BrokerProcess = {
  url: string;
  wsUrl: string;
  port: number;
  dataDir: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output: () => string;
  /** SIGKILL: nothing flushed, nothing closed. */
  kill9: () => Promise<void>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop: () => Promise<number>;
};

export type StartOptions = {
  /** Run this executable instead of `bun src/main.ts`. */
  executable?: string;
  cwd?: string;
  dataDir?: string;
  env?: Record<string, string>;
  port?: number;
};

/**
 * `PUBSUB_TEST_BACKEND=postgres` runs the same suites on Postgres: each data dir gets its own fresh
 * database (the same dir, the same database, so restarts find their state), all dropped after the
 * last test file.
 */
export const testBackend: "sqlite" | "postgres" = process.env.PUBSUB_TEST_BACKEND === "postgres" ? "postgres" : "sqlite";
const databases = new Map<string, TestDatabase>();

export async function databaseUrlFor(dataDir: string): Promise<string> {
  let database = databases.get(dataDir);
  if (database === undefined) {
    database = await createDatabase();
    databases.set(dataDir, database);
  }
  return database.url;
}

/** Called once after every test file (test/support/preload.ts): bun test runs no exit handlers. */
export async function dropTestDatabases(): Promise<void> {
  const all = [...databases.values()];
  databases.clear();
  await Promise.all(all.map((database) => database.drop().catch(() => undefined)));
}

export const tempDir = (prefix = "pubsub-test-"): string => mkdtempSync(join(tmpdir(), prefix));
export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/**
 * [CLUSTER-1] `PUBSUB_TEST_CLUSTER=1`: a "broker" is three nodes of a cluster behind a relay that
 * sends each new connection to a random node, so a suite runs unchanged against the cluster
 * (test/cluster/suites.test.ts runs some that way). Its data dir is the cluster's; stop() and
 * kill9() end every node.
 */
export const testCluster = process.env.PUBSUB_TEST_CLUSTER === "1";

async function startClusterBroker(options: StartOptions): Promise<BrokerProcess> {
  const { startCluster, alive } = await import("./cluster.ts");
  const { startProxy } = await import("../client/support/tcp-proxy.ts");
  const cluster = await startCluster(3, options.env);
  const proxy = await startProxy(() => {
    const live = cluster.nodes.filter(alive);
    return live[Math.floor(Math.random() * live.length)]!.port;
  });
  const leader = await cluster.leader();
  const end = async () => {
    proxy.close();
    await cluster.close();
  };
  return {
    url: proxy.url,
    wsUrl: `ws://127.0.0.1:${proxy.port}/ws`,
    port: proxy.port,
    dataDir: options.dataDir ?? tempDir(),
    proc: leader.proc,
    output: () => cluster.nodes.map((n) => n.output()).join(""),
    kill9: end,
    stop: async () => {
      await end();
      return 0;
    },
  };
}

/** Starts a broker on 127.0.0.1 (port 0 unless given) and resolves once it prints its address. */
export async function startBroker(options: StartOptions = {}): Promise<BrokerProcess> {
  if (testCluster && options.executable === undefined) return startClusterBroker(options);
  const dataDir = options.dataDir ?? tempDir();
  const cmd = options.executable ? [options.executable] : [BUN, MAIN];
  const backendEnv: Record<string, string> =
    testBackend === "postgres" && options.env?.DATABASE_URL === undefined ? { DATABASE_URL: await databaseUrlFor(dataDir) } : {};
  const proc = Bun.spawn(cmd, {
    cwd: options.cwd ?? dataDir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      HOST: "127.0.0.1",
      HTTP_PORT: String(options.port ?? 0),
      DATA_DIR: dataDir,
      ...backendEnv,
      ...options.env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const deadline = Date.now() + 15_000;
  let port = 0;
  let scheme = "http";
  while (Date.now() < deadline) {
    const match = /listening on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(text);
    if (match) {
      scheme = match[1]!;
      port = Number(match[2]);
      break;
    }
    if (proc.exitCode !== null) break;
    await Bun.sleep(10);
  }
  if (port === 0) {
    proc.kill("SIGKILL");
    throw new Error(`broker did not start (exit ${proc.exitCode}):\n${text}`);
  }
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    wsUrl: `${scheme === "https" ? "wss" : "ws"}://127.0.0.1:${port}/ws`,
    port,
    dataDir,
    proc,
    output: () => text,
    kill9: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    stop: async () => {
      proc.kill("SIGTERM");
      return await proc.exited;
    },
  };
}

/** A JSON request; returns status and parsed body (null when empty). */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}
