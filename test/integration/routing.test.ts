/** Topic, headers and default-exchange routing, end to end: declared over HTTP, delivered over WebSocket. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

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

const post = async (path: string, body: unknown) => {
  const res = await api(broker.url, "POST", path, body);
  if (res.status !== 200) throw new Error(`${path} ${JSON.stringify(body)} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

async function subscriber(queue: string): Promise<TestSocket> {
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  socket.send({ type: "SUBSCRIBE", id: queue, payload: { queue_name: queue } });
  await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
  return socket;
}

/** Declares an exchange and one queue per binding, each bound as given. */
async function topology(exchange: string, type: string, bindings: Record<string, { key?: string; arguments?: object }>) {
  await post("/exchanges", { name: exchange, type });
  for (const [queue, binding] of Object.entries(bindings)) {
    await post("/queues", { name: queue });
    await post("/bindings", { exchange_name: exchange, queue_name: queue, ...binding });
  }
}

describe("topic exchange", () => {
  const bindings = {
    "t-star": { key: "orders.*.eu" },
    "t-hash": { key: "orders.#" },
    "t-urgent": { key: "#.urgent" },
    "t-one": { key: "*" },
    "t-exact": { key: "orders.created.eu" },
  };

  test("routes by * (one word) and # (zero or more words)", async () => {
    await topology("topics", "topic", bindings);
    const cases: [string, string[]][] = [
      ["orders.created.eu", ["t-exact", "t-hash", "t-star"]],
      ["orders.created.us", ["t-hash"]],
      ["orders", ["t-hash", "t-one"]],
      ["orders.created.eu.urgent", ["t-hash", "t-urgent"]],
      ["urgent", ["t-one", "t-urgent"]],
      ["billing.paid", []],
      ["", []],
    ];
    for (const [key, expected] of cases) {
      const before = await depths(Object.keys(bindings));
      const result = await post("/publish", { exchange_name: "topics", key, payload: key });
      const after = await depths(Object.keys(bindings));
      const reached = Object.keys(bindings).filter((q) => after[q]! > before[q]!).sort();
      expect({ key, reached, routed: result.routed }).toEqual({ key, reached: expected, routed: expected.length });
    }
  });

  test("a subscriber of a topic-bound queue receives the message with its routing key", async () => {
    const socket = await subscriber("t-urgent");
    await post("/publish", { exchange_name: "topics", key: "eu.shipping.urgent", payload: { late: true } });
    await socket.until((frames) => frames.some((f) => f.type === "MESSAGE" && f.routing_key === "eu.shipping.urgent"));
    const frame = socket.messages().find((f) => f.routing_key === "eu.shipping.urgent");
    expect(frame).toMatchObject({ exchange: "topics", queue: "t-urgent", body: { late: true } });
  });

  test("unbinding a pattern stops its routing", async () => {
    await post("/exchanges", { name: "topics-unbind", type: "topic" });
    await post("/queues", { name: "tu" });
    await post("/bindings", { exchange_name: "topics-unbind", queue_name: "tu", key: "a.#" });
    expect((await post("/publish", { exchange_name: "topics-unbind", key: "a.b", payload: 1 })).routed).toBe(1);
    expect((await api(broker.url, "DELETE", "/bindings", { exchange_name: "topics-unbind", queue_name: "tu", key: "a.#" })).status).toBe(200);
    expect((await post("/publish", { exchange_name: "topics-unbind", key: "a.b", payload: 2 })).routed).toBe(0);
  });
});

