/**
 * [DISK-2] A disk that really fills (DISK_FREE_LIMIT=0, so no alarm stops publishes first): the
 * database lives on a 24 MiB tmpfs whose room a ballast file mostly takes. 1 KB durable publishes
 * go on until the broker answers 503 STORE_UNAVAILABLE — never a 200 for something not stored,
 * never a dropped connection or a 500. Then kill -9, free the space, restart on the same files:
 * every publish answered 200 is there and is delivered, nothing was invented, and publishing works
 * again. A disk that fills and is freed while the broker runs needs no restart either.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { api, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { ack, declareQueue, openConsumer, publish, queueInfo } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import type { TestSocket } from "../support/ws-client.ts";
import { MiB, mountTmpfs, removeBallast, tmpfsUnavailable, writeBallast, type Tmpfs } from "./support/tmpfs.ts";

const TMPFS_MIB = 24;
/** Leaves about 4 MiB for the database: a few thousand 1 KB messages fill it in seconds. */
const BALLAST_BYTES = 20 * MiB;
const PAYLOAD = "x".repeat(1024);
/** The publish loops stop at the first STORE_UNAVAILABLE; this bounds them if it never comes. */
const MAX_PUBLISHES = 40_000;
const HTTP_CONNECTIONS = 4;
const QUEUE = "full";

const skipped = tmpfsUnavailable();
if (skipped !== undefined) console.warn(`test/reliability/disk-full.test.ts skipped: ${skipped}`);

type Outcome = { accepted: number[]; unavailable: number; other: string[] };

describe.skipIf(skipped !== undefined)("a full disk", () => {
  let disk: Tmpfs;
  let broker: BrokerProcess | undefined;
  let consumer: TestSocket;
  const sockets: TestSocket[] = [];
  const ballast = () => join(disk.dir, "ballast");

  beforeAll(() => {
    disk = mountTmpfs(TMPFS_MIB);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    if (broker?.proc.exitCode === null) await broker.kill9();
    disk?.unmount();
  });

  /** Publishes numbered from `from` over HTTP_CONNECTIONS sequential loops, until the first STORE_UNAVAILABLE. */
  async function fill(url: string, from = 0): Promise<Outcome> {
    const outcome: Outcome = { accepted: [], unavailable: 0, other: [] };
    let next = from;
    const loop = async () => {
      while (outcome.unavailable === 0 && outcome.other.length === 0 && next < from + MAX_PUBLISHES) {
        const n = next++;
        try {
          const res = await api(url, "POST", "/publish", { exchange_name: "", key: QUEUE, payload: { n, pad: PAYLOAD } });
          if (res.status === 200 && res.body.durable === 1) outcome.accepted.push(n);
          else if (res.status === 503 && res.body?.error?.code === "STORE_UNAVAILABLE") outcome.unavailable++;
          else outcome.other.push(`${n}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        } catch (error) {
          outcome.other.push(`${n}: ${String(error)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: HTTP_CONNECTIONS }, loop));
    return outcome;
  }

  test("[DISK-2] durable publishes on a full disk are 503 STORE_UNAVAILABLE; after kill -9 and freeing space every 200 is there", async () => {
    expect(writeBallast(ballast(), BALLAST_BYTES)).toBe(BALLAST_BYTES);
    broker = await startBroker({ dataDir: disk.dir, env: { DISK_FREE_LIMIT: "0" } });
    await declareQueue(broker.url, QUEUE, { durable: true });

    const outcome = await fill(broker.url);
    expect(outcome.other).toEqual([]);
    expect(outcome.unavailable).toBeGreaterThan(0);
    expect(outcome.accepted.length).toBeGreaterThan(100);
    // The broker is still up and says so: the disk alarm is off at DISK_FREE_LIMIT=0.
    expect((await api(broker.url, "GET", "/ping")).status).toBe(200);
    expect((await api(broker.url, "GET", "/metrics/json")).body.disk).toMatchObject({ limit_bytes: 0, alarm: false });

    await broker.kill9();
    removeBallast(ballast());
    broker = await startBroker({ dataDir: disk.dir, env: { DISK_FREE_LIMIT: "0" } });

    // Every answered publish was restored; a refused one may be too (its write may have reached
    // the disk after its answer), but nothing that was never published.
    const restored = (await queueInfo(broker.url, QUEUE)).messages;
    expect(restored).toBeGreaterThanOrEqual(outcome.accepted.length);
    consumer = await openConsumer(broker.wsUrl, QUEUE, 100);
    sockets.push(consumer);
    consumer.ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data));
      if (frame.type === "MESSAGE") ack(consumer, frame);
    });
    await consumer.untilMessages(restored, 30_000);
    const delivered = new Set(consumer.messages().map((m) => m.body.n as number));
    expect(outcome.accepted.filter((n) => !delivered.has(n))).toEqual([]);
    const attempted = new Set(Array.from({ length: MAX_PUBLISHES }, (_, n) => n));
    expect([...delivered].filter((n) => !attempted.has(n))).toEqual([]);

    // Room again: durable publishes are accepted and delivered.
    const again = await publish(broker.url, QUEUE, { n: -1, pad: "" });
    expect(again.durable).toBe(1);
    await consumer.until(() => consumer.messages().some((m) => m.body.n === -1));
    await until(async () => (await queueInfo(broker!.url, QUEUE)).unacked === 0, 10_000, "every delivery acked");
  });

  test("[DISK-2] a disk that fills while the broker runs: 503 STORE_UNAVAILABLE, then accepted again once freed, no restart", async () => {
    const url = broker!.url;
    // Takes every byte left; the database may still write a little into pages it already has.
    expect(writeBallast(ballast(), TMPFS_MIB * MiB)).toBeLessThan(TMPFS_MIB * MiB);
    const outcome = await fill(url, MAX_PUBLISHES);
    expect(outcome.other).toEqual([]);
    expect(outcome.unavailable).toBeGreaterThan(0);

    removeBallast(ballast());
    const accepted = await until(
      async () => {
        const res = await api(url, "POST", "/publish", { exchange_name: "", key: QUEUE, payload: { n: -2, pad: "" } });
        return res.status === 200 ? res.body : undefined;
      },
      10_000,
      "a durable publish accepted after freeing the disk",
    );
    expect(accepted.durable).toBe(1);
    // The consumer (still attached, acking) gets what was accepted while the disk filled, and the new one.
    await consumer.until(() => consumer.messages().some((m) => m.body.n === -2), 10_000);
    const delivered = new Set(consumer.messages().map((m) => m.body.n as number));
    expect(outcome.accepted.filter((n) => !delivered.has(n))).toEqual([]);
  });
});
