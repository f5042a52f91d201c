/**
 * GET /readyz and the disk figures of /metrics/json, on an ordinary disk (no root needed). With a
 * DISK_FREE_LIMIT no disk can meet, the alarm is on from the start [DISK-1]: durable publishes are
 * refused with 503 DISK_ALARM and /readyz is 503, transient ones flow. On Postgres the alarm is off.
 */
import { describe, expect, test } from "bun:test";
import { api, testBackend } from "../support/broker-process.ts";
import { declareQueue, publish } from "../support/consumer.ts";
import { brokerForFile } from "../support/file-broker.ts";

describe("a broker with room on its disk", () => {
  const file = brokerForFile();

  test("/readyz is 200 ready with no alarms; /metrics/json reports free space, the default limit and no alarm", async () => {
    expect(await api(file.broker.url, "GET", "/readyz")).toEqual({ status: 200, body: { status: "ready", alarms: [] } });
    const { disk } = (await api(file.broker.url, "GET", "/metrics/json")).body;
    if (testBackend === "postgres") {
      expect(disk).toEqual({ path: null, free_bytes: null, limit_bytes: 0, alarm: false });
    } else {
      expect(disk).toMatchObject({ path: file.broker.dataDir, limit_bytes: 50 * 2 ** 20, alarm: false });
      expect(disk.free_bytes).toBeGreaterThan(disk.limit_bytes);
    }
  });
});

describe("a broker whose DISK_FREE_LIMIT (1 PB) no disk here meets", () => {
  const file = brokerForFile({ env: { DISK_FREE_LIMIT: "1PB" } });

  test.skipIf(testBackend === "postgres")("[DISK-1] durable publishes 503 DISK_ALARM, transient ones accepted; /readyz 503 naming the alarm", async () => {
    const { url } = file.broker;
    await declareQueue(url, "kept", { durable: true });
    await declareQueue(url, "passing", { durable: false });
    const refused = await api(url, "POST", "/publish", { exchange_name: "", key: "kept", payload: 1 });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("DISK_ALARM");
    expect(refused.body.error.message).toContain(`at ${file.broker.dataDir}) is below DISK_FREE_LIMIT (909.5 TiB)`);
    expect((await publish(url, "passing", 2)).routed).toBe(1);
    // A publish that routes nowhere is no write: it is answered as ever.
    expect((await api(url, "POST", "/publish", { exchange_name: "", key: "nowhere", payload: 3 })).body.routed).toBe(0);

    const ready = await api(url, "GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: "not_ready", alarms: ["disk"], message: refused.body.error.message });
    expect((await api(url, "GET", "/metrics/json")).body.disk).toMatchObject({ limit_bytes: 1e15, alarm: true });
  });

  test.skipIf(testBackend !== "postgres")("on Postgres the alarm is off: the database is not on this disk", async () => {
    const { url } = file.broker;
    await declareQueue(url, "kept", { durable: true });
    expect((await publish(url, "kept", 1)).durable).toBe(1);
    expect((await api(url, "GET", "/readyz")).status).toBe(200);
  });
});