describe("headers exchange", () => {
  const bindings = {
    "h-all": { arguments: { "x-match": "all", format: "pdf", type: "report" } },
    "h-any": { arguments: { "x-match": "any", format: "pdf", priority: 1 } },
    "h-default": { arguments: { region: "eu" } },
    "h-bool": { arguments: { urgent: true } },
  };

  test("routes by x-match all / any, with the default all, on string, number and boolean values", async () => {
    await topology("hdrs", "headers", bindings);
    const cases: [Record<string, string | number | boolean | null>, string[]][] = [
      [{ format: "pdf", type: "report" }, ["h-all", "h-any"]],
      [{ format: "pdf" }, ["h-any"]],
      [{ priority: 1 }, ["h-any"]],
      [{ priority: "1" }, []], // equality is strict: the string "1" is not the number 1
      [{ region: "eu", extra: "ignored" }, ["h-default"]],
      [{ urgent: true }, ["h-bool"]],
      [{ urgent: "true" }, []],
      [{}, []],
    ];
    for (const [headers, expected] of cases) {
      const before = await depths(Object.keys(bindings));
      // The routing key plays no part in a headers exchange.
      const result = await post("/publish", { exchange_name: "hdrs", key: "anything", payload: 1, headers });
      const after = await depths(Object.keys(bindings));
      const reached = Object.keys(bindings).filter((q) => after[q]! > before[q]!).sort();
      expect({ headers, reached, routed: result.routed }).toEqual({ headers, reached: expected.sort(), routed: expected.length });
    }
  });

  test("a message published over WebSocket with headers is routed by them and delivered with them", async () => {
    const socket = await subscriber("h-all");
    const headers = { format: "pdf", type: "report", pages: 3 };
    socket.send({ type: "PUBLISH", id: "hp", payload: { exchange_name: "hdrs", key: "", payload: "ws-report", headers } });
    await socket.until((frames) => frames.some((f) => f.type === "MESSAGE" && f.body === "ws-report"));
    await socket.until((frames) => frames.some((f) => f.type === "CONFIRM"));
    expect(socket.frames.find((f) => f.type === "CONFIRM")?.payload).toEqual({ id: "hp", routed: 2 });
    expect(socket.messages().find((f) => f.body === "ws-report")?.headers).toEqual(headers);
  });

  test("[HEADERS-3] a null argument matches the header with any value, and only when it is present", async () => {
    await topology("hdrs-presence", "headers", {
      "h-has-trace": { arguments: { trace: null } },
      "h-any-trace": { arguments: { "x-match": "any", trace: null, region: "eu" } },
    });
    for (const [headers, expected] of [
      [{ trace: "abc" }, ["h-any-trace", "h-has-trace"]],
      [{ trace: 0 }, ["h-any-trace", "h-has-trace"]],
      [{ trace: null }, ["h-any-trace", "h-has-trace"]],
      [{ region: "eu" }, ["h-any-trace"]],
      [{ other: 1 }, []],
    ] as const) {
      const before = await depths(["h-has-trace", "h-any-trace"]);
      const result = await post("/publish", { exchange_name: "hdrs-presence", key: "", payload: 1, headers });
      const after = await depths(["h-has-trace", "h-any-trace"]);
      const reached = ["h-any-trace", "h-has-trace"].filter((q) => after[q]! > before[q]!);
      expect({ headers, reached, routed: result.routed }).toEqual({ headers, reached: [...expected], routed: expected.length });
    }
  });

  test("binding arguments other than scalars are refused (422)", async () => {
    const res = await api(broker.url, "POST", "/bindings", {
      exchange_name: "hdrs",
      queue_name: "h-all",
      arguments: { nested: { a: 1 } },
    });
    expect(res.status).toBe(422);
  });

  test("an unknown x-match is refused with B002", async () => {
    const res = await api(broker.url, "POST", "/bindings", {
      exchange_name: "hdrs",
      queue_name: "h-all",
      arguments: { "x-match": "most" },
    });
    expect([res.status, res.body.error.code]).toEqual([422, "B002"]);
  });
});

describe('default exchange ""', () => {
  test("routes to the queue named by the key, and drops the message when there is none", async () => {
    await post("/queues", { name: "direct-to-me" });
    const socket = await subscriber("direct-to-me");
    expect((await post("/publish", { exchange_name: "", key: "direct-to-me", payload: "hi" })).routed).toBe(1);
    expect((await post("/publish", { exchange_name: "", key: "nobody-here", payload: "lost" })).routed).toBe(0);
    await socket.untilMessages(1);
    expect(socket.messages()[0]).toMatchObject({ exchange: "", routing_key: "direct-to-me", body: "hi" });
  });

  test("cannot be declared, bound to or deleted by name", async () => {
    expect((await api(broker.url, "POST", "/exchanges", { name: "", type: "direct" })).body.error.code).toBe("INVALID_NAME");
    const bind = await api(broker.url, "POST", "/bindings", { exchange_name: "", queue_name: "direct-to-me", key: "x" });
    expect(bind.status).toBe(422);
  });
});

async function depths(queues: string[]): Promise<Record<string, number>> {
  const all = (await api(broker.url, "GET", "/queues")).body as { name: string; published: number }[];
  return Object.fromEntries(queues.map((q) => [q, all.find((x) => x.name === q)?.published ?? -1]));
}
