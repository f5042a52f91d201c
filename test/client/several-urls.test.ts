/**
 * [CLUSTER-1] A client given several URLs (the nodes of a cluster): a node that refuses the
 * connection is passed over, for REST calls and for the WebSocket, at the first attempt and at
 * each reconnect.
 */
import { afterAll, expect, test } from "bun:test";
import { connect } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { freePort } from "../support/cluster.ts";
import { until } from "../support/until.ts";

const brokers: BrokerProcess[] = [];
afterAll(async () => {
  for (const b of brokers) {
    if (b.proc.exitCode === null && b.proc.signalCode === null) await b.kill9();
    removeDir(b.dataDir);
  }
});

test("[CLUSTER-1] a dead first URL is passed over; after a drop the client reconnects to the next node", async () => {
  const first = await startBroker();
  const second = await startBroker();
  brokers.push(first, second);
  const dead = `http://127.0.0.1:${freePort()}`;
  const client = connect([dead, first.url, second.url], { reconnect: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 50 } });
  // REST: the refused connection is not an answer; the next URL is.
  for (const b of [first, second]) expect((await fetch(`${b.url}/queues`, { method: "POST", body: JSON.stringify({ name: "q" }) })).status).toBe(200);
  expect((await client.queues.list()).map((q) => q.name)).toContain("q");
  // The WebSocket: the first attempt goes on to the next URL instead of failing.
  const got: unknown[] = [];
  await client.subscribe("q", (message) => void got.push(message.body));
  await fetch(`${first.url}/publish`, { method: "POST", body: JSON.stringify({ exchange_name: "", key: "q", payload: 1 }) });
  await until(() => got.length === 1, 5_000, "the message from the first broker");
  // The broker it reached dies: the next reconnect goes to the other one (the dead URL is tried and passed over).
  await first.kill9();
  await until(async () => (await (await fetch(`${second.url}/connections`)).json()).connections.length === 1, 10_000, "the client on the second broker");
  await fetch(`${second.url}/publish`, { method: "POST", body: JSON.stringify({ exchange_name: "", key: "q", payload: 2 }) });
  await until(() => got.length === 2, 5_000, "the message from the second broker");
  expect(got).toEqual([1, 2]);
  await client.close();
}, 30_000);
