/**
 * [DISK-1] The disk alarm, on a real filesystem: a 24 MiB tmpfs holds the database, DISK_FREE_LIMIT
 * is 8 MiB, and a ballast file takes the room. While free space is below the limit, a publish that
 * reaches a durable queue is refused with 503 DISK_ALARM (HTTP) or an ERROR frame (WebSocket), as
 * a whole when it also reaches a transient queue; transient-only publishes are accepted and
 * delivered; /readyz is 503 naming the alarm and /metrics says so. Freeing the space clears it by
 * itself, and filling the disk while the broker runs raises it again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { api, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { declareQueue, openSubscriber, publish, queueInfo } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";
import { MiB, mountTmpfs, removeBallast, tmpfsUnavailable, writeBallast, type Tmpfs } from "./support/tmpfs.ts";

const TMPFS_MIB = 24;
const LIMIT_BYTES = 8 * MiB;
/** Leaves about 6 MiB of the 24: under the limit, with room for the database itself. */
const BALLAST_BYTES = 18 * MiB;
/** How long the alarm may take to follow the disk: it is read every second, and on each publish. */
const FOLLOW_MS = 10_000;

const skipped = tmpfsUnavailable();
if (skipped !== undefined) console.warn(`test/reliability/disk-alarm.test.ts skipped: ${skipped}`);

describe.skipIf(skipped !== undefined)("the disk alarm (DISK_FREE_LIMIT)", () => {
  let disk: Tmpfs;
  let broker: BrokerProcess;
  const sockets: TestSocket[] = [];
  const ballast = () => join(disk.dir, "ballast");

  beforeAll(async () => {
    disk = mountTmpfs(TMPFS_MIB);
    expect(writeBallast(ballast(), BALLAST_BYTES)).toBe(BALLAST_BYTES);
    broker = await startBroker({ dataDir: disk.dir, env: { DISK_FREE_LIMIT: String(LIMIT_BYTES) } });
    await declareQueue(broker.url, "durable-q", { durable: true });
    await declareQueue(broker.url, "transient-q", { durable: false });
    await declareQueue(broker.url, "transient-too", { durable: false });
    expect((await api(broker.url, "POST", "/exchanges", { name: "both", type: "fanout" })).status).toBe(200);
    for (const queue of ["durable-q", "transient-too"]) {
      expect((await api(broker.url, "POST", "/bindings", { exchange_name: "both", queue_name: queue })).status).toBe(200);
    }
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    if (broker?.proc.exitCode === null) await broker.stop();
    disk?.unmount();
  });

  const durablePublish = (payload: unknown) => api(broker.url, "POST", "/publish", { exchange_name: "", key: "durable-q", payload });

  test("[DISK-1] below the limit at start: durable publishes 503 DISK_ALARM, transient ones delivered, /readyz 503, /metrics alarm", async () => {
    const refused = await durablePublish("refused");
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("DISK_ALARM");
    // The reason names the free space, the limit and where.
    expect(refused.body.error.message).toContain("DISK_FREE_LIMIT (8 MiB)");
    expect(refused.body.error.message).toContain(disk.dir);

    // A publish reaching a durable and a transient queue is refused as a whole.
    const both = await api(broker.url, "POST", "/publish", { exchange_name: "both", key: "", payload: "both" });
    expect(both.status).toBe(503);
    expect(both.body.error.code).toBe("DISK_ALARM");
    expect((await queueInfo(broker.url, "transient-too")).messages).toBe(0);

    // Transient traffic flows: accepted and delivered.
    const subscriber = await openSubscriber(broker.wsUrl, "transient-q");
    sockets.push(subscriber);
    expect((await publish(broker.url, "transient-q", { n: 1 })).routed).toBe(1);
    await subscriber.untilMessages(1);
    expect(subscriber.messages()[0].body).toEqual({ n: 1 });

    // Over WebSocket: an ERROR frame naming the publish, on a socket that stays up.
    const publisher = await TestSocket.open(broker.wsUrl);
    sockets.push(publisher);
    publisher.send({ type: "PUBLISH", payload: { exchange_name: "", key: "durable-q", payload: "ws", id: "p1" } });
    await publisher.until((frames) => frames.some((f) => f.payload?.id === "p1"));
    expect(publisher.frames.find((f) => f.payload?.id === "p1")).toMatchObject({ type: "ERROR", payload: { code: "DISK_ALARM", id: "p1" } });

    const ready = await api(broker.url, "GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "not_ready", alarms: ["disk"] });
    expect(ready.body.message).toContain("DISK_FREE_LIMIT");
    const metrics = (await api(broker.url, "GET", "/metrics/json")).body;
    expect(metrics.disk).toMatchObject({ path: disk.dir, limit_bytes: LIMIT_BYTES, alarm: true });
    expect(metrics.disk.free_bytes).toBeLessThan(LIMIT_BYTES);
    expect(broker.output()).toContain("disk alarm set");
    expect((await queueInfo(broker.url, "durable-q")).messages).toBe(0);
  });

  test("[DISK-1] freeing the space clears the alarm by itself; filling the disk while running raises it again", async () => {
    removeBallast(ballast());
    // Each publish re-reads free space (at most every 10 ms): the first one after the removal is accepted.
    const accepted = await until(async () => ((await durablePublish("after-free")).status === 200 ? true : undefined), FOLLOW_MS, "a durable publish accepted");
    expect(accepted).toBe(true);
    expect(await api(broker.url, "GET", "/readyz")).toEqual({ status: 200, body: { status: "ready", alarms: [] } });
    expect((await api(broker.url, "GET", "/metrics/json")).body.disk).toMatchObject({ alarm: false, limit_bytes: LIMIT_BYTES });
    await until(() => broker.output().includes("disk alarm cleared"), FOLLOW_MS, "the clearing to be logged");

    // Raised while running, with nothing asking: the periodic reading sees it (and logs it).
    expect(writeBallast(ballast(), BALLAST_BYTES)).toBe(BALLAST_BYTES);
    const raised = () => broker.output().split("disk alarm set").length - 1;
    await until(() => raised() === 2, FOLLOW_MS, "the periodic reading to raise the alarm again");
    expect((await api(broker.url, "GET", "/readyz")).status).toBe(503);
    const refused = await durablePublish("refused-again");
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("DISK_ALARM");
    expect((await publish(broker.url, "transient-q", { n: 2 })).routed).toBe(1);

    removeBallast(ballast());
    await until(async () => (await api(broker.url, "GET", "/readyz")).status === 200, FOLLOW_MS, "/readyz 200 after freeing again");
    expect((await durablePublish("last")).status).toBe(200);
    // Exactly the two accepted durable publishes are stored; none of the refused ones.
    expect((await queueInfo(broker.url, "durable-q")).messages).toBe(2);
  });
});
