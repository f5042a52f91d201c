/**
 * The client with a token, against a broker that takes HS256 JWTs (JWT_SECRET): REST with
 * `Authorization: Bearer`, the WebSocket with AUTH first, a token function asked again for each
 * connection, renewal on TOKEN_EXPIRING on the same socket, 4011 reconnecting with a fresh token,
 * and a refused token ending in the broker's code after a few slow tries, not a reconnect storm.
 * Tokens expire in seconds here, so the tests cross real expiries without long sleeps.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { connect, isAuthError, type ClientOptions, type ConnectionEvent, type Delivery, type Message, type PubsubClient } from "../../src/client/index.ts";
import { removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { rejection, until, within } from "./support/collect.ts";
import { startProxy, type TcpProxy } from "./support/tcp-proxy.ts";

const SECRET = "a test secret that is well over 32 bytes long";
/** Full access for any `sub`: the broker's permission claim. */
const EVERYTHING = { configure: ".*", write: ".*", read: ".*" };
const FAST: ClientOptions = { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } };

/** An HS256 JWT for `sub`, expiring `ttlSeconds` from now (exp is whole seconds: up to a second sooner). */
async function mint(ttlSeconds: number, options: { sub?: string; secret?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ pubsub: EVERYTHING })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.sub ?? "alice")
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}
const expiryOf = (token: string): number => JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000;

let broker: BrokerProcess;
let admin: PubsubClient;
const clients: PubsubClient[] = [];
const proxies: TcpProxy[] = [];
const client = (options: ClientOptions = {}, url = broker.url) => {
  const c = connect(url, { ...FAST, ...options });
  clients.push(c);
  return c;
};
/** The onConnection events of a client, in order. */
const events = () => {
  const seen: ConnectionEvent[] = [];
  return { seen, onConnection: (event: ConnectionEvent) => void seen.push(event) };
};
/** WebSocket connections the broker has opened so far (its log has one line each). */
const connectionsOpened = (b = broker) => b.output().split("\n").filter((line) => line.includes("connection.open")).length;
let queues = 0;
const newQueue = async (): Promise<string> => {
  const name = `auth-${++queues}`;
  await admin.queues.declare({ name });
  return name;
};

beforeAll(async () => {
  // AUTH_FAILURES_FREE high: the refusal tests must not put 127.0.0.1 in the broker's backoff for the others.
  broker = await startBroker({ env: { JWT_SECRET: SECRET, AUTH_FAILURES_FREE: "1000" } });
  admin = connect(broker.url, { token: await mint(3_600) });
}, 30_000);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close({ timeoutMs: 1_000 });
  for (const p of proxies.splice(0)) p.close();
});
afterAll(async () => {
  await admin?.close();
  await broker?.stop();
  removeDir(broker?.dataDir ?? "");
});

