/**
 * The command line and names in URL paths: `pubsub queues get .` used to list every queue
 * (`/queues/.` is `/queues`). Run from source (`bun src/main.ts`, the same entry the executable
 * has) against a real broker; a TCP listener that counts connections proves nothing was sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type PubsubClient } from "../../src/client/index.ts";
import { BUN, MAIN, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";

let broker: BrokerProcess;
let admin: PubsubClient;

beforeAll(async () => {
  broker = await startBroker();
  admin = connect(broker.url);
  await admin.queues.declare({ name: "cli-n-a" });
  await admin.queues.declare({ name: "cli-n-b" });
}, 30_000);
afterAll(async () => {
  await admin.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

async function pubsub(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BUN, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

describe("[CLIENT-3] the CLI", () => {
  test("[CLIENT-3] `queues get .` and friends exit 1 with INVALID_NAME and print nothing on stdout (it listed every queue)", async () => {
    for (const args of [
      ["queues", "get", "."],
      ["queues", "get", ".."],
      ["queues", "purge", "."],
      ["queues", "delete", ".."],
      ["exchanges", "get", "."],
      ["exchanges", "delete", ".."],
    ]) {
      const run = await pubsub([...args, "--url", broker.url]);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 1, stdout: "" });
      expect(run.stderr).toMatch(/^pubsub: INVALID_NAME: (queue|exchange) name "\.\.?" cannot be put in a URL path/);
    }
    expect((await admin.queues.list()).map((q) => q.name)).toEqual(expect.arrayContaining(["cli-n-a", "cli-n-b"]));
  });

  test("[CLIENT-3] refused before connecting: a listener at --url sees no connection", async () => {
    let connections = 0;
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data: () => {} } });
    try {
      const run = await pubsub(["queues", "get", ".", "--url", `http://127.0.0.1:${listener.port}`]);
      expect(run.code).toBe(1);
      expect(connections).toBe(0);
    } finally {
      listener.stop(true);
    }
  });

  test("[CLIENT-3] names with /, %, \\ and dots reach their own queue", async () => {
    for (const name of ["a/b", "%2e", "a\\b", "...", "../cli-n-a"]) {
      expect((await pubsub(["queues", "declare", name, "--url", broker.url])).code).toBe(0);
      const got = await pubsub(["queues", "get", name, "--url", broker.url]);
      expect({ name, code: got.code, got: JSON.parse(got.stdout).name }).toEqual({ name, code: 0, got: name });
      expect((await pubsub(["queues", "delete", name, "--url", broker.url])).code).toBe(0);
    }
    expect((await admin.queues.get("cli-n-a")).name).toBe("cli-n-a");
  });
});
