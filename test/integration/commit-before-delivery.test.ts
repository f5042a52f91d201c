/**
 * [COMMIT-1] A durable queue delivers a message only once the store has it. So a kill -9 can never
 * take back a message a client already saw: its seq is never given to another message, and a
 * publisher resending what was not confirmed never makes a duplicate that looks new.
 */
import { afterAll, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

const brokers: BrokerProcess[] = [];
afterAll(async () => {
  for (const broker of brokers) if (broker.proc.exitCode === null) await broker.kill9();
  for (const broker of brokers) removeDir(broker.dataDir);
});

test("[COMMIT-1] kill -9 mid-stream: every seq a subscriber saw keeps its message after the restart", async () => {
  const first = await startBroker();
  brokers.push(first);
  await api(first.url, "POST", "/queues", { name: "q", durable: true });
  const before = await TestSocket.open(first.wsUrl);
  before.subscribe("q");
  const publisher = await TestSocket.open(first.wsUrl);
  for (let i = 0; i < 5000; i++) publisher.send({ type: "PUBLISH", payload: { exchange_name: "", key: "q", payload: `before-${i}`, id: i } });
  await before.untilMessages(1000, 20_000);
  await first.kill9();
  const seen = new Map(before.messages().map((m) => [m.seq, m.unique_id]));

  const second = await startBroker({ dataDir: first.dataDir });
  brokers.push(second);
  const after = await TestSocket.open(second.wsUrl);
  after.subscribe("q");
  for (let i = 0; i < 5; i++) await api(second.url, "POST", "/publish", { exchange_name: "", key: "q", payload: `after-${i}` });
  await after.until((frames) => frames.some((f) => f.body === "after-4"), 20_000);
  const reused = after.messages().filter((m) => seen.has(m.seq) && seen.get(m.seq) !== m.unique_id);
  expect(reused).toEqual([]);
  // Seqs go on above everything seen before the crash.
  const highestSeen = Math.max(...seen.keys());
  expect(after.messages().find((m) => m.body === "after-0")!.seq).toBeGreaterThan(highestSeen);
  after.close();
  expect(await second.stop()).toBe(0);
}, 60_000);
