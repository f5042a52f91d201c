/**
 * [PROM-1] GET /metrics against a real broker: traffic moves the counters and queue gauges it
 * should, a queue name with `"`, `\` and non-ASCII is escaped, the cardinality cap aggregates past
 * METRICS_QUEUE_LIMIT, the JSON stays at /metrics/json (and by Accept), and every scrape passes the
 * real `promtool check metrics` with no lint at all (promtool missing fails the test: CI installs it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PROMETHEUS_CONTENT_TYPE } from "../../src/server/prometheus.ts";
import { api, removeDir, startBroker, testBackend, type BrokerProcess } from "../support/broker-process.ts";
import { ack, nack, openConsumer, openSubscriber, roundTrip } from "../support/consumer.ts";
import { promtoolCheck } from "../support/promtool.ts";
import type { TestSocket } from "../support/ws-client.ts";

let broker: BrokerProcess;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

type Scrape = { text: string; samples: Map<string, number> };

/** GET /metrics as Prometheus asks for it; the samples as `name{labels}` → value. */
async function scrape(url = broker.url): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`, {
    headers: { accept: "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2" },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    const value = line.slice(at + 1);
    samples.set(line.slice(0, at), value === "+Inf" ? Infinity : Number(value));
  }
  return { text, samples };
}

/** Written here by hand (not with the renderer's function) so the test checks the escaping. */
const queueLabel = (name: string) => `{queue="${name.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"}`;

async function expectPromtoolClean(text: string): Promise<void> {
  const { code, output } = await promtoolCheck(text);
  expect(output).toBe("");
  expect(code).toBe(0);
}

const call = (method: string, path: string, body?: unknown) => api(broker.url, method, path, body);

describe("[PROM-1] the scrape follows the traffic", () => {
  const WORK = "prom-work";
  const DEAD = "prom-dead";
  const HOSTILE = 'prom "q" \\ ❤ 队列';

  test("published, routed, unroutable, delivered, acked, dead-lettered, confirmed; queue gauges; connections; promtool clean", async () => {
    expect((await call("POST", "/queues", { name: DEAD, durable: true })).status).toBe(200);
    expect(
      (await call("POST", "/queues", { name: WORK, durable: true, dead_letter_exchange: "", dead_letter_routing_key: DEAD })).status,
    ).toBe(200);
    expect((await call("POST", "/queues", { name: HOSTILE })).status).toBe(200);
    expect((await call("POST", "/exchanges", { name: "prom-nowhere", type: "direct" })).status).toBe(200);
    const before = (await scrape()).samples;

    const consumer = await openConsumer(broker.wsUrl, WORK, 10);
    const subscriber = await openSubscriber(broker.wsUrl, HOSTILE);
    sockets.push(consumer, subscriber);
    for (let i = 0; i < 5; i++) expect((await call("POST", "/publish", { exchange_name: "", key: WORK, payload: { i } })).body.durable).toBe(1);
    for (let i = 0; i < 2; i++) expect((await call("POST", "/publish", { exchange_name: "", key: HOSTILE, payload: i })).body.routed).toBe(1);
    expect((await call("POST", "/publish", { exchange_name: "prom-nowhere", key: "k", payload: 0 })).body.routed).toBe(0);
    await consumer.untilMessages(5);
    await subscriber.untilMessages(2);
    const deliveries = consumer.messages();
    for (const d of deliveries.slice(0, 3)) ack(consumer, d);
    nack(consumer, deliveries[3], false); // → rejected, into prom-dead; the fifth stays unacked
    await roundTrip(consumer);

    const after = await scrape();
    const s = after.samples;
    const delta = (name: string) => s.get(name)! - before.get(name)!;
    expect(delta("pubsub_messages_published_total")).toBe(8);
    expect(delta("pubsub_messages_routed_total")).toBeGreaterThanOrEqual(7);
    expect(delta("pubsub_messages_unroutable_total")).toBe(1);
    expect(delta("pubsub_messages_delivered_total")).toBe(7);
    expect(delta("pubsub_messages_acknowledged_total")).toBe(3);
    expect(delta("pubsub_messages_confirmed_total")).toBe(5);
    expect(delta('pubsub_messages_dead_lettered_total{reason="rejected"}')).toBe(1);
    expect(delta("pubsub_connections_opened_total")).toBe(2);
    expect(s.get("pubsub_connections")).toBe(2);

    const work = (name: string) => s.get(`${name}${queueLabel(WORK)}`);
    expect([work("pubsub_queue_messages_ready"), work("pubsub_queue_messages_unacked"), work("pubsub_queue_consumers")]).toEqual([0, 1, 1]);
    expect([work("pubsub_queue_messages_published_total"), work("pubsub_queue_messages_acknowledged_total"), work("pubsub_queue_messages_dead_lettered_total")]).toEqual([5, 3, 1]);
    expect(s.get(`pubsub_queue_messages_ready${queueLabel(DEAD)}`)).toBe(1);
    expect(s.get(`pubsub_queue_messages_ready_bytes${queueLabel(DEAD)}`)).toBeGreaterThan(0);
    expect(s.get(`pubsub_queue_subscribers${queueLabel(HOSTILE)}`)).toBe(1);
    expect(s.get(`pubsub_queue_messages_delivered_total${queueLabel(HOSTILE)}`)).toBe(2);
    expect([s.get("pubsub_queues"), s.get("pubsub_queues_aggregated")]).toEqual([3, 0]);

    // Durable publishes were committed: the histogram saw them, cumulative, +Inf = count.
    const count = s.get("pubsub_store_commit_seconds_count")!;
    expect(count - (before.get("pubsub_store_commit_seconds_count") ?? 0)).toBeGreaterThanOrEqual(1);
    expect(s.get('pubsub_store_commit_seconds_bucket{le="+Inf"}')).toBe(count);
    expect(s.get("pubsub_store_commit_seconds_sum")).toBeGreaterThan(0);

    expect(s.get("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(s.get("process_resident_memory_bytes")).toBeGreaterThan(1 << 20);
    const started = s.get("process_start_time_seconds")!;
    expect(started).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(started).toBeGreaterThan(Date.now() / 1000 - 600);
    const build = [...s.keys()].find((k) => k.startsWith("pubsub_build_info{"));
    expect(build).toContain(`backend="${testBackend}"`);
    expect(s.get(build!)).toBe(1);

    await expectPromtoolClean(after.text);
  });
});

describe("the JSON snapshot", () => {
  test("GET /metrics/json, and GET /metrics when Accept prefers application/json", async () => {
    for (const [path, accept] of [
      ["/metrics/json", undefined],
      ["/metrics/json", "text/plain"],
      ["/metrics", "application/json"],
      ["/metrics", "application/json, */*;q=0.1"],
    ] as const) {
      const response = await fetch(`${broker.url}${path}`, { headers: accept === undefined ? {} : { accept } });
      expect({ path, accept, status: response.status, type: response.headers.get("content-type") }).toEqual({
        path,
        accept,
        status: 200,
        type: expect.stringContaining("application/json"),
      });
      const body = await response.json();
      expect(typeof body.uptime_seconds).toBe("number");
      expect(body.disk).toHaveProperty("alarm");
    }
  });

  test("no Accept, */* or a browser's Accept: the text", async () => {
    for (const accept of [undefined, "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json, text/plain"]) {
      const response = await fetch(`${broker.url}/metrics`, { headers: accept === undefined ? {} : { accept } });
      expect({ accept, type: response.headers.get("content-type") }).toEqual({ accept, type: PROMETHEUS_CONTENT_TYPE });
      expect(response.headers.get("vary")).toContain("Accept");
      expect(await response.text()).toContain("# TYPE pubsub_messages_published_total counter\n");
    }
  });

  test("OpenAPI documents /metrics with both content types, and /metrics/json with the Metrics model", async () => {
    const spec = (await call("GET", "/swagger/json")).body;
    const metrics = spec.paths["/metrics"].get.responses;
    expect(Object.keys(metrics["200"].content).sort()).toEqual(["application/json", "text/plain; version=0.0.4"]);
    expect(metrics["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/Metrics");
    expect(Object.keys(metrics)).toContain("403");
    const json = spec.paths["/metrics/json"].get.responses;
    expect(json["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/Metrics");
    expect(Object.keys(json)).toContain("403");
  });
});

describe("[PROM-1] the cardinality cap", () => {
  test("METRICS_QUEUE_LIMIT=3: the three largest queues (ties by name) keep their series, the rest are summed into queue=\"_other\"", async () => {
    const capped = await startBroker({ env: { METRICS_QUEUE_LIMIT: "3" } });
    try {
      const sizes: [string, number][] = [["c-one", 1], ["c-four", 4], ["c-tie-b", 2], ["c-tie-a", 2], ["c-empty", 0], ["_other", 3]];
      for (const [name, n] of sizes) {
        expect((await api(capped.url, "POST", "/queues", { name })).status).toBe(200);
        for (let i = 0; i < n; i++) await api(capped.url, "POST", "/publish", { exchange_name: "", key: name, payload: i });
      }
      const { text, samples } = await scrape(capped.url);
      const own = [...samples.keys()].filter((k) => k.startsWith("pubsub_queue_messages_ready{")).sort();
      expect(own).toEqual([`pubsub_queue_messages_ready{queue="_other"}`, ...["c-four", "c-tie-a", "c-tie-b"].map((q) => `pubsub_queue_messages_ready${queueLabel(q)}`)].sort());
      // c-one (1), c-empty (0) and the queue named _other (3), always aggregated.
      expect(samples.get('pubsub_queue_messages_ready{queue="_other"}')).toBe(4);
      expect([samples.get("pubsub_queues"), samples.get("pubsub_queues_aggregated")]).toEqual([6, 3]);
      expect(samples.has('pubsub_queue_messages_published_total{queue="_other"}')).toBe(false);
      await expectPromtoolClean(text);
    } finally {
      await capped.stop();
      removeDir(capped.dataDir);
    }
  });
});
