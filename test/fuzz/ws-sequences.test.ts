/**
 * Fuzz: random sequences of valid-ish frames on one socket (publish, subscribe, unsubscribe,
 * consume, ack, nack, cancel, ping, and frames for queues that do not exist), checked against a
 * small model: every frame is answered as the README says, the socket stays open, and afterwards
 * the queue is consistent (nothing unacked, no acked message comes back). Then: what is published
 * is what is delivered.
 */
import { test } from "bun:test";
import fc from "fast-check";
import { checkErrorFrame, describe, fail, httpCall } from "./contract.ts";
import { expectHealthy, expectMemoryBounded, fuzzBroker } from "./fuzz-broker.ts";
import { FuzzSocket, type Frame } from "./fuzz-socket.ts";
import { ODD_NUMBERS, oddJsonValue, oddString } from "./hostile.ts";
import { ANSWER_BOUND_MS, fuzz, seed } from "./settings.ts";

const target = fuzzBroker();
let serial = 0;
const fresh = (): string => `${seed}-${++serial}`;

type Step =
  | { op: "publish" }
  | { op: "subscribe" | "unsubscribe" | "cancel" | "ping" | "missing" }
  | { op: "consume"; prefetch: number }
  | { op: "ack" | "nack"; pick: number; bogus: boolean; requeue: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: "publish" } as const) },
  fc.constantFrom<Step>({ op: "subscribe" }, { op: "unsubscribe" }, { op: "cancel" }, { op: "ping" }, { op: "missing" }),
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }).map((prefetch) => ({ op: "consume", prefetch }) as const) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constantFrom("ack" as const, "nack" as const), pick: fc.nat(), bogus: fc.boolean(), requeue: fc.boolean() }),
  },
);

/** Sends a frame with an id and returns the broker's answer naming it (within the bound). */
async function ask(ws: FuzzSocket, type: string, payload: Record<string, unknown>, request: string): Promise<Frame> {
  const id = `fz-${fresh()}`;
  const from = ws.frames.length;
  ws.send({ type, payload: { ...payload, id } });
  const answer = await ws.next((f) => f.payload?.id === id, from);
  if (answer === undefined) fail(request, `${type} not answered within ${ANSWER_BOUND_MS} ms (socket ${ws.open ? "open" : `closed ${ws.closeCode}`})`);
  if (answer!.type === "ERROR") checkErrorFrame(request, answer);
  return answer!;
}