describe("with a token", () => {
  test("REST sends it as Bearer; publish, subscribe and consume go over an authenticated socket", async () => {
    const anonymous = client();
    const refused = await rejection(anonymous.queues.list());
    expect(refused.code).toBe("UNAUTHORIZED");
    expect(refused.status).toBe(401);

    const alice = client({ token: await mint(3_600) });
    const feed = await newQueue();
    const jobs = await newQueue();
    expect((await alice.queues.list()).map((q) => q.name)).toContain(feed);
    const received: Message[] = [];
    await alice.subscribe(feed, (m) => void received.push(m));
    const taken: Delivery[] = [];
    await alice.consume(jobs, async (d) => {
      taken.push(d);
      await d.ack();
    });
    expect((await alice.publish("", feed, { n: 1 })).routed).toBe(1);
    expect((await alice.publish("", jobs, { n: 2 }, { transport: "http" })).routed).toBe(1);
    await until(() => received.length === 1 && taken.length === 1, 5_000, "the message and the delivery");
    expect(received[0]!.body).toEqual({ n: 1 });
    expect(taken[0]!.body).toEqual({ n: 2 });
    await until(async () => (await admin.queues.get(jobs)).messages === 0, 5_000, "the ack");
  });

  test("a token function is asked again for each new connection; the subscription resumes on the new one", async () => {
    const proxy = await startProxy(broker.port);
    proxies.push(proxy);
    let asked = 0;
    const connection = events();
    const bob = client({ token: async () => (asked++, mint(3_600)), onConnection: connection.onConnection }, proxy.url);
    const feed = await newQueue();
    const received: number[] = [];
    await bob.subscribe<number>(feed, (m) => void received.push(m.body));
    expect(asked).toBe(1);
    await admin.publish("", feed, 1);
    await until(() => received.length === 1, 5_000, "the first message");

    proxy.cut();
    await until(() => connection.seen.filter((e) => e.state === "open").length === 2, 5_000, "the reconnect");
    expect(asked).toBe(2);
    await admin.publish("", feed, 2);
    await until(() => received.length === 2, 5_000, "a message after the reconnect");
    expect(received).toEqual([1, 2]);
  });

  test("TOKEN_EXPIRING: renewed by AUTH on the same socket, the subscription lives on past the old token's exp", async () => {
    // Expires in 3–4 s: within the broker's 30 s notice, so TOKEN_EXPIRING comes at once.
    const first = await mint(4);
    const asked: number[] = [];
    const connection = events();
    const carol = client({ token: async () => (asked.push(Date.now()), asked.length === 1 ? first : mint(3_600)), onConnection: connection.onConnection });
    const feed = await newQueue();
    const received: number[] = [];
    const subscribed = Date.now();
    await carol.subscribe<number>(feed, (m) => void received.push(m.body));
    await until(() => asked.length === 2, 2_000, "the renewal");
    // Asked because the broker said so, long before the client's own schedule (half the lifetime).
    expect(asked[1]! - subscribed).toBeLessThan(1_500);

    // Past the first token's exp, when the broker closes an unrenewed socket with 4011.
    await Bun.sleep(Math.max(0, expiryOf(first) + 750 - Date.now()));
    await admin.publish("", feed, 1);
    await until(() => received.length === 1, 5_000, "a message after the old exp");
    expect(connection.seen.map((e) => e.state)).toEqual(["open"]);
    expect(asked.length).toBe(2);
  });

  test("4011: a socket whose token was not renewed reconnects with a fresh token and resubscribes", async () => {
    const short = await mint(3);
    let asked = 0;
    const connection = events();
    // The source gives the same token when asked to renew: nothing to send, so the broker closes at exp.
    const dave = client({ token: async () => (++asked <= 2 ? short : mint(3_600)), onConnection: connection.onConnection });
    const feed = await newQueue();
    const received: number[] = [];
    await dave.subscribe<number>(feed, (m) => void received.push(m.body));
    await until(() => connection.seen.filter((e) => e.state === "open").length === 2, 6_000, "the reconnect after 4011");
    const lost = connection.seen.find((e) => e.state === "lost");
    expect(lost?.state === "lost" && lost.willRetry).toBe(true);
    expect(lost?.state === "lost" && lost.error.code).toBe("CONNECTION_LOST");
    expect(asked).toBe(3);
    await admin.publish("", feed, 1);
    await until(() => received.length === 1, 5_000, "a message on the new socket");
  });

  test("a string JWT cannot be renewed: at its exp (4011) the subscription ends with TOKEN_EXPIRED, no reconnect", async () => {
    const connection = events();
    const frank = client({ token: await mint(3), onConnection: connection.onConnection });
    const feed = await newQueue();
    const subscription = await frank.subscribe(feed, () => {});
    const ended = await within(subscription.closed, 5_000, "the end at exp");
    expect(ended?.code).toBe("TOKEN_EXPIRED");
    expect(connection.seen.map((e) => e.state)).toEqual(["open", "lost"]);
    expect(connection.seen[1]).toEqual({ state: "lost", error: ended!, willRetry: false });
  });

  test("a broker without users takes AUTH and changes nothing", async () => {
    const guest = await startBroker();
    try {
      const c = client({ token: "any-token-at-all" }, guest.url);
      await c.queues.declare({ name: "open" });
      const received: unknown[] = [];
      await c.subscribe("open", (m) => void received.push(m.body));
      await c.publish("", "open", "hi");
      await until(() => received.length === 1, 5_000, "the message");
    } finally {
      for (const c of clients.splice(0)) await c.close({ timeoutMs: 1_000 });
      await guest.stop();
      removeDir(guest.dataDir);
    }
  });
});

