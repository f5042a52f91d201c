/**
 * [CRASH-1] The crash matrix, against the compiled executable: a publisher with confirms (many in
 * flight) and consumers with acks run against one durable queue; the broker is killed with
 * SIGKILL at a random moment; it restarts on the same database and the clients go on. State piles
 * up across rounds: each run restores what the crashes before it left. At the end one consumer
 * drains the queue, and the whole history is checked (support/ledger.ts):
 *
 * - every confirmed message was delivered at least once;
 * - nothing was delivered that was never published;
 * - a message delivered again says `redelivered: true` every time after the first;
 * - order, as far as it is promised. A queue hands out from its head in seq order, and what a
 *   consumer gives back (disconnect, nack, ack timeout) returns to the head in seq order, ahead of
 *   newer messages. What holds, then, is order per consumer connection: its seqs strictly
 *   increase. Always for a single consumer (a replacement connection, attached once the broker saw
 *   the old one go, gets the returned messages first, then the rest); for competing consumers only
 *   while none leaves (one's returned messages reach another after newer ones, marked
 *   redelivered), so competing consumers here stay connected. Seqs number publishes within a run
 *   and go on above the stored ones after a restart; the publisher's n carries publish order
 *   across runs even where a seq is handed out twice (a message is delivered before its commit,
 *   so one a kill caught uncommitted may have been seen with a seq the next run reuses; the
 *   ledger counts those). Checked per consumer connection: seq and n strictly increase.
 *
 * Some rounds end in SIGTERM instead (exit 0 expected): a clean stop after crashes must keep the
 * crashes' "may have been delivered" marks. The seed is printed; CRASH_SEED=<n> replays a run's
 * kill moments (not its thread timing).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";
import { buildExecutable, type Built } from "../support/executable.ts";
import { Ledger, verdict } from "./support/ledger.ts";
import { AckingConsumer, ConfirmingPublisher } from "./support/workload.ts";
import { seeded } from "../support/seeded.ts";

const QUEUE = "crash";
/** Rounds ended by kill -9; the issue asks for at least 20. */
const KILL_ROUNDS = 24;
/** Every this many rounds ends in SIGTERM instead, between the kills. */
const SIGTERM_EVERY = 5;
const ROUNDS = KILL_ROUNDS + Math.floor(KILL_ROUNDS / (SIGTERM_EVERY - 1));
/** The random moment of the kill, after the clients are attached. */
const KILL_AFTER_MS: readonly [number, number] = [50, 400];
const PREFETCH = 10;
const PUBLISH = {
  /** Confirms outstanding at once: enough that a kill always catches some in flight. */
  window: 128,
  /**
   * Consumers with prefetch 10 take far fewer per round trip than the publisher sends: without
   * this the backlog, and each restart's restore, would grow every round.
   */
  maxAhead: 2_000,
};
/**
 * Checkpoints five times a second: each round both deletes acked messages and leaves some acked
 * but not yet checkpointed, which come again after the kill (marked redelivered).
 */
const ENV = { CHECKPOINT_IN_SECONDS: "0.2" };

const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 32));

let built: Built;
const dirs: string[] = [];
const live: BrokerProcess[] = [];

beforeAll(() => {
  built = buildExecutable();
});
afterAll(async () => {
  for (const broker of live) if (broker.proc.exitCode === null) await broker.kill9();
  built.remove();
  for (const dir of dirs) removeDir(dir);
});

async function start(dataDir: string, env: Record<string, string> = ENV): Promise<BrokerProcess> {
  const broker = await startBroker({ executable: built.binary, dataDir, env });
  live.push(broker);
  return broker;
}

const queueView = async (broker: BrokerProcess) => (await api(broker.url, "GET", `/queues/${QUEUE}`)).body;

/** One consumer drains the queue to empty and acks all; returns once the broker holds nothing unacked. */
async function drain(broker: BrokerProcess, ledger: Ledger, run: number): Promise<void> {
  const consumer = await AckingConsumer.start(broker.wsUrl, QUEUE, PREFETCH, ledger, run, `drain-${run}`);
  await until(async () => {
    const q = await queueView(broker);
    return q.messages === 0 && q.unacked === 0;
  }, 60_000, `queue ${QUEUE} to drain`);
  consumer.close();
  await consumer.closed;
}

test(`[CRASH-1] ${ROUNDS} rounds (${KILL_ROUNDS} kill -9) on one database: nothing confirmed lost, nothing invented, duplicates flagged, order kept`, async () => {
  const random = seeded(SEED);
  const dataDir = tempDir("pubsub-crash-");
  dirs.push(dataDir);
  const ledger = new Ledger();
  let connections = 0;
  const consumer = (broker: BrokerProcess, run: number) =>
    AckingConsumer.start(broker.wsUrl, QUEUE, PREFETCH, ledger, run, `c${++connections}@${run}`);

  let broker = await start(dataDir);
  expect((await api(broker.url, "POST", "/queues", { name: QUEUE, durable: true })).status).toBe(200);
  let kills = 0;
  for (let run = 1; run <= ROUNDS; run++) {
    if (run > 1) broker = await start(dataDir);
    // Every third round two competing consumers; otherwise one, which in some rounds is replaced.
    const competing = run % 3 === 0;
    const consumers = [await consumer(broker, run)];
    if (competing) consumers.push(await consumer(broker, run));
    const publisher = await ConfirmingPublisher.start(broker.wsUrl, QUEUE, ledger, PUBLISH);
    const wait = KILL_AFTER_MS[0] + random() * (KILL_AFTER_MS[1] - KILL_AFTER_MS[0]);
    if (!competing && run % 4 === 2) {
      // The consumer drops mid-round and a new one attaches: what it held returns to the head, and
      // the new one gets it first, once the broker has seen the old one go.
      await Bun.sleep(wait / 2);
      consumers[0]!.close();
      await consumers[0]!.closed;
      await until(async () => (await queueView(broker)).consumers === 0, 5_000, "the first consumer to be gone");
      consumers.push(await consumer(broker, run));
      await Bun.sleep(wait / 2);
    } else {
      await Bun.sleep(wait);
    }
    if (run % SIGTERM_EVERY === 0) {
      expect(await broker.stop()).toBe(0);
    } else {
      await broker.kill9();
      kills++;
    }
    await Promise.all([publisher.closed, ...consumers.map((c) => c.closed)]);
  }
  expect(kills).toBeGreaterThanOrEqual(20);

  broker = await start(dataDir);
  await drain(broker, ledger, ROUNDS + 1);
  expect(await broker.stop()).toBe(0);
  // Everything was acked before that clean stop: nothing may come back.
  broker = await start(dataDir);
  expect(await queueView(broker)).toMatchObject({ messages: 0, unacked: 0 });
  expect(await broker.stop()).toBe(0);

  const result = verdict(ledger);
  console.log(`[CRASH-1] seed ${SEED}, ${ROUNDS} rounds (${kills} kill -9):`, JSON.stringify(result.stats));
  expect(result.violations).toEqual([]);
  // The rounds did real work: thousands of confirmed publishes, and crashes that caught acks.
  expect(result.stats.confirmed).toBeGreaterThan(1_000);
}, 150_000);