test("random frame sequences on one socket: answered as documented, the socket stays open, the queue stays consistent", async () => {
  await fuzz(
    "ws-sequences",
    fc.array(step, { minLength: 1, maxLength: 30 }),
    async (steps) => {
      const queue = `fz-seq-${fresh()}`;
      const ws = await FuzzSocket.open(target.broker.wsUrl);
      const log: string[] = [];
      const acked = new Set<number>(); // the `n` of each acked message
      const request = () => `queue ${queue}, steps ${JSON.stringify(steps)}; so far: ${log.join(" ")}`;
      try {
        const declared = await ask(ws, "DECLARE_QUEUE", { name: queue }, request());
        if (declared.type !== "QUEUE_DECLARED") fail(request(), `declare: ${describe(declared)}`);
        let subscribed = false;
        let consuming = false;
        let published = 0;
        const settled = new Set<number>(); // tags acked, nacked or given back by a cancel
        const outstanding = () =>
          ws.frames.filter((f: any) => f.type === "MESSAGE" && typeof f.delivery_tag === "number" && !settled.has(f.delivery_tag)) as any[];
        for (const s of steps) {
          log.push(s.op);
          switch (s.op) {
            case "publish": {
              const answer = await ask(ws, "PUBLISH", { exchange_name: "", key: queue, payload: { n: published++ } }, request());
              if (answer.type !== "CONFIRM" || answer.payload.routed !== 1) fail(request(), `publish: ${describe(answer)}`);
              break;
            }
            case "subscribe": {
              const answer = await ask(ws, "SUBSCRIBE", { queue_name: queue }, request());
              if (answer.type !== "SUBSCRIBED") fail(request(), `subscribe: ${describe(answer)}`);
              subscribed = true;
              break;
            }
            case "unsubscribe": {
              const answer = await ask(ws, "UNSUBSCRIBE", { queue_name: queue }, request());
              const expected = subscribed ? "UNSUBSCRIBED" : "ERROR";
              if (answer.type !== expected || (!subscribed && answer.payload.code !== "S001")) fail(request(), `unsubscribe (subscribed: ${subscribed}): ${describe(answer)}`);
              subscribed = false;
              break;
            }
            case "consume": {
              const answer = await ask(ws, "CONSUME", { queue_name: queue, prefetch: s.prefetch }, request());
              if (answer.type !== "CONSUMING" && !(consuming && answer.type === "ERROR")) fail(request(), `consume: ${describe(answer)}`);
              consuming = true;
              break;
            }
            case "cancel": {
              const answer = await ask(ws, "CANCEL", { queue_name: queue }, request());
              const expected = consuming ? "CANCELLED" : "ERROR";
              if (answer.type !== expected || (!consuming && answer.payload.code !== "S001")) fail(request(), `cancel (consuming: ${consuming}): ${describe(answer)}`);
              // What was delivered before the CANCELLED went back to the queue with it.
              for (const m of outstanding()) settled.add(m.delivery_tag);
              consuming = false;
              break;
            }
            case "ack":
            case "nack": {
              const held = outstanding();
              const message = s.bogus || held.length === 0 ? undefined : held[s.pick % held.length];
              const tag = message?.delivery_tag ?? 1_000_000 + (s.pick % 1000);
              const answer = await ask(ws, s.op.toUpperCase(), { delivery_tag: tag, ...(s.op === "nack" ? { requeue: s.requeue } : {}) }, request());
              log.push(`${s.op}(${tag}${message ? "" : ", bogus"})=${answer.type}`);
              if (message !== undefined) {
                if (answer.type !== (s.op === "ack" ? "ACKED" : "NACKED")) fail(request(), `${s.op} of held tag ${tag}: ${describe(answer)}`);
                settled.add(tag);
                if (s.op === "ack") acked.add(message.body.n);
              } else if (!settled.has(tag) && (answer.type !== "ERROR" || answer.payload.code !== "D001")) {
                fail(request(), `${s.op} of unknown tag ${tag}: ${describe(answer)}`);
              }
              break;
            }
            case "ping": {
              const answer = await ask(ws, "PING", {}, request());
              if (answer.type !== "PONG") fail(request(), `ping: ${describe(answer)}`);
              break;
            }
            case "missing": {
              const answer = await ask(ws, "SUBSCRIBE", { queue_name: `fz-missing-${fresh()}` }, request());
              if (answer.type !== "ERROR" || answer.payload.code !== "Q002") fail(request(), `subscribe to a missing queue: ${describe(answer)}`);
              break;
            }
          }
          if (!ws.open) fail(request(), `the socket was closed: ${ws.closeCode} ${ws.closeReason}`);
          if (ws.notJson.length > 0) fail(request(), `a frame that is not JSON: ${describe(ws.notJson[0])}`);
          for (const f of ws.frames) if (f.type === "ERROR") checkErrorFrame(request(), f);
        }
      } finally {
        ws.close();
      }
      // Consistent afterwards: nothing out with anyone, and what is left comes to a new consumer once, none of it acked.
      await ws.next(() => false, 0, 0);
      let view: any;
      for (let i = 0; i < 50; i++) {
        view = (await httpCall(target.broker.url, "GET", `/queues/${queue}`)).body;
        if (view?.unacked === 0 && view?.consumers === 0 && view?.subscribers === 0) break;
        await Bun.sleep(10);
      }
      if (view?.unacked !== 0 || view?.consumers !== 0 || view?.subscribers !== 0) fail(request(), `after the socket closed: ${describe(view)}`);
      const consumer = await FuzzSocket.open(target.broker.wsUrl);
      try {
        consumer.send({ type: "CONSUME", payload: { queue_name: queue, prefetch: 10_000, id: "c" } });
        await consumer.next((f) => f.type === "CONSUMING" || f.type === "ERROR");
        const deadline = performance.now() + ANSWER_BOUND_MS;
        while (consumer.frames.filter((f) => f.type === "MESSAGE").length < view.messages && performance.now() < deadline) await Bun.sleep(10);
        const left = consumer.frames.filter((f) => f.type === "MESSAGE") as any[];
        if (left.length !== view.messages) fail(request(), `the queue says ${view.messages} messages; a new consumer got ${left.length}`);
        const ns = left.map((m) => m.body.n);
        if (new Set(ns).size !== ns.length) fail(request(), `a message came twice to one consumer: ${ns}`);
        const back = ns.filter((n) => acked.has(n));
        if (back.length > 0) fail(request(), `acked messages came back: ${back}`);
      } finally {
        consumer.close();
      }
      await httpCall(target.broker.url, "DELETE", `/queues/${queue}`);
    },
    0.077,
  );
  await expectHealthy(target.broker, "frame sequences");
});

