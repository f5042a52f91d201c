/**
 * `connect(url, { redeclare: true })`: after a reconnect the client declares again the exchanges,
 * queues and bindings it declared, before its subscriptions, consumers and publishes resume. A real
 * broker, restarted on the same data directory and port.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { connect, type ClientOptions, type PubsubClient, type PubsubError } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { until, within } from "./support/collect.ts";

const FAST: ClientOptions = { reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, heartbeatMs: 2_000 };

const brokers: BrokerProcess[] = [];
const clients: PubsubClient[] = [];
const client = (url: string, options: ClientOptions = {}) => {
  const c = connect(url, { ...FAST, ...options });
  clients.push(c);
  return c;
};

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close({ timeoutMs: 1_000 });
});
afterAll(async () => {
  for (const b of brokers) {
    if (b.proc.exitCode === null) await b.kill9();
    removeDir(b.dataDir);
  }
});

async function broker(options: { dataDir?: string; port?: number } = {}): Promise<BrokerProcess> {
  const started = await startBroker(options);
  brokers.push(started);
  return started;
}

/** A transient exchange, a transient queue with history, bound: everything a restart forgets. */
async function declareFeed(c: PubsubClient, name: string): Promise<void> {
  await c.exchanges.declare({ name: `${name}-x`, type: "fanout", durable: false });
  await c.queues.declare({ name, history_size: 10 });
  await c.bindings.declare({ exchange_name: `${name}-x`, queue_name: name });
}

describe("[CLIENT-4] re-declaring after a reconnect", () => {
  test("[CLIENT-4] without it, a subscription to a transient queue ends with Q002 after a restart (the live feed went silent)", async () => {
    const first = await broker();
    const c = client(first.url);
    await declareFeed(c, "plain");
    const subscription = await c.subscribe("plain", () => {});
    expect(await first.stop()).toBe(0);
    await broker({ dataDir: first.dataDir, port: first.port });
    const ended = (await within(subscription.closed, 10_000, "the subscription to end")) as PubsubError;
    expect(ended.code).toBe("Q002");
  }, 30_000);

  test("[CLIENT-4] with it, exchange, queue and binding come back before the subscription and the publishes resume", async () => {
    const first = await broker();
    const errors: unknown[] = [];
    const c = client(first.url, { redeclare: true, onError: (e) => errors.push(e) });
    await declareFeed(c, "feed");
    const received: number[] = [];
    const subscription = await c.subscribe<number>("feed", (m) => void received.push(m.body));
    expect(await c.publish("feed-x", "", 1)).toMatchObject({ routed: 1 });
    await until(() => received.length === 1);

    // Publishing all along, every 2 ms: whatever goes out while the client reconnects and declares
    // again is held until the exchange and binding exist, so none is refused (E002) or unroutable.
    const outcomes: Promise<unknown>[] = [];
    let publishing = true;
    const stream = (async () => {
      for (let n = 2; publishing; n++) {
        outcomes.push(c.publish("feed-x", "", n).then((confirm) => confirm.routed, (error: PubsubError) => error.code));
        await Bun.sleep(2);
      }
    })();
    expect(await first.stop()).toBe(0);
    const second = await broker({ dataDir: first.dataDir, port: first.port });
    await until(() => received.length >= 100, 15_000, "a hundred messages after the restart");
    publishing = false;
    await stream;
    const results = await Promise.all(outcomes);
    // Refused while the broker was stopping (SHUTTING_DOWN is sent again) or down: never a 0 or an E002.
    expect(results.filter((r) => r !== 1)).toEqual([]);
    await until(() => received.length === results.length + 1, 10_000, "every confirmed message");
    expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i + 1));

    const admin = client(second.url);
    expect(await admin.exchanges.get("feed-x")).toMatchObject({ durable: false, bindings: 1 });
    expect(await admin.queues.get("feed")).toMatchObject({ subscribers: 1, arguments: { history_size: 10 } });
    expect(errors).toEqual([]);
    await subscription.close();
  }, 30_000);

  test("[CLIENT-4] what was deleted through the client is not declared again; a refusal is reported and the rest goes on", async () => {
    const first = await broker();
    const errors: PubsubError[] = [];
    const c = client(first.url, { redeclare: true, onError: (e) => errors.push(e as PubsubError) });
    await declareFeed(c, "kept");
    await declareFeed(c, "dropped");
    await c.queues.delete("dropped");
    await c.exchanges.delete("dropped-x");
    await c.queues.declare({ name: "conflict" });
    await c.publish("kept-x", "", 0); // opens the socket: epoch 1

    await first.kill9();
    const second = await broker({ dataDir: first.dataDir, port: first.port });
    // Another application got there first, with other arguments: the re-declare of it is refused.
    const other = client(second.url);
    await other.queues.declare({ name: "conflict", max_length: 5 });

    expect(await within(c.publish("kept-x", "", 1), 10_000, "the publish after the restart")).toMatchObject({ routed: 1 });
    const names = (await other.queues.list()).map((q) => q.name);
    expect(names).toContain("kept");
    expect(names).not.toContain("dropped");
    expect((await other.exchanges.list()).map((e) => e.name)).not.toContain("dropped-x");
    expect(errors.map((e) => e.code)).toEqual(["Q001"]);
  }, 30_000);

  test("[CLIENT-4] a subscription to a queue the re-declare made anew starts its seqs over: nothing dropped as seen", async () => {
    const first = await broker();
    const c = client(first.url, { redeclare: true });
    await declareFeed(c, "anew");
    const received: number[] = [];
    await c.subscribe<number>("anew", (m) => void received.push(m.seq));
    for (let n = 0; n < 3; n++) await c.publish("anew-x", "", n);
    await until(() => received.length === 3);
    await first.kill9();
    await broker({ dataDir: first.dataDir, port: first.port });
    for (let n = 0; n < 3; n++) await within(c.publish("anew-x", "", n), 10_000, "a publish after the restart");
    await until(() => received.length === 6, 10_000, "the three after the restart");
    expect(received).toEqual([1, 2, 3, 1, 2, 3]);
  }, 30_000);
});
