/**
 * [CLUSTER-1] Integration suites run unchanged against a three-node cluster: each "broker" they
 * start is three nodes behind a relay that sends every new connection to a random node
 * (PUBSUB_TEST_CLUSTER=1, test/support/broker-process.ts), so REST calls and sockets land on the
 * leader and on followers alike and must get the same answers. Left out, with the reason: suites
 * that kill and restart one broker on its data dir (a cluster restarts differently: failover.test.ts,
 * crash-matrix.test.ts), that read the SQLite file or its disk (a cluster is on Postgres), that
 * stall a reader behind the relay (it buffers without bound, so the broker sees no backpressure:
 * forwarding.test.ts checks a slow subscriber at a follower), or that need TLS or other HOST values.
 */
import { expect, test } from "bun:test";
import { resolve } from "node:path";

const SUITES = [
  "seed-contract",
  "routing",
  "consumers",
  "management",
  "ws-input",
  "http-input",
  "errors",
  "names-paths",
  "temporary-queues",
  "cors",
  "limits",
  "flow-control",
  "reserved-names",
  "asyncapi",
  "openapi",
  "operations",
  "security",
  "tokens",
  "resume",
  "swagger",
].map((name) => `test/integration/${name}.test.ts`);

test(`[CLUSTER-1] ${SUITES.length} integration suites pass against a cluster, each connection at a random node`, async () => {
  const run = Bun.spawn([process.execPath, "test", "--timeout", "30000", ...SUITES], {
    cwd: resolve(import.meta.dir, "../.."),
    env: { ...process.env, PUBSUB_TEST_CLUSTER: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text()]);
  const code = await run.exited;
  const output = out + err;
  const summary = /(\d+) pass\n\s*(\d+) fail/.exec(output);
  console.log(`[CLUSTER-1] suites against a cluster: ${summary?.[1] ?? "?"} pass, ${summary?.[2] ?? "?"} fail`);
  if (code !== 0) console.log(output.split("\n").filter((line) => /^\(fail\)|error:/.test(line)).join("\n"));
  expect(code).toBe(0);
  expect(Number(summary?.[1])).toBeGreaterThan(150);
}, 600_000);
