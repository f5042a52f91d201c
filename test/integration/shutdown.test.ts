/**
 * SIGTERM: the broker exits 0 within 10 s, WebSocket clients see 1001, and every publish it
 * answered (HTTP 200 or WebSocket CONFIRM) is still there after a restart.
 */
import { afterEach, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

/** The contract's bound on a clean shutdown. */
const SHUTDOWN_BOUND_MS = 10_000;

const live: BrokerProcess[] = [];
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const broker of live.splice(0)) {
    if (broker.proc.exitCode === null) await broker.kill9();
    removeDir(broker.dataDir);
  }
});

async function start(dataDir?: string): Promise<BrokerProcess> {
  const broker = await startBroker({ dataDir, env: { CHECKPOINT_IN_SECONDS: "3600" } });
  live.push(broker);
  return broker;
}

const stopWithin = (broker: BrokerProcess, promise = broker.stop()) =>
  Promise.race([promise, Bun.sleep(SHUTDOWN_BOUND_MS).then(() => `still running after ${SHUTDOWN_BOUND_MS} ms`)]);

test("SIGTERM: exit code 0, and every WebSocket client is closed with 1001", async () => {
  const broker = await start();
  await api(broker.url, "POST", "/queues", { name: "s" });
  const subscribed = await TestSocket.open(broker.wsUrl);
  const idle = await TestSocket.open(broker.wsUrl);
  sockets.push(subscribed, idle);
  subscribed.send({ type: "SUBSCRIBE", id: 1, payload: { queue_name: "s" } });
  await subscribed.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));

  expect(await stopWithin(broker)).toBe(0);
  expect(await subscribed.untilClosed()).toBe(1001);
  expect(await idle.untilClosed()).toBe(1001);
}, 20_000);

test("SIGTERM during a stream of publishes: every answered one is there after the restart", async () => {
  let broker = await start();
  await api(broker.url, "POST", "/queues", { name: "inflight", durable: true });
  const wsPublisher = await TestSocket.open(broker.wsUrl);
  sockets.push(wsPublisher);

  const answered: string[] = [];
  const refused: unknown[] = [];
  let stopping: Promise<number> | undefined;
  const http = Array.from({ length: 300 }, (_, i) =>
    api(broker.url, "POST", "/publish", { exchange_name: "", key: "inflight", payload: { http: i } }).then(
      (res) => {
        if (res.status === 200) answered.push(res.body.id);
        else refused.push(res.body);
        // Stop while most publishes are still on their way.
        if (answered.length === 40) stopping ??= broker.stop();
      },
      () => undefined, // the connection went away before an answer: nothing was promised
    ),
  );
  for (let i = 0; i < 300; i++) {
    wsPublisher.send({ type: "PUBLISH", id: i, payload: { exchange_name: "", key: "inflight", payload: { ws: i } } });
  }
  await Promise.all(http);
  stopping ??= broker.stop();
  expect(await stopWithin(broker, stopping)).toBe(0);
  expect(await wsPublisher.untilClosed()).toBe(1001);
  // A publish refused during shutdown says so in the usual error shape.
  for (const body of refused) expect(body).toEqual({ error: { code: "SHUTTING_DOWN", message: expect.any(String) } });
  const confirmed: number[] = wsPublisher.frames.filter((f) => f.type === "CONFIRM").map((f) => f.payload.id);
  expect(answered.length).toBeGreaterThanOrEqual(40);

  broker = await start(broker.dataDir);
  const stored = (await api(broker.url, "GET", "/queues/inflight")).body.messages;
  const reader = await TestSocket.open(broker.wsUrl);
  sockets.push(reader);
  reader.subscribe("inflight");
  await reader.untilMessages(stored);
  const ids = new Set(reader.messages().map((m) => m.unique_id));
  expect(answered.filter((id) => !ids.has(id))).toEqual([]);
  const wsBodies = new Set(reader.messages().flatMap((m) => ("ws" in m.body ? [m.body.ws] : [])));
  expect(confirmed.filter((i) => !wsBodies.has(i))).toEqual([]);
}, 30_000);
