/**
 * Fuzz, differential: one rule in HTTP and WebSocket alike (issue 9 items 2 and 8). The same
 * declaration or publish, sent both ways, is accepted both ways or refused both ways with the
 * same code.
 */
import { beforeAll, test } from "bun:test";
import fc from "fast-check";
import { checkErrorFrame, describe, fail, httpCall } from "./contract.ts";
import { expectHealthy, expectMemoryBounded, fuzzBroker } from "./fuzz-broker.ts";
import { FuzzSocket } from "./fuzz-socket.ts";
import { boundaryString, oddJsonValue, oddString } from "./hostile.ts";
import { rawCall } from "./raw-call.ts";
import { anyValueFor } from "./routes.ts";
import { fuzz, seed } from "./settings.ts";

const target = fuzzBroker();
let serial = 0;
const fresh = (): string => `${seed}-${++serial}`;

beforeAll(async () => {
  await httpCall(target.broker.url, "POST", "/exchanges", JSON.stringify({ name: "fz-x", type: "direct", durable: false }));
});

let shared: FuzzSocket | undefined;
async function socket(): Promise<FuzzSocket> {
  if (shared === undefined || !shared.open) shared = await FuzzSocket.open(target.broker.wsUrl);
  return shared;
}

type Verdict = { accepted: boolean; code?: string };

/** Sends a frame with an id; the verdict is its reply (accepted) or its ERROR's code. */
async function overWs(type: string, payload: Record<string, unknown>, request: string): Promise<Verdict> {
  const ws = await socket();
  const id = `fz-${fresh()}`;
  const from = ws.frames.length;
  ws.send({ type, payload: { ...payload, id } });
  const answer = await ws.next((f) => f.payload?.id === id, from);
  if (answer === undefined) fail(request, `no answer over WebSocket (socket ${ws.open ? "open" : `closed ${ws.closeCode}`})`);
  if (answer!.type === "ERROR") return { accepted: false, code: checkErrorFrame(request, answer) };
  return { accepted: true };
}

/**
 * Accepted both ways or refused both ways. The codes are not compared: a body with several
 * problems may be reported by the first one each parser meets.
 */
const same = (http: Verdict, ws: Verdict) => http.accepted === ws.accepted;
/** Past MAX_PAYLOAD_BYTES HTTP answers 413 and WebSocket allows 64 KiB more: limits differ by design. */
const tooBig = (body: unknown) => Buffer.byteLength(JSON.stringify(body)) > 1 << 20;

const encoded = (name: string): string | null => {
  try {
    return encodeURIComponent(name);
  } catch {
    return null;
  }
};

test("a queue declaration (odd names, odd arguments) is accepted or refused alike over HTTP and WebSocket", async () => {
  const small = fc.oneof(fc.nat(1000), fc.constantFrom(-1, 1.5, "5", true, null, 0, 100_001));
  const declaration = fc.record(
    {
      name: fc.oneof(oddString(), boundaryString, oddString().map((s) => `fz-${s}`)),
      durable: fc.boolean(),
      max_length: small,
      message_ttl: small,
      history_size: small,
      delivery_limit: small,
      overflow: fc.constantFrom("drop-head", "reject-publish", "DROP-HEAD", 5),
      dead_letter_exchange: fc.oneof(oddString(), fc.constant("")),
      dead_letter_routing_key: oddString(),
      auto_delete: fc.oneof(fc.boolean(), fc.constant("true")),
    },
    { requiredKeys: ["name"] },
  );
  await fuzz(
    "transports-declare-queue",
    declaration,
    async (body) => {
      if (tooBig(body)) return;
      const request = `declare ${describe(body)}`;
      const answer = await httpCall(target.broker.url, "POST", "/queues", JSON.stringify(body));
      const http: Verdict = answer.status === 200 ? { accepted: true } : { accepted: false, code: answer.code };
      const path = encoded(body.name);
      const remove = async () => {
        if (path !== null) await rawCall(target.broker.port, { method: "DELETE", target: `/queues/${path}` }, true);
      };
      if (http.accepted) await remove();
      if (answer.code === "Q001") return; // an odd name that a previous case left behind
      const ws = await overWs("DECLARE_QUEUE", body, request);
      if (ws.accepted) await remove();
      if (!same(http, ws)) fail(request, `HTTP: ${answer.status} ${answer.text}; WebSocket: ${JSON.stringify(ws)}`);
    },
    0.039,
  );
  await expectHealthy(target.broker, "declarations both ways");
});

test("a publish (odd keys, payloads, headers, ttl, delay, message_id) is accepted or refused alike over HTTP and WebSocket", async () => {
  const publish = fc.record(
    {
      exchange_name: fc.constantFrom("", "fz-x", "fz-missing"),
      key: fc.oneof(oddString(), boundaryString),
      payload: oddJsonValue,
      headers: anyValueFor("headers"),
      ttl: fc.oneof(fc.nat(100_000), fc.constantFrom(-1, 0.5, "5", null)),
      delay: fc.oneof(fc.constant(0), fc.constantFrom(-1, 0.5, "5", null)),
      message_id: fc.oneof(oddString(), boundaryString),
    },
    { requiredKeys: ["exchange_name", "payload"] },
  );
  await fuzz(
    "transports-publish",
    publish,
    async (body) => {
      if (tooBig(body)) return;
      const request = `publish ${describe(body)}`;
      // Distinct message ids (same length) so that the second is not a duplicate of the first.
      const withId = (suffix: string) => (body.message_id === undefined ? body : { ...body, message_id: `${body.message_id}${suffix}${fresh()}` });
      const answer = await httpCall(target.broker.url, "POST", "/publish", JSON.stringify(withId("h")));
      const http: Verdict = answer.status === 200 ? { accepted: true } : { accepted: false, code: answer.code };
      const ws = await overWs("PUBLISH", withId("w"), request);
      if (!same(http, ws)) fail(request, `HTTP: ${answer.status} ${answer.text}; WebSocket: ${JSON.stringify(ws)}`);
    },
    0.039,
  );
  await expectHealthy(target.broker, "publishes both ways");
});

test("the broker's memory stays bounded after the run", () => {
  shared?.close();
  expectMemoryBounded(target.broker);
});