/** Strict equality of JSON values as JavaScript parses them (Infinity is not null; -0 equals 0). */
const sameJson = (a: unknown, b: unknown): boolean => {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b)) return false;
  if (a === null || b === null || typeof a !== "object") return a === b;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && sameJson((a as any)[k], (b as any)[k]));
};

test("what is published (HTTP or WebSocket; odd strings, odd numbers, odd header values) is what a subscriber gets, or it is refused", async () => {
  const payloadText = fc.oneof(
    oddJsonValue.map((v) => JSON.stringify(v) ?? "null"),
    fc.constantFrom(...ODD_NUMBERS),
    fc.constantFrom(...ODD_NUMBERS).map((n) => `{"n":${n},"list":[${n}]}`),
  );
  const headerValue = fc.oneof(oddString(), fc.constantFrom(...ODD_NUMBERS), fc.constantFrom("true", "null", "0"));
  const headersText = fc.dictionary(oddString(3), headerValue, { maxKeys: 3 }).map((h) => `{${Object.entries(h).map(([k, v]) => `${JSON.stringify(k)}:${/^[-0-9tn]/.test(v) && !Number.isNaN(Number(v)) || v === "true" || v === "null" ? v : JSON.stringify(v)}`).join(",")}}`);
  await fuzz(
    "publish-round-trip",
    fc.record({ via: fc.constantFrom("http", "ws"), payload: payloadText, headers: fc.option(headersText, { nil: undefined }) }),
    async ({ via, payload, headers }) => {
      const queue = `fz-rt-${fresh()}`;
      await httpCall(target.broker.url, "POST", "/queues", JSON.stringify({ name: queue }));
      const sub = await FuzzSocket.open(target.broker.wsUrl);
      try {
        sub.send({ type: "SUBSCRIBE", payload: { queue_name: queue, id: "s" } });
        await sub.next((f) => f.type === "SUBSCRIBED");
        const fields = `"exchange_name":"","key":${JSON.stringify(queue)},"payload":${payload}${headers === undefined ? "" : `,"headers":${headers}`}`;
        const request = `${via} publish {${fields}}`;
        let accepted: boolean;
        if (via === "http") {
          const answer = await httpCall(target.broker.url, "POST", "/publish", `{${fields}}`);
          accepted = answer.status === 200;
        } else {
          sub.send(`{"type":"PUBLISH","payload":{${fields},"id":"p"}}`);
          const answer = await sub.next((f) => f.payload?.id === "p");
          if (answer === undefined) fail(request, "no CONFIRM or ERROR");
          if (answer!.type === "ERROR") checkErrorFrame(request, answer);
          accepted = answer!.type === "CONFIRM";
        }
        if (!accepted) return;
        const message: any = await sub.next((f) => f.type === "MESSAGE");
        if (message === undefined) fail(request, "accepted, never delivered");
        const expected = JSON.parse(payload);
        if (!sameJson(message.body, expected)) fail(request, `published ${payload}, delivered ${JSON.stringify(message.body)}`);
        if (headers !== undefined && !sameJson(message.headers, JSON.parse(headers))) fail(request, `headers ${headers} delivered as ${JSON.stringify(message.headers)}`);
      } finally {
        sub.close();
        await httpCall(target.broker.url, "DELETE", `/queues/${queue}`);
      }
    },
    0.039,
  );
  await expectHealthy(target.broker, "publish round trips");
});

test("the broker's memory stays bounded after the run", () => {
  expectMemoryBounded(target.broker);
});
