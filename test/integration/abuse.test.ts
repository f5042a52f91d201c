/** Limits against abuse on a real broker: connections per address, the publish rate, and TLS on the same port. */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKey, hashKey } from "../../src/auth/api-keys.ts";
import { api, removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { makeTestCertificate } from "../support/tls-cert.ts";
import { TestSocket } from "../support/ws-client.ts";

const brokers: BrokerProcess[] = [];
const sockets: TestSocket[] = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  for (const b of brokers) {
    await b.stop();
    removeDir(b.dataDir);
  }
});
const start = async (env: Record<string, string>, dataDir?: string) => {
  const broker = await startBroker({ env, dataDir });
  brokers.push(broker);
  return broker;
};
const opens = (url: string) =>
  new Promise<boolean>((resolve) => {
    const ws = new WebSocket(url);
    ws.onopen = () => {
      resolve(true);
      ws.close();
    };
    ws.onerror = () => resolve(false);
  });

test("MAX_CONNECTIONS_PER_ADDRESS: the next connection from that address is refused until one closes; /metrics counts it", async () => {
  const broker = await start({ MAX_CONNECTIONS_PER_ADDRESS: "2" });
  for (let i = 0; i < 2; i++) sockets.push(await TestSocket.open(broker.wsUrl));
  expect(await opens(broker.wsUrl)).toBe(false);
  sockets.pop()!.close();
  let reopened = false;
  for (let i = 0; i < 50 && !reopened; i++) reopened = await opens(broker.wsUrl);
  expect(reopened).toBe(true);
  const metrics = await (await fetch(`${broker.url}/metrics`)).text();
  expect(metrics).toMatch(/pubsub_connections_refused_total\{reason="max_connections_per_address"\} [1-9]/);
});

test("PUBLISH_RATE_PER_CONNECTION: past the burst, WebSocket publishes get ERROR RATE_LIMITED and HTTP ones 429 with Retry-After", async () => {
  const broker = await start({ PUBLISH_RATE_PER_CONNECTION: "1", PUBLISH_BURST: "3" });
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  for (let i = 0; i < 5; i++) socket.send({ type: "PUBLISH", payload: { exchange_name: "", key: "nowhere", payload: i, id: i } });
  await socket.until((frames) => frames.length === 5);
  expect(socket.frames.map((f) => (f.type === "CONFIRM" ? "ok" : f.payload.code))).toEqual(["ok", "ok", "ok", "RATE_LIMITED", "RATE_LIMITED"]);
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${broker.url}/publish`, { method: "POST", body: JSON.stringify({ exchange_name: "", key: "nowhere", payload: i }) });
    statuses.push(res.status);
    if (res.status === 429) retryAfter = res.headers.get("retry-after");
  }
  expect(statuses).toEqual([200, 200, 200, 429]);
  // Elysia routes /publish/ to the same place: the same bucket.
  expect((await fetch(`${broker.url}/publish/`, { method: "POST", body: JSON.stringify({ exchange_name: "", key: "nowhere", payload: 9 }) })).status).toBe(429);
  expect(Number(retryAfter)).toBeGreaterThan(0);
  expect((await api(broker.url, "GET", "/metrics/json")).body.security.publish_rate_refused).toBe(4);
});

test("TLS_CERT_FILE and TLS_KEY_FILE: HTTPS and WSS on the same port, trusted with the CA", async () => {
  const cert = makeTestCertificate();
  try {
    const broker = await start({ TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile });
    expect(broker.url).toStartWith("https://");
    const res = await fetch(`${broker.url}/ping`, { tls: { ca: cert.ca } } as RequestInit);
    expect(await res.json()).toEqual({ message: "PONG" });
    const ws = new WebSocket(broker.wsUrl, { tls: { ca: cert.ca } } as never);
    const pong = await new Promise<any>((resolve, reject) => {
      ws.onopen = () => ws.send(JSON.stringify({ type: "PING", payload: { id: 1 } }));
      ws.onmessage = (e) => resolve(JSON.parse(String(e.data)));
      ws.onerror = () => reject(new Error("wss failed"));
    });
    ws.close();
    expect(pong).toEqual({ type: "PONG", payload: { id: 1 } });
    // Plain HTTP on the TLS port is not served, and a client that does not trust the CA refuses.
    await expect(fetch(broker.url.replace("https", "http") + "/ping")).rejects.toThrow();
    await expect(fetch(`${broker.url}/ping`)).rejects.toThrow();
  } finally {
    cert.remove();
  }
});

test("TLS_CERT_FILE without TLS_KEY_FILE refuses to start, naming both", async () => {
  const cert = makeTestCertificate();
  try {
    const failed = await startBroker({ env: { TLS_CERT_FILE: cert.certFile } }).catch((error: Error) => error.message);
    expect(failed).toContain("TLS_CERT_FILE and TLS_KEY_FILE go together");
  } finally {
    cert.remove();
  }
});

test("[AUTH-11] guesses sent all at once meet the auth backoff too: a few are checked, the rest wait their turn and get 429", async () => {
  const dir = tempDir();
  const key = generateKey();
  const users = [{ name: "admin", admin: true, permissions: { configure: ".*", write: ".*", read: ".*" }, keys: [{ id: key.id, hash: await hashKey(key.key, { memoryCost: 64, timeCost: 1 }), created_at: new Date(0).toISOString() }] }];
  writeFileSync(join(dir, "users.json"), JSON.stringify({ users }));
  const broker = await start({ USERS_FILE: join(dir, "users.json"), AUTH_FAILURES_FREE: "3", AUTH_BACKOFF_BASE_MS: "60000" }, dir);
  // The right key id with a wrong secret: each guess costs a real argon2id check, off the event loop.
  const guess = `${key.key.slice(0, -4)}AAAA`;
  const statuses = await Promise.all(Array.from({ length: 40 }, () => fetch(`${broker.url}/queues`, { headers: { authorization: `Bearer ${guess}` } }).then((res) => res.status)));
  const checked = statuses.filter((status) => status === 401).length;
  // 3 free failures, the 4th starts the wait; at most one more check was running beside it.
  expect(checked).toBeGreaterThanOrEqual(4);
  expect(checked).toBeLessThanOrEqual(5);
  expect(statuses.filter((status) => status === 429).length).toBe(40 - checked);
});

test("[AUTH-11] a burst of right credentials from one address all get through: they wait, none is refused", async () => {
  const dir = tempDir();
  const key = generateKey();
  const users = [{ name: "admin", admin: true, permissions: { configure: ".*", write: ".*", read: ".*" }, keys: [{ id: key.id, hash: await hashKey(key.key, { memoryCost: 64, timeCost: 1 }), created_at: new Date(0).toISOString() }] }];
  writeFileSync(join(dir, "users.json"), JSON.stringify({ users }));
  const broker = await start({ USERS_FILE: join(dir, "users.json"), AUTH_FAILURES_FREE: "0" }, dir);
  const statuses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${broker.url}/queues`, { headers: { authorization: `Bearer ${key.key}` } }).then((res) => res.status)));
  expect(statuses).toEqual(Array(50).fill(200));
});
