/**
 * The command line, run as users run it: the compiled executable, built once here, serving the
 * broker and talking to it. Every client command takes --url; an unreachable broker is one line
 * on stderr and exit 1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type PubsubClient } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { buildExecutable, type Built } from "../support/executable.ts";
import { until } from "../support/until.ts";

let built: Built | undefined;
let exe = "";
let broker: BrokerProcess;
let admin: PubsubClient;
/** A port nothing listens on: the broker's, before it started, is not guaranteed free; this one is. */
const DEAD_URL = "http://127.0.0.1:1";

beforeAll(async () => {
  built = buildExecutable();
  exe = built.binary;
  broker = await startBroker({ executable: exe });
  admin = connect(broker.url);
}, 60_000);

afterAll(async () => {
  await admin?.close();
  if (broker?.proc.exitCode === null) await broker.stop();
  removeDir(broker?.dataDir ?? "");
  built?.remove();
});

type Run = { code: number; stdout: string; stderr: string };

/** Runs `pubsub …` to its end. */
async function pubsub(args: string[], stdin?: string): Promise<Run> {
  const proc = Bun.spawn([exe, ...args], { stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

/** `pubsub …` against the test's broker. */
const cli = (args: string[], stdin?: string) => pubsub([...args, "--url", broker.url], stdin);
const jsonLines = (text: string): any[] => text.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));

/** Starts a long-running command and collects its stdout lines as they come. */
function follow(args: string[]) {
  const proc = Bun.spawn([exe, ...args], { stdout: "pipe", stderr: "pipe" });
  const lines: any[] = [];
  let stderr = "";
  void (async () => {
    let buffered = "";
    for await (const chunk of proc.stdout) {
      buffered += new TextDecoder().decode(chunk);
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const line of parts) if (line) lines.push(JSON.parse(line));
    }
  })();
  void (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  return { proc, lines, stderr: () => stderr };
}

describe("help and version", () => {
  test("--help names every command; --version prints the version", async () => {
    const help = await pubsub(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["pubsub [serve]", "publish", "subscribe", "consume", "exchanges", "queues", "bindings", "--url"]) {
      expect(help.stdout).toContain(command);
    }
    const version = await pubsub(["--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("an unknown command or flag, or missing arguments: exit 2 with the usage", async () => {
    expect((await pubsub(["frobnicate"])).code).toBe(2);
    const flag = await cli(["queues", "list", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("usage: pubsub queues");
    const missing = await cli(["publish", "orders"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing <key> <json>");
    const notJson = await cli(["publish", "", "q", "hello"]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain("is not JSON");
  });
});

describe("an unreachable broker", () => {
  test.each([
    [["queues"]],
    [["exchanges", "declare", "x", "fanout"]],
    [["bindings", "list"]],
    [["publish", "", "q", "1"]],
    [["subscribe", "q"]],
    [["consume", "q"]],
  ])("%p: exit 1 and one clear line", async (args) => {
    const run = await pubsub([...args, "--url", DEAD_URL]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`pubsub: cannot reach the broker at ${DEAD_URL}: connection refused\n`);
  });

  test("--url defaults to http://127.0.0.1:8060", async () => {
    const run = await pubsub(["queues"]);
    // Whether or not a broker runs there, it is where the command went.
    if (run.code !== 0) expect(run.stderr).toContain("http://127.0.0.1:8060");
  });
});

describe("administration", () => {
  test("exchanges, queues and bindings: declare, list, get, delete, purge", async () => {
    expect(jsonLines((await cli(["exchanges", "declare", "orders", "direct"])).stdout)).toEqual([{ created: true }]);
    expect(jsonLines((await cli(["queues", "declare", "billing", "--durable", "--max-length", "100", "--history-size", "10"])).stdout)).toEqual([
      { created: true },
    ]);
    expect(jsonLines((await cli(["bindings", "declare", "orders", "billing", "eu"])).stdout)).toEqual([{ created: true }]);

    expect(jsonLines((await cli(["exchanges"])).stdout).find((e) => e.name === "orders")).toEqual({
      name: "orders",
      type: "direct",
      durable: true,
      bindings: 1,
    });
    const queue = jsonLines((await cli(["queues", "get", "billing"])).stdout)[0];
    expect(queue).toMatchObject({ name: "billing", durable: true, arguments: { max_length: 100, history_size: 10 } });
    expect(jsonLines((await cli(["bindings", "list", "--queue", "billing"])).stdout)).toEqual([
      { exchange_name: "orders", queue_name: "billing", key: "eu", arguments: {} },
    ]);

    await cli(["publish", "orders", "eu", '{"total":1}']);
    expect(jsonLines((await cli(["queues", "purge", "billing"])).stdout)).toEqual([{ messages: 1 }]);
    expect((await cli(["bindings", "delete", "orders", "billing", "eu"])).code).toBe(0);
    expect((await cli(["exchanges", "delete", "orders"])).code).toBe(0);
    expect(jsonLines((await cli(["queues", "delete", "billing"])).stdout)).toEqual([{ messages: 0 }]);
  });

  test("a refusal is exit 1 with the broker's code on one line", async () => {
    const run = await cli(["exchanges", "get", "no-such-exchange"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('pubsub: E002: exchange "no-such-exchange" does not exist\n');
    const conflict = await cli(["queues", "declare", "twice", "--durable"]).then(() => cli(["queues", "declare", "twice"]));
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toStartWith("pubsub: Q001: ");
  });

  test("headers bindings take --arg name=value", async () => {
    await cli(["exchanges", "declare", "by-region", "headers"]);
    await cli(["queues", "declare", "eu-only"]);
    expect((await cli(["bindings", "declare", "by-region", "eu-only", "--arg", "region=eu", "--arg", "x-match=all"])).code).toBe(0);
    const routed = jsonLines((await cli(["publish", "by-region", "", "1", "--header", "region=eu"])).stdout)[0];
    expect(routed).toMatchObject({ routed: 1, durable: 0 });
  });
});

describe("publish, subscribe, consume", () => {
  test("publish prints the broker's answer; '-' publishes each line of stdin with confirms", async () => {
    await admin.queues.declare({ name: "lines", durable: true });
    const one = await cli(["publish", "", "lines", '{"n":0}', "--message-id", "m-0"]);
    expect(jsonLines(one.stdout)[0]).toMatchObject({ routed: 1, durable: 1, duplicate: false });
    const many = await cli(["publish", "", "lines", "-"], '{"n":1}\n\n"two"\n3\n');
    expect(many.code).toBe(0);
    expect(jsonLines(many.stdout)).toEqual([{ published: 3, routed: 3 }]);
    const badLine = await cli(["publish", "", "lines", "-"], "1\nnope\n");
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toContain("line 2 is not JSON");
  });

  test("subscribe prints every message as a JSON line, from --since on", async () => {
    await admin.queues.declare({ name: "feed", history_size: 100 });
    const steady: unknown[] = [];
    await admin.subscribe("feed", (m) => void steady.push(m.body));
    for (let n = 1; n <= 5; n++) await admin.publish("", "feed", { n });
    await until(() => steady.length === 5);
    const run = await cli(["subscribe", "feed", "--since", "2", "--count", "3"]);
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines.map((m) => m.body)).toEqual([{ n: 3 }, { n: 4 }, { n: 5 }]);
    expect(lines[0]).toMatchObject({ queue: "feed", seq: 3, exchange: "", routing_key: "feed" });
  });

  test("consume prints, then acks: what it printed leaves the queue, the rest stays", async () => {
    await admin.queues.declare({ name: "tasks", durable: true });
    for (let n = 1; n <= 5; n++) await admin.publish("", "tasks", n);
    const run = await cli(["consume", "tasks", "--count", "3"]);
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines.map((m) => m.body)).toEqual([1, 2, 3]);
    expect(lines[0]).toMatchObject({ delivery_tag: expect.any(Number), redelivered: false, delivery_count: 1 });
    await until(async () => (await admin.queues.get("tasks")).acked === 3);
    expect(await admin.queues.get("tasks")).toMatchObject({ messages: 2, unacked: 0 });
  });

  test("subscribe ends with exit 1 and the broker's code when its queue is deleted", async () => {
    await admin.queues.declare({ name: "short-lived" });
    const sub = follow(["subscribe", "short-lived", "--url", broker.url]);
    await until(async () => (await admin.queues.get("short-lived")).subscribers === 1, 5_000, "the subscriber");
    await admin.queues.delete("short-lived");
    expect(await sub.proc.exited).toBe(1);
    await until(() => sub.stderr().includes("\n"), 2_000, "the line on stderr");
    expect(sub.stderr()).toStartWith('pubsub: Q002: queue "short-lived" was deleted');
  });

  test("subscribe follows the broker through a kill -9 and restart, then stops on SIGINT with exit 0", async () => {
    await admin.queues.declare({ name: "live", durable: true });
    const sub = follow(["subscribe", "live", "--url", broker.url]);
    await until(async () => (await admin.queues.get("live")).subscribers === 1, 5_000, "the subscriber");
    await admin.publish("", "live", "before");
    await until(() => sub.lines.length === 1, 5_000, "the first line");

    await broker.kill9();
    broker = await startBroker({ executable: exe, dataDir: broker.dataDir, port: broker.port });
    await until(async () => (await admin.queues.get("live").catch(() => undefined))?.subscribers === 1, 10_000, "the subscriber back");
    await admin.publish("", "live", "after");
    await until(() => sub.lines.some((m) => m.body === "after"), 5_000, "a line after the restart");
    expect(sub.stderr()).toContain("reconnecting");

    sub.proc.kill("SIGINT");
    expect(await sub.proc.exited).toBe(0);
    // "before" may come twice from the broker (sent, not yet checkpointed, at the crash); the client drops it.
    expect(sub.lines.map((m) => m.body)).toEqual(["before", "after"]);
  }, 30_000);
});
