/**
 * Postgres goes away under load and comes back, on a private server of the test's own (initdb +
 * pg_ctl on a spare port) so that nothing else is disturbed. While it is down, durable publishes
 * get a fast 503 STORE_UNAVAILABLE, never an OK; transient traffic flows on; afterwards the broker
 * writes again by itself, and everything answered OK is still there.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";
import { startInstance, type PostgresInstance } from "./instance.ts";
import { PublishLoad, publish } from "./publishing.ts";

/** What "fast" means for a refused publish: well under the store's 5 s write timeout. */
const FAST_REFUSAL_MS = 1_000;

let pg: PostgresInstance;
const brokers: BrokerProcess[] = [];

beforeAll(async () => {
  pg = await startInstance();
}, 30_000);

afterAll(async () => {
  for (const broker of brokers) {
    if (broker.proc.exitCode === null) await broker.kill9();
    removeDir(broker.dataDir);
  }
  await pg.destroy();
});

async function start(dataDir?: string): Promise<BrokerProcess> {
  const broker = await startBroker({ dataDir, env: { DATABASE_URL: pg.url, CHECKPOINT_IN_SECONDS: "3600" } });
  brokers.push(broker);
  return broker;
}

/** Until a durable publish is answered 200 again. */
const recovered = (broker: BrokerProcess) =>
  until(async () => (await publish(broker.url, "kept", "probe")).status === 200, 20_000, "durable publishes to work again");

test("Postgres stopped and restarted (-m immediate) under load: 503 while down, transient flows, writes resume, nothing answered is lost", async () => {
  let broker = await start();
  expect((await api(broker.url, "POST", "/queues", { name: "kept", durable: true })).status).toBe(200);
  expect((await api(broker.url, "POST", "/queues", { name: "live" })).status).toBe(200);
  const load = new PublishLoad(broker.url, "kept", 16);
  await until(() => load.count(200) >= 200, 10_000, "load to get going");

  // Down, hard: what a crash of the database looks like.
  await pg.stop("immediate");
  await until(() => load.count(503) >= 20, 10_000, "503s under load");
  const started = performance.now();
  const refused = await publish(broker.url, "kept", "while down");
  expect(refused).toMatchObject({ status: 503, code: "STORE_UNAVAILABLE" });
  expect(performance.now() - started).toBeLessThan(FAST_REFUSAL_MS);
  // Transient traffic never touches the store: it keeps flowing, and reaches its subscriber.
  const subscriber = await TestSocket.open(broker.wsUrl);
  subscriber.subscribe("live");
  for (let i = 0; i < 20; i++) expect((await publish(broker.url, "live", i)).status).toBe(200);
  await subscriber.untilMessages(20);
  subscriber.close();

  await pg.start();
  await recovered(broker);
  const okAfterFirstOutage = load.count(200);
  await until(() => load.count(200) >= okAfterFirstOutage + 200, 10_000, "load to flow again");

  // Once more, as one `pg_ctl restart -m immediate` while publishes are in flight.
  await pg.restart("immediate");
  await recovered(broker);
  await until(() => load.count(200) >= okAfterFirstOutage + 400, 10_000, "load to flow after the restart");
  await load.stop();

  // Never anything but OK or "store unavailable".
  const statuses = new Set([...load.answers.values()].map((a) => `${a.status} ${a.code ?? ""}`.trim()));
  expect([...statuses].sort()).toEqual(["200", "503 STORE_UNAVAILABLE"]);

  // Everything answered OK is in the database: a fresh broker process finds it there.
  await broker.kill9();
  broker = await start(broker.dataDir);
  const answeredOk = load.answeredOk();
  const depth: number = (await api(broker.url, "GET", "/queues/kept")).body.messages;
  expect(depth).toBeGreaterThanOrEqual(answeredOk.length);
  const consumer = await TestSocket.open(broker.wsUrl);
  consumer.subscribe("kept");
  await consumer.untilMessages(depth, 15_000);
  const restored = new Set(consumer.messages().map((m) => m.body));
  consumer.close();
  expect(answeredOk.filter((i) => !restored.has(i))).toEqual([]);
}, 60_000);
