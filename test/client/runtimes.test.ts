/**
 * The client is one ESM bundle with no server code in it, and it runs where the README says:
 * Bun (every other test here), browsers (test/browser/client-live-feed.test.ts) and Node.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";

const ROOT = resolve(import.meta.dir, "../..");
const ENTRY = join(ROOT, "src/client/index.ts");
let work = "";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "pubsub-client-bundle-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the bundle", () => {
  test("takes nothing but src/client (and core's import-free path-segment rule): no server, Bun or Node module gets in", async () => {
    const loaded = new Set<string>();
    const result = await Bun.build({
      entrypoints: [ENTRY],
      target: "browser",
      format: "esm",
      outdir: work,
      plugins: [
        {
          name: "record",
          setup(build) {
            build.onLoad({ filter: /.*/ }, (args) => {
              loaded.add(relative(ROOT, args.path));
              return undefined;
            });
          },
        },
      ],
    });
    expect(result.success).toBe(true);
    expect(loaded).toContain("src/client/connection.ts");
    // The one rule for names a URL path cannot carry, shared with the broker's validateName.
    expect([...loaded].filter((path) => !path.startsWith("src/client/") && path !== "src/core/path-segments.ts")).toEqual([]);
    const text = await result.outputs[0]!.text();
    expect(text).not.toMatch(/from ?["'](elysia|bun|node:|bun:)/);
    expect(text).not.toContain("require(");
    expect(text.length).toBeLessThan(64 * 1024);
  });
});

describe("in Node", () => {
  let broker: BrokerProcess;
  beforeAll(async () => {
    broker = await startBroker();
  }, 30_000);
  afterAll(async () => {
    await broker.stop();
    removeDir(broker.dataDir);
  });

  const node = Bun.which("node");
  test.skipIf(node === null)("publishes with confirms, subscribes and administers with Node's own fetch and WebSocket", async () => {
    const bundle = join(work, "client-node.js");
    const built = Bun.spawnSync([process.execPath, "build", ENTRY, "--target", "node", "--format", "esm", "--outfile", bundle]);
    expect(built.exitCode).toBe(0);
    const script = join(work, "node-check.mjs");
    writeFileSync(
      script,
      `import { connect } from ${JSON.stringify(bundle)};
const client = connect(process.argv[2]);
await client.queues.declare({ name: "from-node", history_size: 10 });
const received = [];
await client.subscribe("from-node", (m) => { received.push(m.body); });
const confirms = await Promise.all([1, 2, 3].map((n) => client.publish("", "from-node", { n })));
const missing = await client.publish("nope", "k", 1).catch((e) => e.code);
while (received.length < 3) await new Promise((r) => setTimeout(r, 10));
await client.close();
console.log(JSON.stringify({ received, confirms, missing }));
`,
    );
    // Node 22 has a global WebSocket; Node 20 has the same one behind a flag.
    const major = Number(/^v(\d+)/.exec(Bun.spawnSync([node!, "--version"]).stdout.toString())?.[1] ?? 0);
    const flags = major < 22 ? ["--experimental-websocket"] : [];
    const run = Bun.spawn([node!, ...flags, script, broker.url], { stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([run.exited, new Response(run.stdout).text(), new Response(run.stderr).text()]);
    expect(err.replace(/.*ExperimentalWarning.*\n?|.*--trace-warnings.*\n?/g, "")).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      received: [{ n: 1 }, { n: 2 }, { n: 3 }],
      confirms: [1, 2, 3].map(() => ({ routed: 1, duplicate: false })),
      missing: "E002",
    });
  });
});
