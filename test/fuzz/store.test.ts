/**
 * Fuzz: what the store keeps is what was declared and published. A batch of odd durable names,
 * binding keys, payloads and headers is declared and published, the broker is killed (-9) and
 * started again on the same data, and every accepted thing is back unchanged: the same names, the
 * same keys, the same bodies and headers. With PUBSUB_TEST_BACKEND=postgres it runs on Postgres.
 */
import { afterAll, beforeAll, test } from "bun:test";
import fc from "fast-check";
import { removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { describe, fail, httpCall } from "./contract.ts";
import { expectHealthy, expectMemoryBounded } from "./fuzz-broker.ts";
import { FuzzSocket } from "./fuzz-socket.ts";
import { boundaryString, oddJsonValue, oddString } from "./hostile.ts";
import { fuzz, seed } from "./settings.ts";

const dataDir = tempDir("pubsub-fuzz-store-");
const executable = process.env.FUZZ_EXECUTABLE;
let broker: BrokerProcess;
const start = async () => {
  broker = await startBroker({ dataDir, ...(executable ? { executable } : {}) });
};
beforeAll(start);
afterAll(async () => {
  await broker?.stop();
  removeDir(dataDir);
});

let serial = 0;
const fresh = (): string => `${seed}-${++serial}`;
const scalar = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), oddString());

type Entry = { queue: string; key: string; payload: unknown; headers: Record<string, unknown> };
const entry = fc.record({
  queue: fc.oneof(oddString(), boundaryString).map((s) => `fz${serial}-${s}`),
  key: fc.oneof(oddString(), boundaryString),
  payload: oddJsonValue,
  headers: fc.dictionary(oddString(3), fc.oneof(scalar, oddJsonValue), { maxKeys: 3 }),
});

/** Equal as JSON values (Infinity is not null; -0 equals 0), key order aside. */
const sameJson = (a: unknown, b: unknown): boolean => {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b)) return false;
  if (a === null || b === null || typeof a !== "object") return a === b;
  const ka = Object.keys(a as object);
  return ka.length === Object.keys(b as object).length && ka.every((k) => Object.hasOwn(b as object, k) && sameJson((a as any)[k], (b as any)[k]));
};

test("odd durable names, keys, payloads and headers come back unchanged after kill -9 and a restart", async () => {
  await fuzz(
    "store-round-trip",
    fc.uniqueArray(entry, { minLength: 1, maxLength: 25, selector: (e) => e.queue }),
    async (entries) => {
      const exchange = `fz-store-x-${fresh()}`;
      await httpCall(broker.url, "POST", "/exchanges", JSON.stringify({ name: exchange, type: "direct", durable: true }));
      const kept: (Entry & { bound: boolean; published: boolean })[] = [];
      for (const e of entries) {
        const declared = await httpCall(broker.url, "POST", "/queues", JSON.stringify({ name: e.queue, durable: true }));
        if (declared.status !== 200) continue;
        const bound = (await httpCall(broker.url, "POST", "/bindings", JSON.stringify({ exchange_name: exchange, queue_name: e.queue, key: e.key }))).status === 200;
        const published =
          (await httpCall(broker.url, "POST", "/publish", JSON.stringify({ exchange_name: "", key: e.queue, payload: e.payload, headers: e.headers }))).status === 200;
        kept.push({ ...e, bound, published });
      }
      await broker.kill9();
      await start();
      const request = `after kill -9: ${describe(kept)}`;
      const queues = new Map<string, any>(((await httpCall(broker.url, "GET", "/queues")).body as any[]).map((q) => [q.name, q]));
      const bindings = ((await httpCall(broker.url, "GET", `/bindings?exchange=${encodeURIComponent(exchange)}`)).body as any[]).map((b) => `${b.queue_name}\u0000${b.key}`);
      for (const e of kept) {
        const queue = queues.get(e.queue);
        if (queue === undefined) fail(request, `durable queue ${JSON.stringify(e.queue)} is gone`);
        if (e.bound && !bindings.includes(`${e.queue}\u0000${e.key}`)) fail(request, `binding key ${JSON.stringify(e.key)} of ${JSON.stringify(e.queue)} did not come back as it was: ${describe(bindings)}`);
        if (e.published && queue.messages !== 1) fail(request, `queue ${JSON.stringify(e.queue)} holds ${queue.messages} messages, not 1`);
      }
      const consumer = await FuzzSocket.open(broker.wsUrl);
      try {
        for (const e of kept.filter((k) => k.published)) {
          const from = consumer.frames.length;
          consumer.send({ type: "SUBSCRIBE", payload: { queue_name: e.queue } });
          const message: any = await consumer.next((f) => f.type === "MESSAGE" && f.queue === e.queue, from);
          if (message === undefined) fail(request, `no message from ${JSON.stringify(e.queue)} after the restart`);
          if (!sameJson(message.body, e.payload)) fail(request, `payload ${JSON.stringify(e.payload)} came back as ${JSON.stringify(message.body)}`);
          for (const [k, v] of Object.entries(e.headers)) {
            if (!sameJson(message.headers?.[k], v)) fail(request, `header ${JSON.stringify(k)}: ${JSON.stringify(v)} came back as ${JSON.stringify(message.headers?.[k])}`);
          }
        }
      } finally {
        consumer.close();
      }
      for (const e of kept) await httpCall(broker.url, "DELETE", `/queues/${encodeURIComponent(e.queue)}`);
      await httpCall(broker.url, "DELETE", `/exchanges/${encodeURIComponent(exchange)}`);
    },
    0.052,
  );
  await expectHealthy(broker, "store round trips");
});

test("the broker's memory stays bounded after the run", () => {
  expectMemoryBounded(broker);
});