describe("refused", () => {
  test("a string token the broker refuses: its code (TOKEN_INVALID) at once, one connection, no retry", async () => {
    const forged = await mint(3_600, { secret: "another secret, also longer than 32 bytes" });
    const feed = await newQueue();
    const before = connectionsOpened();
    const connection = events();
    const eve = client({ token: forged, onConnection: connection.onConnection });
    const rest = await rejection(eve.queues.list());
    // REST answers 401 UNAUTHORIZED with the reason in the message (the access hook keeps one code); the WebSocket says TOKEN_INVALID.
    expect(["UNAUTHORIZED", "TOKEN_INVALID"]).toContain(rest.code);
    expect(rest.status).toBe(401);
    expect(isAuthError(rest)).toBe(true);
    const error = await rejection(within(eve.subscribe(feed, () => {}), 2_000, "the refusal"));
    expect(error.code).toBe("TOKEN_INVALID");
    expect(isAuthError(error)).toBe(true);
    expect(String(error.message)).not.toContain(forged);
    await Bun.sleep(300);
    expect(connectionsOpened() - before).toBe(1);
    expect(connection.seen).toEqual([{ state: "lost", error, willRetry: false }]);
  });

  test("a token function whose tokens are refused: asked a few times, slowly, then the broker's code", async () => {
    const feed = await newQueue();
    const before = connectionsOpened();
    let asked = 0;
    const started = Date.now();
    const mallory = client({ token: async () => (asked++, mint(3_600, { secret: "another secret, also longer than 32 bytes" })) });
    const error = await rejection(within(mallory.subscribe(feed, () => {}), 8_000, "giving up"));
    expect(error.code).toBe("TOKEN_INVALID");
    expect(asked).toBe(3);
    // Two waits of the auth backoff (0.5–1 s, then 1–2 s), not a reconnect's 20 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(connectionsOpened() - before).toBe(3);
    await Bun.sleep(1_200);
    expect(asked).toBe(3);
    expect(connectionsOpened() - before).toBe(3);
  });

  test("no token against a broker that needs one: UNAUTHORIZED, no retry", async () => {
    const feed = await newQueue();
    const before = connectionsOpened();
    const error = await rejection(within(client().subscribe(feed, () => {}), 2_000, "the refusal"));
    expect(error.code).toBe("UNAUTHORIZED");
    await Bun.sleep(300);
    expect(connectionsOpened() - before).toBe(1);
  });

  test("a token function that throws: TOKEN_UNAVAILABLE with its error as the cause, nothing sent", async () => {
    const failure = new Error("the identity service is down");
    const c = client({
      token: () => {
        throw failure;
      },
    });
    const error = await rejection(c.queues.list());
    expect(error.code).toBe("TOKEN_UNAVAILABLE");
    expect(error.cause).toBe(failure);
  });
});

/**
 * A stand-in broker that records every frame, to see what the client sends and when: AUTH
 * answered after `authDelayMs` with `authReply` (AUTHENTICATED unless given), everything else
 * answered as the broker would for SUBSCRIBE.
 */
function recordingBroker(options: { authDelayMs?: number; authReply?: (id: unknown) => unknown } = {}) {
  const frames: { type: string; at: number; payload: any }[] = [];
  let authenticatedAt: number | undefined;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request, srv) => (srv.upgrade(request, { data: undefined }) ? undefined : new Response("upgrade", { status: 400 })),
    websocket: {
      message(ws, text) {
        const frame = JSON.parse(String(text));
        frames.push({ type: frame.type, at: Date.now(), payload: frame.payload });
        const id = frame.payload?.id;
        if (frame.type === "AUTH") {
          setTimeout(() => {
            authenticatedAt = Date.now();
            ws.send(JSON.stringify(options.authReply?.(id) ?? { type: "AUTHENTICATED", payload: { user: "alice", expires_at: null, id } }));
          }, options.authDelayMs ?? 0);
        } else if (frame.type === "SUBSCRIBE") {
          ws.send(JSON.stringify({ type: "SUBSCRIBED", payload: { queue_name: frame.payload.queue_name, id } }));
        }
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, frames, authenticatedAt: () => authenticatedAt, stop: () => server.stop(true) };
}

describe("what goes on the socket", () => {
  test("AUTH is the first frame, and nothing else goes before AUTHENTICATED", async () => {
    const fake = recordingBroker({ authDelayMs: 200 });
    try {
      await client({ token: "an-api-key" }, fake.url).subscribe("q", () => {});
      expect(fake.frames.map((f) => f.type)).toEqual(["AUTH", "SUBSCRIBE"]);
      expect(fake.frames[0]!.payload.token).toBe("an-api-key");
      expect(fake.frames[1]!.at).toBeGreaterThanOrEqual(fake.authenticatedAt()!);
    } finally {
      for (const c of clients.splice(0)) await c.close({ timeoutMs: 1_000 });
      fake.stop();
    }
  });

  test("without a token no AUTH is sent: the seed's protocol", async () => {
    const fake = recordingBroker();
    try {
      await client({}, fake.url).subscribe("q", () => {});
      expect(fake.frames.map((f) => f.type)).toEqual(["SUBSCRIBE"]);
    } finally {
      for (const c of clients.splice(0)) await c.close({ timeoutMs: 1_000 });
      fake.stop();
    }
  });

  test("an AUTH refused by a broker that keeps the socket open still ends in the refusal", async () => {
    const fake = recordingBroker({ authReply: (id) => ({ type: "ERROR", payload: { code: "TOKEN_INVALID", message: "not a token this broker accepts", id } }) });
    try {
      const error = await rejection(within(client({ token: "an-api-key" }, fake.url).subscribe("q", () => {}), 2_000, "the refusal"));
      expect(error.code).toBe("TOKEN_INVALID");
      expect(fake.frames.map((f) => f.type)).toEqual(["AUTH"]);
    } finally {
      for (const c of clients.splice(0)) await c.close({ timeoutMs: 1_000 });
      fake.stop();
    }
  });
});
