/**
 * Names in URL paths, from the client's side: every name goes into a path encoded, so it reaches
 * its own exchange or queue and nothing else; `.` and `..` — which no URL can carry, the broker
 * refuses them — and lone surrogates are refused before any request is sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, PubsubError, type PubsubClient } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { rejection } from "./support/collect.ts";

let broker: BrokerProcess;
let client: PubsubClient;
/** Every URL the client fetched: the real fetch, counted. */
const fetched: string[] = [];

beforeAll(async () => {
  broker = await startBroker();
  client = connect(broker.url, {
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      fetched.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    }) as typeof fetch,
  });
}, 30_000);
afterAll(async () => {
  await client.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

describe("[CLIENT-1] names no path can carry are refused locally", () => {
  test("[CLIENT-1] get, delete, purge of \".\" or \"..\" reject with INVALID_NAME and send nothing (\"queues get .\" listed every queue)", async () => {
    await client.queues.declare({ name: "messages", durable: true });
    await client.publish("", "messages", "keep me", { transport: "http" });
    await client.exchanges.declare({ name: "c1-ex", type: "fanout" });
    fetched.length = 0;
    for (const name of [".", ".."]) {
      const calls: [string, () => Promise<unknown>][] = [
        ["queues.get", () => client.queues.get(name)],
        ["queues.delete", () => client.queues.delete(name)],
        ["queues.purge", () => client.queues.purge(name)],
        ["exchanges.get", () => client.exchanges.get(name)],
        ["exchanges.delete", () => client.exchanges.delete(name)],
      ];
      for (const [what, run] of calls) {
        const error = await rejection(run());
        expect(error).toBeInstanceOf(PubsubError);
        expect({ what, name, code: error.code }).toEqual({ what, name, code: "INVALID_NAME" });
        expect(error.message).toContain("URL path");
      }
    }
    expect(fetched).toEqual([]);
    expect((await client.queues.get("messages")).messages).toBe(1);
    expect((await client.exchanges.get("c1-ex")).name).toBe("c1-ex");
  });

  test("[CLIENT-1] a lone surrogate rejects with INVALID_NAME instead of throwing encodeURIComponent's URIError", async () => {
    fetched.length = 0;
    const error = await rejection(client.queues.get("a\ud800"));
    expect(error).toMatchObject({ code: "INVALID_NAME" });
    expect(fetched).toEqual([]);
  });

  test("[CLIENT-1] declaring \".\" is the broker's refusal: INVALID_NAME, 422", async () => {
    expect(await rejection(client.queues.declare({ name: "." }))).toMatchObject({ code: "INVALID_NAME", status: 422 });
    expect(await rejection(client.exchanges.declare({ name: "..", type: "direct" }))).toMatchObject({ code: "INVALID_NAME", status: 422 });
  });
});

describe("[CLIENT-2] every other name reaches its own resource", () => {
  const TRICKY = ["...", ".a", "%2e", "%2E%2e", "%", "a/b", "./..", "../messages", "a\\b", "\\..", "?x", "#", "a b", "é/🐇", "messages/../x"];

  test("[CLIENT-2] queues named like paths, escapes and dot segments: declare, get, purge, delete touch only themselves", async () => {
    await client.queues.declare({ name: "messages", durable: true });
    await client.queues.purge("messages");
    await client.publish("", "messages", "bystander", { transport: "http" });
    for (const name of TRICKY) {
      await client.queues.declare({ name });
      await client.publish("", name, 1, { transport: "http" });
      expect({ name, got: (await client.queues.get(name)).name }).toEqual({ name, got: name });
      expect({ name, purged: await client.queues.purge(name) }).toEqual({ name, purged: { messages: 1 } });
      await client.queues.delete(name);
      expect({ name, code: (await rejection(client.queues.get(name))).code }).toEqual({ name, code: "Q002" });
    }
    expect((await client.queues.get("messages")).messages).toBe(1);
  });

  test("[CLIENT-2] exchanges too", async () => {
    for (const name of TRICKY) {
      await client.exchanges.declare({ name, type: "direct" });
      expect((await client.exchanges.get(name)).name).toBe(name);
      await client.exchanges.delete(name);
    }
  });
});
