/**
 * [CLUSTER-1] The cluster bench: `bun run bench/cluster.ts [--seconds=5] [--messages=20000]`.
 *
 * Two nodes (`bun src/main.ts`) on a fresh database of the machine's Postgres and its NATS, and load
 * processes (bench/cluster/load.ts), all in one run, side by side:
 *   - HTTP publishes (64 in flight, 200 B, a transient queue and a durable one) at the leader, and
 *     at the follower that forwards them;
 *   - WebSocket fan-out (one publisher at the leader, 10 subscribers of one queue) with the
 *     subscribers at the leader, at the follower, and split 5 + 5.
 * Beside each rate, the CPU each node spent per message (/proc), which says where the time goes.
 * Prints a markdown table; bench/RESULTS.md keeps one run's table by hand.
 */
import { SQL } from "bun";
import { resolve } from "node:path";
import { cpuSeconds, loadAverage } from "./proc-stats.ts";
import { killAll, track } from "./processes.ts";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const SECONDS = arg("seconds", 5);
const MESSAGES = arg("messages", 20_000);
const ROOT = resolve(import.meta.dir, "..");
const LOAD = resolve(import.meta.dir, "cluster/load.ts");
const ADMIN = process.env.PUBSUB_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const NATS = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

type Node = { name: string; url: string; wsUrl: string; pid: number };

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const port = freePort();
  const proc = Bun.spawn([process.execPath, resolve(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", HOST: "127.0.0.1", HTTP_PORT: String(port), NODE_NAME: name, NATS_URL: NATS, LOG_LEVEL: "warn", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  track(proc);
  let text = "";
  void (async () => {
    for await (const chunk of proc.stdout) text += new TextDecoder().decode(chunk);
  })();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while ((await fetch(`${url}/ping`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`node ${name} does not serve:\n${text}`);
    await Bun.sleep(50);
  }
  return { name, url, wsUrl: `ws://127.0.0.1:${port}/ws`, pid: proc.pid };
}

/** Runs a load process; resolves with its JSON lines. `onLine` sees each as it comes. */
async function load(args: string[], onLine?: (line: any) => void): Promise<any[]> {
  const proc = Bun.spawn([process.execPath, LOAD, ...args], { stdout: "pipe", stderr: "inherit" });
  track(proc);
  const lines: any[] = [];
  let rest = "";
  for await (const chunk of proc.stdout) {
    rest += new TextDecoder().decode(chunk);
    let at: number;
    while ((at = rest.indexOf("\n")) >= 0) {
      const line = JSON.parse(rest.slice(0, at));
      rest = rest.slice(at + 1);
      lines.push(line);
      onLine?.(line);
    }
  }
  if ((await proc.exited) !== 0) throw new Error(`load ${args[0]} failed`);
  return lines;
}

/** CPU seconds each node spends while `work` runs. */
async function metered<T>(nodes: Node[], work: () => Promise<T>): Promise<{ result: T; cpu: number[] }> {
  const before = nodes.map((n) => cpuSeconds(n.pid) ?? 0);
  const result = await work();
  return { result, cpu: nodes.map((n, i) => (cpuSeconds(n.pid) ?? 0) - before[i]!) };
}

const rows: string[][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (seconds: number, count: number) => (count === 0 ? "–" : ((seconds * 1e6) / count).toFixed(1));

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const dbName = `pubsub_bench_cluster_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  const admin = new SQL({ url: ADMIN, max: 1 });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(ADMIN);
  url.pathname = `/${dbName}`;
  const env = { DATABASE_URL: url.toString(), CLUSTER_NAME: dbName };
  try {
    const first = await startNode("leader", env);
    const second = await startNode("follower", env);
    const overview = (await (await fetch(`${second.url}/overview`)).json()) as { cluster: { leader: string } | null };
    if (overview.cluster?.leader !== first.name) throw new Error(`the first node should lead: ${JSON.stringify(overview.cluster)}`);
    const nodes = [first, second];
    const [leader, follower] = nodes as [Node, Node];
    await fetch(`${leader.url}/queues`, { method: "POST", body: JSON.stringify({ name: "transient" }) });
    await fetch(`${leader.url}/queues`, { method: "POST", body: JSON.stringify({ name: "durable", durable: true }) });

    for (const queue of ["transient", "durable"]) {
      const rates: number[] = [];
      for (const target of [leader, follower]) {
        const { result, cpu } = await metered(nodes, () => load(["publish", target.url, queue, "64", String(SECONDS)]));
        const { ok, failed, seconds } = result[0];
        if (failed > 0) throw new Error(`${failed} publishes refused`);
        const rate = ok / seconds;
        rates.push(rate);
        rows.push([`HTTP publish, ${queue}, at the ${target === leader ? "leader" : "follower (forwarded)"}`, fmt(rate), rates.length === 2 ? `${(rate / rates[0]!).toFixed(2)}×` : "1.00×", us(cpu[0]!, ok), us(cpu[1]!, ok)]);
      }
    }

    // Fan-out: the same publisher; subscribers at the leader, at the follower, split.
    let base = 0;
    for (const [label, where] of [
      ["at the leader", [leader]],
      ["at the follower", [follower]],
      ["5 at each node", [leader, follower]],
    ] as const) {
      const per = 10 / where.length;
      const expected = MESSAGES * per;
      const { result, cpu } = await metered(nodes, async () => {
        let ready = 0;
        let allReady!: () => void;
        const readyAll = new Promise<void>((r) => (allReady = r));
        const subs = where.map((n) =>
          load(["subscribe", n.wsUrl, "transient", String(per), String(expected), "60"], (line) => {
            if (line.ready && ++ready === where.length) allReady();
          }),
        );
        await readyAll;
        await load(["ws-publish", leader.wsUrl, "transient", String(MESSAGES), "256"]);
        return Promise.all(subs);
      });
      const received = result.reduce((n, lines) => n + lines.at(-1).received, 0);
      const seconds = Math.max(...result.map((lines) => lines.at(-1).seconds));
      const rate = received / seconds;
      if (base === 0) base = rate;
      rows.push([`fan-out, 10 subscribers ${label}, 256 B`, fmt(rate), `${(rate / base).toFixed(2)}×`, us(cpu[0]!, received), us(cpu[1]!, received)]);
      if (received < MESSAGES * 10) rows.at(-1)![0] += ` (${received} of ${MESSAGES * 10} arrived)`;
    }
    console.log(`\nCluster bench: 2 nodes, ${SECONDS} s per HTTP row, ${MESSAGES} messages per fan-out row; load average before ${loadBefore ?? "?"}; ${new Date().toISOString()}\n`);
    console.log("| scenario | msg/s (deliveries for fan-out) | vs the first row of its kind | leader CPU µs/msg | follower CPU µs/msg |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  } finally {
    killAll();
    await Bun.sleep(300);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.close();
  }
}

await main();