test("[CRASH-2] SIGTERM under load, three times: exit 0, clients told 1001, nothing confirmed lost, every repeat marked", async () => {
  const dataDir = tempDir("pubsub-sigterm-");
  dirs.push(dataDir);
  const ledger = new Ledger();
  // Checkpoints only at shutdown: close() has thousands of acked rows to delete, in chunks, while
  // the consumer's acks keep arriving.
  const env = { CHECKPOINT_IN_SECONDS: "3600" };
  let broker = await start(dataDir, env);
  expect((await api(broker.url, "POST", "/queues", { name: QUEUE, durable: true })).status).toBe(200);
  const STOPS = 3;
  for (let run = 1; run <= STOPS; run++) {
    if (run > 1) broker = await start(dataDir, env);
    const consumer = await AckingConsumer.start(broker.wsUrl, QUEUE, PREFETCH, ledger, run, `c@${run}`);
    const publisher = await ConfirmingPublisher.start(broker.wsUrl, QUEUE, ledger, PUBLISH);
    await until(() => consumer.received >= 2_500, 15_000, "2,500 deliveries before the SIGTERM");
    expect(await broker.stop()).toBe(0);
    expect(await publisher.closed).toBe(1001);
    expect(await consumer.closed).toBe(1001);
  }
  broker = await start(dataDir, env);
  await drain(broker, ledger, STOPS + 1);
  expect(await broker.stop()).toBe(0);

  const result = verdict(ledger);
  console.log(`[CRASH-2] ${STOPS} SIGTERMs under load:`, JSON.stringify(result.stats));
  expect(result.violations).toEqual([]);
  expect(result.stats.confirmed).toBeGreaterThan(STOPS * 2_500);
}, 60_000);

test("[CRASH-3] paged: a backlog far past the memory window, kill -9 while it is read back: nothing confirmed lost, duplicates flagged, order kept", async () => {
  const random = seeded(SEED + 1);
  const dataDir = tempDir("pubsub-crash-paged-");
  dirs.push(dataDir);
  const ledger = new Ledger();
  // Far ahead of the consumers: the queue holds ~10x the window (2,048), most of it on disk only.
  const limits = { window: 256, maxAhead: 20_000 };
  let broker = await start(dataDir);
  expect((await api(broker.url, "POST", "/queues", { name: QUEUE, durable: true })).status).toBe(200);
  const filler = await ConfirmingPublisher.start(broker.wsUrl, QUEUE, ledger, limits);
  await until(() => ledger.nextN >= 20_000, 30_000, "20,000 publishes before any consumer");
  await broker.kill9();
  await filler.closed;
  const ROUNDS_PAGED = 8;
  let paged = 0;
  for (let run = 1; run <= ROUNDS_PAGED; run++) {
    broker = await start(dataDir);
    const onDisk = (await queueView(broker)).messages_on_disk;
    if (run === 1) expect(onDisk).toBeGreaterThan(10_000);
    if (onDisk > 0) paged++;
    const consumers = [await AckingConsumer.start(broker.wsUrl, QUEUE, 50, ledger, run, `p${run}a`)];
    if (run % 2 === 0) consumers.push(await AckingConsumer.start(broker.wsUrl, QUEUE, 50, ledger, run, `p${run}b`));
    const publisher = await ConfirmingPublisher.start(broker.wsUrl, QUEUE, ledger, limits);
    await Bun.sleep(100 + random() * 400);
    if (run % 4 === 0) expect(await broker.stop()).toBe(0);
    else await broker.kill9();
    await Promise.all([publisher.closed, ...consumers.map((c) => c.closed)]);
  }
  // Restarted with part of the backlog on disk in most rounds (consumers on Postgres can drain a
  // round's backlog below the window before the kill; the first rounds start from the 20,000).
  expect(paged).toBeGreaterThanOrEqual(ROUNDS_PAGED / 2);
  broker = await start(dataDir);
  await drain(broker, ledger, ROUNDS_PAGED + 1);
  expect(await broker.stop()).toBe(0);
  const result = verdict(ledger);
  console.log(`[CRASH-3] seed ${SEED + 1}, ${ROUNDS_PAGED} rounds paged:`, JSON.stringify(result.stats));
  expect(result.violations).toEqual([]);
  expect(result.stats.confirmed).toBeGreaterThan(20_000);
}, 120_000);
