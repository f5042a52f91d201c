/**
 * Fuzz: competing consumers on one queue, driven at random (ack, nack with and without requeue,
 * disconnect, reconnect, publish). Checked all along: no message is held by two consumers at
 * once. Checked at the end: every published message was acked, rejected or is still in the queue,
 * exactly one of those — nothing lost, nothing twice.
 */
import { test } from "bun:test";
import fc from "fast-check";
import { checkErrorFrame, describe, fail, httpCall } from "./contract.ts";
import { expectHealthy, expectMemoryBounded, fuzzBroker } from "./fuzz-broker.ts";
import { FuzzSocket } from "./fuzz-socket.ts";
import { ANSWER_BOUND_MS, fuzz, seed } from "./settings.ts";

const target = fuzzBroker();
let serial = 0;
const fresh = (): string => `${seed}-${++serial}`;
const CONSUMERS = 3;

type Op =
  | { op: "publish"; count: number }
  | { op: "ack" | "nack" | "reject"; who: number; pick: number }
  | { op: "disconnect" | "reconnect"; who: number };

const who = fc.nat(CONSUMERS - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((count) => ({ op: "publish", count }) as const) },
  { weight: 6, arbitrary: fc.record({ op: fc.constantFrom("ack" as const, "nack" as const, "reject" as const), who, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("disconnect" as const, "reconnect" as const), who }) },
);

type Consumer = { socket: FuzzSocket | undefined; prefetch: number; settled: Set<number> };

test("competing consumers at random: never one message with two consumers; in the end each message acked, rejected or queued, once", async () => {
  await fuzz(
    "ws-competing-consumers",
    fc.record({ prefetch: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: CONSUMERS, maxLength: CONSUMERS }), ops: fc.array(op, { minLength: 1, maxLength: 40 }) }),
    async ({ prefetch, ops }) => {
      const url = target.broker.url;
      const queue = `fz-cc-${fresh()}`;
      // No dead-letter exchange: a rejected message is dropped. A high delivery limit: no message dies of requeues.
      await httpCall(url, "POST", "/queues", JSON.stringify({ name: queue, delivery_limit: 1_000 }));
      const log: string[] = [];
      const request = () => `queue ${queue}, prefetch ${prefetch}, ops ${JSON.stringify(ops)}; so far ${log.join(" ")}`;
      const consumers: Consumer[] = prefetch.map((p) => ({ socket: undefined, prefetch: p, settled: new Set() }));
      let published = 0;
      const acked = new Set<number>();
      const rejected = new Set<number>();
      /** Message n → the consumer holding it, from the frames seen so far. */
      const holders = () => {
        const held = new Map<number, number>();
        consumers.forEach((c, i) => {
          if (c.socket === undefined || !c.socket.open) return;
          for (const f of c.socket.frames as any[]) {
            if (f.type !== "MESSAGE" || c.settled.has(f.delivery_tag)) continue;
            const other = held.get(f.body.n);
            if (other !== undefined && other !== i) fail(request(), `message ${f.body.n} held by consumers ${other} and ${i} at once`);
            held.set(f.body.n, i);
          }
        });
        return held;
      };
      const connect = async (i: number) => {
        const c = consumers[i]!;
        c.socket = await FuzzSocket.open(target.broker.wsUrl);
        c.settled = new Set();
        c.socket.send({ type: "CONSUME", payload: { queue_name: queue, prefetch: c.prefetch, id: "c" } });
        if (!(await c.socket.next((f) => f.payload?.id === "c"))) fail(request(), `consumer ${i}: no CONSUMING`);
      };
      try {
        for (let i = 0; i < CONSUMERS; i++) await connect(i);
        for (const o of ops) {
          log.push(o.op);
          if (o.op === "publish") {
            for (let k = 0; k < o.count; k++) {
              const answer = await httpCall(url, "POST", "/publish", JSON.stringify({ exchange_name: "", key: queue, payload: { n: published++ } }));
              if (answer.body?.routed !== 1) fail(request(), `publish: ${answer.text}`);
            }
            await Bun.sleep(5);
          } else if (o.op === "disconnect") {
            consumers[o.who]!.socket?.close();
            await consumers[o.who]!.socket?.next(() => false, 0, 0);
            consumers[o.who]!.socket = undefined;
          } else if (o.op === "reconnect") {
            if (consumers[o.who]!.socket === undefined) await connect(o.who);
          } else {
            const c = consumers[o.who]!;
            if (c.socket === undefined) continue;
            const mine = [...holders()].filter(([, i]) => i === o.who).map(([n]) => n);
            if (mine.length === 0) continue;
            const n = mine[(o as { pick: number }).pick % mine.length]!;
            const frame = (c.socket.frames as any[]).find((f) => f.type === "MESSAGE" && f.body.n === n && !c.settled.has(f.delivery_tag));
            const type = o.op === "ack" ? "ACK" : "NACK";
            const id = `fz-${fresh()}`;
            const from = c.socket.frames.length;
            c.socket.send({ type, payload: { delivery_tag: frame.delivery_tag, id, ...(o.op === "reject" ? { requeue: false } : {}) } });
            const answer = await c.socket.next((f) => f.payload?.id === id, from);
            if (answer?.type === "ERROR") checkErrorFrame(request(), answer);
            if (answer?.type !== (type === "ACK" ? "ACKED" : "NACKED")) fail(request(), `${type} of held message ${n}: ${describe(answer)}`);
            c.settled.add(frame.delivery_tag);
            log.push(`${o.op}(${n})`);
            if (o.op === "ack") acked.add(n);
            if (o.op === "reject") rejected.add(n);
            await Bun.sleep(2);
          }
          holders();
        }
      } finally {
        for (const c of consumers) c.socket?.close();
      }
      // Drain what is left with one consumer that acks nothing.
      let view: any;
      for (let i = 0; i < 100; i++) {
        view = (await httpCall(url, "GET", `/queues/${queue}`)).body;
        if (view?.consumers === 0 && view?.unacked === 0) break;
        await Bun.sleep(10);
      }
      if (view?.consumers !== 0 || view?.unacked !== 0) fail(request(), `after every consumer left: ${describe(view)}`);
      const drain = await FuzzSocket.open(target.broker.wsUrl);
      try {
        drain.send({ type: "CONSUME", payload: { queue_name: queue, prefetch: 10_000, id: "d" } });
        const deadline = performance.now() + ANSWER_BOUND_MS;
        const left = () => (drain.frames as any[]).filter((f) => f.type === "MESSAGE").map((f) => f.body.n as number);
        while (left().length < published - acked.size - rejected.size && performance.now() < deadline) await Bun.sleep(10);
        await Bun.sleep(20);
        const queued = left();
        const seen = new Map<number, string[]>();
        const note = (n: number, where: string) => seen.set(n, [...(seen.get(n) ?? []), where]);
        for (const n of acked) note(n, "acked");
        for (const n of rejected) note(n, "rejected");
        for (const n of queued) note(n, "queued");
        for (let n = 0; n < published; n++) {
          const where = seen.get(n) ?? [];
          if (where.length !== 1) fail(request(), `message ${n} is ${where.length === 0 ? "lost" : where.join(" and ")}; queued ${JSON.stringify(queued)}`);
        }
      } finally {
        drain.close();
      }
      await httpCall(url, "DELETE", `/queues/${queue}`);
    },
    0.05,
  );
  await expectHealthy(target.broker, "competing consumers");
});

test("the broker's memory stays bounded after the run", () => {
  expectMemoryBounded(target.broker);
});
