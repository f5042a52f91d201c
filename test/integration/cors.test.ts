/**
 * [CORS-1] With ALLOWED_HOSTS set, a page on another site could create queues with a "simple"
 * request (POST, text/plain) that browsers send without a preflight. Every state-changing
 * request from an origin that is not allowed is refused; allowed origins get real CORS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { getWithHost, rawRequest, upgradeRequest } from "../support/raw-http.ts";

let restricted: BrokerProcess;
let open: BrokerProcess;
let guest: BrokerProcess;
beforeAll(async () => {
  [restricted, open, guest] = await Promise.all([
    startBroker({ env: { ALLOWED_HOSTS: "127.0.0.1,app.example.com" } }),
    startBroker({ env: { AUTH: "none" } }),
    startBroker(),
  ]);
});
afterAll(async () => {
  for (const b of [restricted, open, guest]) {
    await b.stop();
    removeDir(b.dataDir);
  }
});

const simplePost = (base: string, origin: string, body: unknown) =>
  fetch(`${base}/queues`, { method: "POST", headers: { origin, "content-type": "text/plain" }, body: JSON.stringify(body) });

describe("ALLOWED_HOSTS=127.0.0.1,app.example.com", () => {
  test("a simple cross-site POST from another origin is 403 and creates nothing", async () => {
    const res = await simplePost(restricted.url, "http://evil.com", { name: "cors-evil" });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("HOST_NOT_ALLOWED");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await api(restricted.url, "GET", "/queues/cors-evil")).status).toBe(404);
  });

  test("DELETE and publish from another origin are refused too; a look-alike origin as well", async () => {
    await api(restricted.url, "POST", "/queues", { name: "cors-keep" });
    for (const origin of ["http://evil.com", "http://app.example.com.evil.com", "null", "https://xapp.example.com"]) {
      const del = await fetch(`${restricted.url}/queues/cors-keep`, { method: "DELETE", headers: { origin } });
      expect({ origin, status: del.status }).toEqual({ origin, status: 403 });
    }
    expect((await api(restricted.url, "GET", "/queues/cors-keep")).status).toBe(200);
  });

  test("a preflight from an allowed origin is answered 204 with the Access-Control headers", async () => {
    const res = await fetch(`${restricted.url}/queues`, {
      method: "OPTIONS",
      headers: { origin: "http://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://app.example.com");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")).toContain("content-type");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  test("a preflight from another origin is 403", async () => {
    const res = await fetch(`${restricted.url}/queues`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.com", "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(403);
  });

  test("the allowed origin's requests work and carry Access-Control-Allow-Origin", async () => {
    const res = await fetch(`${restricted.url}/queues`, {
      method: "POST",
      headers: { origin: "http://app.example.com", "content-type": "application/json" },
      body: JSON.stringify({ name: "cors-ok" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://app.example.com");
    const list = await fetch(`${restricted.url}/queues`, { headers: { origin: "http://app.example.com" } });
    expect(list.headers.get("access-control-allow-origin")).toBe("http://app.example.com");
  });

  test("a GET from another origin is answered without CORS headers (the browser keeps it from the page), and [AUTH-8] is not the guest", async () => {
    const res = await fetch(`${restricted.url}/queues`, { headers: { origin: "http://evil.com" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    // The origin ALLOWED_HOSTS lists is the operator's own page: it may use the loopback guest.
    expect((await fetch(`${restricted.url}/queues`, { headers: { origin: "http://app.example.com" } })).status).toBe(200);
  });

  test("non-browser clients (no Origin) are unaffected", async () => {
    expect((await api(restricted.url, "POST", "/queues", { name: "cors-cli" })).status).toBe(200);
  });
});

describe("ALLOWED_HOSTS=* (the seed's allow-all)", () => {
  test("[AUTH-8] without users, a page from another origin is not the loopback guest: 401 for requests and WebSocket upgrades", async () => {
    const res = await simplePost(guest.url, "http://anywhere.test", { name: "cors-guest" });
    expect([res.status, (await res.json()).error.code]).toEqual([401, "UNAUTHORIZED"]);
    expect((await api(guest.url, "GET", "/queues/cors-guest")).status).toBe(404);
    const upgrade = await fetch(`${guest.url}/ws`, { headers: { origin: "http://anywhere.test", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
    expect(upgrade.status).toBe(401);
    // A page served from loopback (a dev server) is a client of this machine.
    expect((await simplePost(guest.url, "http://localhost:3000", { name: "cors-dev" })).status).toBe(200);
    // Its own page (the dashboard) is: same origin as the broker.
    const host = new URL(guest.url).host;
    expect((await fetch(`${guest.url}/queues`, { headers: { origin: `http://${host}` } })).status).toBe(200);
  });

  test("[AUTH-9] without users, a DNS-rebinding page (same origin, Host of another name) is not the guest: 401; loopback names are", async () => {
    const port = guest.port;
    for (const request of [getWithHost("/queues", `rebound.example:${port}`), upgradeRequest(`rebound.example:${port}`, `http://rebound.example:${port}`)]) {
      const res = await rawRequest(port, request);
      expect([res.status, JSON.parse(res.body).error.code]).toEqual([401, "UNAUTHORIZED"]);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect((await rawRequest(port, getWithHost("/queues", host))).status).toBe(200);
    // Public routes stay public whatever the Host.
    expect((await rawRequest(port, getWithHost("/ping", `rebound.example:${port}`))).status).toBe(200);
  });

  test("with AUTH=none any origin may call the API, and is told so", async () => {
    const res = await simplePost(open.url, "http://anywhere.test", { name: "cors-any" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://anywhere.test");
    const preflight = await fetch(`${open.url}/publish`, {
      method: "OPTIONS",
      headers: { origin: "http://anywhere.test", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
  });
});
