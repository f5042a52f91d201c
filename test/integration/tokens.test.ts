/**
 * JWTs minted by an application's backend, against a real broker with JWT_SECRET and JWT_ISSUER:
 * accepted with their permission claim; expired, tampered, wrong-issuer, unsigned and
 * wrong-algorithm tokens refused; expiry enforced on a live WebSocket, and refreshed by AUTH.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPair, SignJWT } from "jose";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

const SECRET = "a-shared-secret-of-at-least-32-bytes-long";
const ISSUER = "https://app.example";
let broker: BrokerProcess;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  broker = await startBroker({ env: { JWT_SECRET: SECRET, JWT_ISSUER: ISSUER } });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await broker.stop();
  removeDir(broker.dataDir);
});

/** A browser's token: may declare and read only its own queues, `user.<sub>.*`. */
const OWN = { configure: "^user\\.{user}\\.", write: "^amq\\.default$", read: "^user\\.{user}\\." };
async function token(sub: string, options: { expiresIn?: number; issuer?: string; claim?: unknown } = {}): Promise<string> {
  const jwt = new SignJWT(options.claim === undefined ? { pubsub: OWN } : { pubsub: options.claim })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuer(options.issuer ?? ISSUER)
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600));
  return jwt.sign(new TextEncoder().encode(SECRET));
}
const withToken = (t: string) => ({ authorization: `Bearer ${t}` });

describe("REST", () => {
  test("a valid token works within its claim, and only there", async () => {
    const t = await token("42");
    expect((await api(broker.url, "POST", "/queues", { name: "user.42.inbox" }, withToken(t))).status).toBe(200);
    expect((await api(broker.url, "POST", "/publish", { exchange_name: "", key: "user.42.inbox", payload: "hi" }, withToken(t))).status).toBe(200);
    expect((await api(broker.url, "GET", "/queues/user.42.inbox/messages", undefined, withToken(t))).body.messages[0].payload).toBe("hi");
    const other = await api(broker.url, "POST", "/queues", { name: "user.43.inbox" }, withToken(t));
    expect([other.status, other.body.error.code]).toEqual([403, "FORBIDDEN"]);
  });

  test("expired, tampered, wrong issuer, alg none and another algorithm are each refused with 401", async () => {
    const expired = await token("42", { expiresIn: -60 });
    const valid = await token("42");
    const [header, payload, signature] = valid.split(".");
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), sub: "43" })).toString("base64url")}.${signature}`;
    const wrongIssuer = await token("42", { issuer: "https://evil.example" });
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
    const { privateKey } = await generateKeyPair("RS256");
    const rs256 = await new SignJWT({ pubsub: OWN }).setProtectedHeader({ alg: "RS256" }).setSubject("42").setIssuer(ISSUER).setExpirationTime("1h").sign(privateKey);
    const cases = { expired, tampered, wrongIssuer, none, rs256 };
    const codes: Record<string, [number, string]> = {};
    for (const [name, t] of Object.entries(cases)) {
      const res = await api(broker.url, "GET", "/queues", undefined, withToken(t));
      codes[name] = [res.status, res.body.error.code];
      // Never the token in an answer.
      expect(JSON.stringify(res.body)).not.toContain(t.split(".")[2] || "never");
    }
    expect(codes).toEqual({
      expired: [401, "TOKEN_EXPIRED"],
      tampered: [401, "TOKEN_INVALID"],
      wrongIssuer: [401, "TOKEN_INVALID"],
      none: [401, "TOKEN_INVALID"],
      rs256: [401, "TOKEN_INVALID"],
    });
  });
});

describe("live connections", () => {
  const open = async (t: string) => {
    const socket = await TestSocket.open(broker.wsUrl);
    sockets.push(socket);
    socket.send({ type: "AUTH", payload: { token: t, id: "a" } });
    await socket.until((frames) => frames.some((f) => f.type === "AUTHENTICATED" || f.type === "ERROR"));
    return socket;
  };

  test("[AUTH-3] TOKEN_EXPIRING before exp, then 4011 at exp without a new token", async () => {
    const socket = await open(await token("50", { expiresIn: 2 }));
    const authenticated = socket.frames.find((f) => f.type === "AUTHENTICATED");
    expect(authenticated.payload.user).toBe("50");
    await socket.until((frames) => frames.some((f) => f.type === "TOKEN_EXPIRING"));
    expect(await socket.untilClosed(6_000)).toBe(4011);
  });

  test("[AUTH-3] an AUTH with a new token for the same user keeps the connection past the old exp; another user's is refused", async () => {
    await api(broker.url, "POST", "/queues", { name: "user.51.feed" }, withToken(await token("51")));
    const first = await token("51", { expiresIn: 2 });
    const socket = await open(first);
    socket.send({ type: "SUBSCRIBE", payload: { queue_name: "user.51.feed", id: "s" } });
    await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
    await socket.until((frames) => frames.some((f) => f.type === "TOKEN_EXPIRING"));
    socket.send({ type: "AUTH", payload: { token: await token("52"), id: "other" } });
    await socket.until((frames) => frames.some((f) => f.payload?.id === "other"));
    expect(socket.frames.find((f) => f.payload?.id === "other").payload.code).toBe("FORBIDDEN");
    socket.send({ type: "AUTH", payload: { token: await token("51"), id: "refresh" } });
    await socket.until((frames) => frames.some((f) => f.type === "AUTHENTICATED" && f.payload.id === "refresh"));
    // Past the first token's exp (2 s, whole seconds): still open, still subscribed.
    const firstExp = JSON.parse(Buffer.from(first.split(".")[1]!, "base64url").toString()).exp * 1000;
    while (Date.now() < firstExp + 300) await Bun.sleep(Math.min(100, firstExp + 300 - Date.now()));
    await api(broker.url, "POST", "/publish", { exchange_name: "", key: "user.51.feed", payload: "after" }, withToken(await token("51")));
    await socket.untilMessages(1);
    expect(socket.closeCode).toBeUndefined();
  });

  test("a token whose exp is past setTimeout's reach (30 days) is not closed at once", async () => {
    const socket = await open(await token("60", { expiresIn: 30 * 86_400 }));
    socket.send({ type: "PING", payload: { id: "p" } });
    await socket.until((frames) => frames.some((f) => f.type === "PONG"));
    await Bun.sleep(200);
    expect(socket.frames.map((f) => f.type)).toEqual(["AUTHENTICATED", "PONG"]);
    expect(socket.closeCode).toBeUndefined();
  });

  test("a refresh with a token that grants less drops what it no longer allows", async () => {
    await api(broker.url, "POST", "/queues", { name: "user.61.feed" }, withToken(await token("61")));
    const socket = await open(await token("61"));
    socket.send({ type: "SUBSCRIBE", payload: { queue_name: "user.61.feed", id: "s" } });
    await socket.until((frames) => frames.some((f) => f.type === "SUBSCRIBED"));
    socket.send({ type: "AUTH", payload: { token: await token("61", { claim: { read: "^nothing$" } }), id: "narrow" } });
    await socket.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.queue_name === "user.61.feed"));
    expect(socket.frames.find((f) => f.type === "ERROR").payload.code).toBe("FORBIDDEN");
  });

  test("a token for an unknown user with no claim grants nothing: 403", async () => {
    const bare = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("nobody").setIssuer(ISSUER).setExpirationTime("1h").sign(new TextEncoder().encode(SECRET));
    const res = await api(broker.url, "GET", "/queues", undefined, withToken(bare));
    expect([res.status, res.body.error.code]).toEqual([403, "FORBIDDEN"]);
  });
});
