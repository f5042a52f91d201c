/**
 * Fuzz: hostile credentials against a broker that has users (USERS_FILE) and a JWT key. Every
 * `Authorization` header and every AUTH frame is answered within the bound by a documented
 * refusal (401 / 429 JSON; ERROR then 4001), never a 5xx or INTERNAL, never a pass; and a right key
 * still works after each batch (the backoff waits 1 ms, so it does not lock the fuzzer out).
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { generateKey, hashKey } from "../../src/auth/api-keys.ts";
import { tempDir } from "../support/broker-process.ts";
import { checkErrorFrame, fail, httpCall } from "./contract.ts";
import { fuzzBroker } from "./fuzz-broker.ts";
import { hostileString } from "./hostile.ts";
import { ANSWER_BOUND_MS, fuzz } from "./settings.ts";

const dir = tempDir();
const admin = generateKey();
writeFileSync(
  join(dir, "users.json"),
  JSON.stringify({ users: [{ name: "admin", admin: true, permissions: { configure: ".*", write: ".*", read: ".*" }, keys: [{ id: admin.id, hash: await hashKey(admin.key, { memoryCost: 64, timeCost: 1 }), created_at: new Date(0).toISOString() }] }] }),
);
const target = fuzzBroker({
  dataDir: dir,
  env: { USERS_FILE: join(dir, "users.json"), JWT_SECRET: "fuzz-secret-of-at-least-thirty-two-bytes", AUTH_FAILURES_FREE: "1000", AUTH_BACKOFF_BASE_MS: "1", AUTH_BACKOFF_MAX_MS: "1", AUTH_TIMEOUT_MS: "2000" },
});

const b64 = (text: string) => Buffer.from(text).toString("base64");
const b64url = (text: string) => Buffer.from(text).toString("base64url");
/** Tokens that look like keys or JWTs, and headers that look like schemes, with hostile insides. */
const token = fc.oneof(
  hostileString,
  hostileString.map((s) => `pk_${s}`),
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 16, maxLength: 16 }).chain((id) => hostileString.map((s) => `pk_${id}_${s}`)),
  fc.tuple(hostileString, hostileString, hostileString).map(([h, p, s]) => `${b64url(h)}.${b64url(p)}.${b64url(s)}`),
  fc.tuple(fc.jsonValue(), fc.jsonValue()).map(([h, p]) => `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(p))}.`),
  fc.constantFrom('{"alg":"none"}', '{"alg":"HS256"}', '{"alg":"RS256"}').map((h) => `${b64url(h)}.${b64url('{"sub":"admin","exp":9999999999}')}.`),
);
const header = fc.oneof(
  token.map((t) => `Bearer ${t}`),
  fc.tuple(hostileString, token).map(([user, t]) => `Basic ${b64(`${user}:${t}`)}`),
  hostileString.map((s) => `Basic ${s}`),
  fc.tuple(fc.constantFrom("Bearer", "bearer", "BASIC", "Digest", "Token", ""), hostileString).map(([scheme, rest]) => `${scheme} ${rest}`),
  hostileString,
);
/**
 * What fetch can put in a header (Latin-1 without CR, LF or NUL), within Bun's own header limit:
 * past it Bun answers a bare 431 before the broker sees the request (README, "JSON, exactly").
 */
const sendable = (value: string) => value.length <= 8_000 && !/[^\u0020-\u007e\u0080-\u00ff\t]/.test(value);

test("hostile Authorization headers: 401 or 429 with a documented JSON error, never a pass or a 5xx", async () => {
  await fuzz(
    "auth-headers",
    header.filter(sendable),
    async (value) => {
      const answer = await httpCall(target.broker.url, "GET", "/queues", undefined, { authorization: value });
      if (answer.status !== 401 && answer.status !== 429 && answer.status !== 403) fail(`GET /queues Authorization: ${value}`, `answered ${answer.status} ${answer.text}`);
    },
    0.03,
  );
  await healthy("hostile Authorization headers");
});

test("hostile AUTH frames: ERROR (documented, never INTERNAL) then close 4001; a right key still authenticates", async () => {
  await fuzz(
    "auth-frames",
    fc.oneof(token.map((t) => JSON.stringify({ type: "AUTH", payload: { token: t } })), fc.jsonValue().map((v) => JSON.stringify({ type: "AUTH", payload: { token: v } }))),
    async (frame) => {
      const ws = new WebSocket(target.broker.wsUrl);
      const frames: any[] = [];
      const closed = new Promise<number>((resolve) => {
        ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
        ws.onclose = (e) => resolve(e.code);
      });
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error("could not open"));
      });
      ws.send(frame);
      const code = await Promise.race([closed, Bun.sleep(ANSWER_BOUND_MS).then(() => -1)]);
      // A frame past MAX_PAYLOAD_BYTES + 64 KiB is closed by Bun with 1009 before anyone reads it (README).
      if (code === 1009 && Buffer.byteLength(frame) > (1 << 20) + (64 << 10)) return;
      if (code !== 4001) fail(frame, `closed with ${code}, not 4001; frames: ${JSON.stringify(frames).slice(0, 300)}`);
      if (frames.length !== 1 || frames[0].type !== "ERROR") fail(frame, `expected one ERROR before the close, got ${JSON.stringify(frames).slice(0, 300)}`);
      checkErrorFrame(frame, frames[0]);
    },
    0.03,
  );
  await healthy("hostile AUTH frames");
});

/** After a batch: the right key still declares and publishes over HTTP, and authenticates a socket that then gets the message. */
async function healthy(after: string): Promise<void> {
  const auth = { authorization: `Bearer ${admin.key}` };
  // The batch's last failures may have set this address's 1 ms backoff: wait it out (bounded).
  for (let i = 0; i < 50; i++) {
    const probe = await fetch(`${target.broker.url}/session`, { headers: auth });
    if (probe.status !== 429) break;
    await Bun.sleep(Number(probe.headers.get("retry-after") ?? "0") > 1 ? 1000 : 5);
  }
  const queue = `fz-auth-${Date.now()}`;
  for (const [path, body] of [["/queues", { name: queue }], ["/publish", { exchange_name: "", key: queue, payload: after }]] as const) {
    const answer = await httpCall(target.broker.url, "POST", path, JSON.stringify(body), auth);
    if (answer.status !== 200) fail(`health check after ${after}`, `${path} answered ${answer.status} ${answer.text}`);
  }
  const ws = new WebSocket(target.broker.wsUrl);
  const got = new Promise<any>((resolve) => (ws.onmessage = (e) => { const f = JSON.parse(String(e.data)); if (f.type === "MESSAGE") resolve(f); }));
  await new Promise<void>((resolve) => (ws.onopen = () => resolve()));
  ws.send(JSON.stringify({ type: "AUTH", payload: { token: admin.key } }));
  ws.send(JSON.stringify({ type: "SUBSCRIBE", payload: { queue_name: queue } }));
  const message = await Promise.race([got, Bun.sleep(ANSWER_BOUND_MS).then(() => undefined)]);
  ws.close();
  if (message?.body !== after) fail(`health check after ${after}`, `the subscriber got ${JSON.stringify(message)}`);
}
