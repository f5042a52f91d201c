/**
 * [HIST-2] A durable queue works as a stream: what its subscribers were sent stays in the store as
 * history, so a subscriber resuming with `since` after a restart or a kill -9 gets exactly what it
 * missed, no gap, no duplicate, and GAP only when retention no longer reaches back. Checked against
 * the broker process: SIGKILL, restart on the same database, resume.
 */
import { afterAll, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { openSubscriber, publish, roundTrip } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import type { TestSocket } from "../support/ws-client.ts";

const live: BrokerProcess[] = [];
const sockets: TestSocket[] = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  for (const b of live) if (b.proc.exitCode === null) await b.kill9();
  for (const b of live) removeDir(b.dataDir);
});

async function start(dataDir?: string, env: Record<string, string> = {}): Promise<BrokerProcess> {
  const broker = await startBroker({ ...(dataDir === undefined ? {} : { dataDir }), env: { CHECKPOINT_IN_SECONDS: "0.2", ...env } });
  live.push(broker);
  return broker;
}

async function subscriber(broker: BrokerProcess, queue: string, since?: number): Promise<TestSocket> {
  const socket = await openSubscriber(broker.wsUrl, queue, since);
  sockets.push(socket);
  return socket;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const seqsOf = (socket: TestSocket): number[] => socket.messages().map((m) => m.seq);

/** A durable queue, a subscriber that got 1..count, then the broker killed `after` ms later. */
async function deliveredThenKilled(queue: string, count: number, args: Record<string, unknown>, after: number, env: Record<string, string> = {}) {
  const broker = await start(undefined, env);
  expect((await api(broker.url, "POST", "/queues", { name: queue, durable: true, ...args })).status).toBe(200);
  const first = await subscriber(broker, queue);
  for (let n = 1; n <= count; n++) await publish(broker.url, queue, n);
  await first.untilMessages(count);
  if (after > 0) await Bun.sleep(after);
  await broker.kill9();
  return broker.dataDir;
}

test("[HIST-2] kill -9 after the checkpoint: a resume with since gets the rest from the store, no GAP, no duplicate", async () => {
  const dataDir = await deliveredThenKilled("stream-a", 50, {}, 600);
  const broker = await start(dataDir);
  const back = await subscriber(broker, "stream-a", 20);
  await back.untilMessages(30);
  await publish(broker.url, "stream-a", 51);
  await back.untilMessages(31);
  await roundTrip(back);
  expect(back.frames.some((f) => f.type === "GAP")).toBe(false);
  expect(seqsOf(back)).toEqual(range(21, 51));
  expect(back.messages().map((m) => m.body)).toEqual(range(21, 51));
});

test("[HIST-2] kill -9 right after the deliveries (inside the ack window): still exactly 21..50, never 1..20 again", async () => {
  for (const after of [0, 30, 90]) {
    const dataDir = await deliveredThenKilled("stream-b", 50, {}, after);
    const broker = await start(dataDir);
    const back = await subscriber(broker, "stream-b", 20);
    await back.untilMessages(30);
    await roundTrip(back);
    expect({ after, gap: back.frames.some((f) => f.type === "GAP"), seqs: seqsOf(back) }).toEqual({ after, gap: false, seqs: range(21, 50) });
    await broker.kill9();
  }
});

test("[HIST-2] a clean restart keeps the history too; a resume from before retention reaches gets GAP, then what is retained", async () => {
  const broker = await start();
  expect((await api(broker.url, "POST", "/queues", { name: "stream-c", durable: true, history_size: 10 })).status).toBe(200);
  const first = await subscriber(broker, "stream-c");
  for (let n = 1; n <= 30; n++) await publish(broker.url, "stream-c", n);
  await first.untilMessages(30);
  expect(await broker.stop()).toBe(0);
  const again = await start(broker.dataDir);
  const near = await subscriber(again, "stream-c", 25);
  await near.untilMessages(5);
  await roundTrip(near);
  expect(near.frames.some((f) => f.type === "GAP")).toBe(false);
  expect(seqsOf(near)).toEqual(range(26, 30));
  const far = await subscriber(again, "stream-c", 5);
  await far.untilMessages(10);
  await roundTrip(far);
  const gap = far.frames.find((f) => f.type === "GAP");
  expect(gap?.payload).toMatchObject({ queue_name: "stream-c", since: 5, first_available_seq: 21 });
  expect(seqsOf(far)).toEqual(range(21, 30));
  // Its GAP came before any message.
  expect(far.frames.findIndex((f) => f.type === "GAP")).toBeLessThan(far.frames.findIndex((f) => f.type === "MESSAGE"));
  await until(async () => (await api(again.url, "GET", "/queues/stream-c")).body.subscribers === 2);
});

test("[HIST-2] a replay from the store longer than the subscriber's buffer: whole frames in order, then 4008; resuming from there gets the rest", async () => {
  const env = { SUBSCRIBER_MAX_BUFFER_BYTES: String(256 << 10) };
  const broker = await start(undefined, env);
  expect((await api(broker.url, "POST", "/queues", { name: "stream-d", durable: true, history_size: 5_000 })).status).toBe(200);
  const first = await subscriber(broker, "stream-d");
  const body = "y".repeat(1_000);
  for (let n = 1; n <= 2_500; n++) await publish(broker.url, "stream-d", `${n}:${body}`);
  await first.untilMessages(2_500, 20_000);
  expect(await broker.stop()).toBe(0);
  const again = await start(broker.dataDir, env);
  // Each resume gets whole frames in order up to about its buffer's worth, then 4008; the next one
  // goes on from the last seq it got, until it is caught up.
  const got: number[] = [];
  const codes: (number | undefined)[] = [];
  for (let resume = 0; resume < 10 && got.length < 2_500; resume++) {
    const socket = await subscriber(again, "stream-d", got.at(-1) ?? 0);
    await socket.until((frames) => frames.length > 1 || socket.closeCode !== undefined, 15_000);
    await socket.until(() => socket.closeCode !== undefined || (socket.messages().at(-1)?.seq ?? 0) === 2_500, 15_000);
    codes.push(socket.closeCode);
    got.push(...seqsOf(socket));
    socket.close();
  }
  expect(got).toEqual(range(1, 2_500));
  expect(codes[0]).toBe(4008);
  expect(codes.length).toBeGreaterThan(1);
}, 60_000);
