/**
 * [CLUSTER-1] Nodes of a test cluster: `bun src/main.ts` processes on 127.0.0.1, each on a port of
 * its own, sharing one fresh Postgres database and the machine's NATS under a cluster name of
 * their own (so test files never hear each other's leaders).
 */
import type { Subprocess } from "bun";
import { createDatabase, type TestDatabase } from "../postgres/databases.ts";
import { BUN, MAIN, removeDir, tempDir } from "./broker-process.ts";
import { until } from "./until.ts";

export const NATS_URL = process.env.PUBSUB_TEST_NATS_URL ?? "nats://127.0.0.1:4222";

export type Node = {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output: () => string;
  /** Whether its log says it leads (it restored the broker and serves it). */
  leads: () => boolean;
  kill9: () => Promise<void>;
  /** Starts it again (same name, port and database) and waits until it serves. */
  restart: () => Promise<void>;
  stop: () => Promise<number>;
};

export type Cluster = {
  readonly nodes: Node[];
  readonly database: TestDatabase;
  readonly name: string;
  /** The node that leads now (waits for one). */
  leader: (ms?: number) => Promise<Node>;
  followers: () => Node[];
  close: () => Promise<void>;
};

/** A free TCP port on 127.0.0.1 (bound, read and released: a node must know its port to advertise it). */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** `env.DATABASE_URL` and `env.NATS_URL` point the nodes at a server of the test's own (to stop it); otherwise a fresh database on the machine's. */
export async function startCluster(size: number, env: Record<string, string> = {}): Promise<Cluster> {
  const database: TestDatabase = env.DATABASE_URL === undefined ? await createDatabase() : { name: "given", url: env.DATABASE_URL, drop: async () => undefined };
  const name = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const dataDir = tempDir("pubsub-cluster-");
  const nodes: Node[] = [];
  for (let i = 0; i < size; i++) nodes.push(await startNode(`node${i + 1}`, freePort(), { DATABASE_URL: database.url, CLUSTER_NAME: name, DATA_DIR: dataDir, ...env }));
  const cluster: Cluster = {
    nodes,
    database,
    name,
    leader: (ms = 15_000) => until(() => nodes.find((n) => alive(n) && n.leads()), ms, "a leader"),
    followers: () => nodes.filter((n) => alive(n) && !n.leads()),
    close: async () => {
      for (const node of nodes) if (alive(node)) node.proc.kill("SIGKILL");
      await Promise.all(nodes.map((n) => n.proc.exited));
      await database.drop().catch(() => undefined);
      removeDir(dataDir);
    },
  };
  // Every node serves (as the leader or a follower), and the followers know the leader.
  const leader = await cluster.leader();
  await until(async () => {
    for (const node of nodes) if ((await fetch(`${node.url}/ping`).catch(() => undefined))?.status !== 200) return false;
    return true;
  }, 15_000, `every node forwarding to ${leader.name}`);
  return cluster;
}

/** Neither exited nor killed by a signal (a SIGKILLed process has no exit code). */
export const alive = (node: Node): boolean => node.proc.exitCode === null && node.proc.signalCode === null;

async function startNode(name: string, port: number, env: Record<string, string>): Promise<Node> {
  let text = "";
  const spawn = () => {
    text = "";
    const proc = Bun.spawn([BUN, MAIN], {
      cwd: env.DATA_DIR,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", HOST: "127.0.0.1", HTTP_PORT: String(port), NATS_URL, NODE_NAME: name, ...env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
    };
    void collect(proc.stdout);
    void collect(proc.stderr);
    return proc;
  };
  const serving = async (proc: Subprocess) =>
    until(() => {
      if (proc.exitCode !== null) throw new Error(`node ${name} exited (${proc.exitCode}):\n${text}`);
      return /follows until it holds|listening on http/.test(text);
    }, 15_000, `node ${name} to serve`);
  const node: Node = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    proc: spawn(),
    output: () => text,
    leads: () => /pubsub \S+ listening on http/.test(text),
    kill9: async () => {
      node.proc.kill("SIGKILL");
      await node.proc.exited;
    },
    restart: async () => {
      node.proc = spawn();
      await serving(node.proc);
    },
    stop: async () => {
      node.proc.kill("SIGTERM");
      return await node.proc.exited;
    },
  };
  await serving(node.proc);
  return node;
}
