/** The edge's rules without a broker: loopback, credential parsing, the guest and bootstrap modes, CSRF. */
import { expect, test } from "bun:test";
import { hostname } from "node:os";
import { ok } from "../../src/core/errors.ts";
import { AuthEdge, credentialOf, isLoopback, protocolToken } from "../../src/server/auth-edge.ts";
import { Sessions } from "../../src/server/sessions.ts";
import { LOOPBACK_GUEST } from "../../src/auth/identity.ts";

test("[AUTH-5] loopback is 127.0.0.0/8 and ::1, also IPv4-mapped; nothing else", () => {
  for (const address of ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"]) expect(isLoopback(address)).toBe(true);
  for (const address of ["10.0.0.1", "::ffff:10.0.0.1", "192.168.1.1", "::", "0.0.0.0", "fe80::1", "", undefined, null]) expect(isLoopback(address)).toBe(false);
});

test("[AUTH-5] the guest is full access from loopback and a 401 from anywhere else", () => {
  const edge = new AuthEdge("guest", undefined, undefined);
  expect(edge.implicit("127.0.0.1").caller).toBe(LOOPBACK_GUEST);
  const remote = edge.implicit("10.1.2.3");
  expect(remote.caller).toBeUndefined();
  expect(remote.problem).toContain("loopback");
  expect(edge.required).toBe(false);
});

test("a USERS_FILE with no users yet bootstraps as the guest; once a user exists, credentials are required", () => {
  let users = 0;
  const edge = new AuthEdge("users", async () => ok(LOOPBACK_GUEST), undefined, () => users === 0);
  expect(edge.required).toBe(false);
  expect(edge.implicit("127.0.0.1").caller).toBe(LOOPBACK_GUEST);
  users = 1;
  expect(edge.required).toBe(true);
  expect(edge.implicit("127.0.0.1").caller).toBeUndefined();
});

test("Authorization: Bearer and Basic parse; other schemes and malformed Basic are refused; the subprotocol carries a bearer", () => {
  expect(credentialOf(null)).toEqual(ok(undefined));
  expect(credentialOf("Bearer abc")).toEqual(ok({ bearer: "abc" }));
  expect(credentialOf(`Basic ${btoa("alice:pk_1")}`)).toEqual(ok({ basic: { user: "alice", password: "pk_1" } }));
  expect(credentialOf(`basic ${btoa("a:b:c")}`)).toEqual(ok({ basic: { user: "a", password: "b:c" } }));
  for (const bad of ["Bearer", "Basic !!!", `Basic ${btoa("nocolon")}`, "Digest x", "Token abc"]) expect(credentialOf(bad).ok).toBe(false);
  expect(protocolToken("pubsub, bearer.tok.en")).toBe("tok.en");
  expect(protocolToken("pubsub")).toBeUndefined();
});

test("[CSRF-1] a session's GET needs no token; its POST needs the session's own", async () => {
  const sessions = new Sessions(() => 1_000);
  const edge = new AuthEdge("users", async () => ok(LOOPBACK_GUEST), undefined, () => false, sessions);
  const { id, session } = sessions.create({ ...LOOPBACK_GUEST, user: "alice", admin: false, via: "api_key" });
  const request = (method: string, headers: Record<string, string>) => new Request("http://localhost/queues", { method, headers: { cookie: `pubsub_session=${id}`, ...headers } });
  expect((await edge.forRequest(request("GET", {}), "10.0.0.1")).caller?.user).toBe("alice");
  expect((await edge.forRequest(request("POST", {}), "10.0.0.1")).csrf).toBe(true);
  expect((await edge.forRequest(request("POST", { "x-csrf-token": "wrong" }), "10.0.0.1")).csrf).toBe(true);
  expect((await edge.forRequest(request("POST", { "x-csrf-token": session.csrf }), "10.0.0.1")).caller?.user).toBe("alice");
});

test("[AUTH-8] without users a page from another site is not the guest; the broker's own page and loopback-served pages are", () => {
  const edge = new AuthEdge("guest", undefined, undefined);
  const from = (origin: string) => new Request("http://127.0.0.1:8060/queues", { headers: { origin, host: "127.0.0.1:8060" } });
  expect(edge.implicit("127.0.0.1", from("https://evil.example")).caller).toBeUndefined();
  expect(edge.implicit("127.0.0.1", from("null")).caller).toBeUndefined();
  for (const origin of ["http://127.0.0.1:8060", "http://localhost:3000", "http://127.0.0.1:5173", "http://app.localhost:8080", "http://[::1]:3000"]) {
    expect({ origin, guest: edge.implicit("127.0.0.1", from(origin)).caller === LOOPBACK_GUEST }).toEqual({ origin, guest: true });
  }
  const listed = new AuthEdge("guest", undefined, undefined, () => false, undefined, (origin) => origin === "https://app.example.com");
  expect(listed.implicit("127.0.0.1", from("https://app.example.com")).caller).toBe(LOOPBACK_GUEST);
});

test("[AUTH-9] DNS rebinding: the guest only for a Host naming this machine, or one ALLOWED_HOSTS lists", () => {
  const edge = new AuthEdge("guest", undefined, undefined);
  const to = (host: string) => new Request("http://127.0.0.1:8060/queues", { headers: { host } });
  for (const host of ["127.0.0.1:8060", "localhost:8060", "LOCALHOST", "app.localhost:8060", "[::1]:8060", "127.0.1.1", `${hostname()}:8060`]) {
    expect({ host, guest: edge.implicit("127.0.0.1", to(host)).caller === LOOPBACK_GUEST }).toEqual({ host, guest: true });
  }
  for (const host of ["evil.example:8060", "evil.example", "localhost.evil.example", "127.0.0.1.evil.example:8060"]) {
    const answer = edge.implicit("127.0.0.1", to(host));
    expect({ host, guest: answer.caller === LOOPBACK_GUEST }).toEqual({ host, guest: false });
    expect(answer.problem).toContain("is not this machine");
  }
  const listed = new AuthEdge("guest", undefined, undefined, () => false, undefined, (origin) => origin === "http://mq.internal:8060");
  expect(listed.implicit("127.0.0.1", to("mq.internal:8060")).caller).toBe(LOOPBACK_GUEST);
  expect(listed.implicit("127.0.0.1", to("evil.example:8060")).caller).toBeUndefined();
});
