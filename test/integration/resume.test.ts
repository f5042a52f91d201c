/**
 * History and resume: a queue with `history_size` retains its last delivered messages; SUBSCRIBE
 * with `since` replays what was retained after that seq, then goes live, with no gap and no
 * duplicate even while another client publishes. When history no longer reaches back, a GAP frame
 * says so before anything else.
 */
import { describe, expect, test } from "bun:test";
import { api } from "../support/broker-process.ts";
import { brokerForFile } from "../support/file-broker.ts";
import { bodies, declareQueue, openSubscriber, publish, queueInfo, roundTrip } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";

const file = brokerForFile();

async function subscriber(queue: string, since?: number): Promise<TestSocket> {
  const socket = await openSubscriber(file.broker.wsUrl, queue, since);
  file.sockets.push(socket);
  return socket;
}

const seqsOf = (socket: TestSocket): number[] => socket.messages().map((m) => m.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Publishes over one socket without waiting; resolves once every one is confirmed. */
async function publishStream(queue: string, count: number, from: number): Promise<void> {
  const publisher = await TestSocket.open(file.broker.wsUrl);
  file.sockets.push(publisher);
  for (let i = 0; i < count; i++) publisher.send({ type: "PUBLISH", id: i, payload: { exchange_name: "", key: queue, payload: from + i } });
  await publisher.until((frames) => frames.filter((f) => f.type === "CONFIRM").length === count, 10_000);
}

describe("resume with since", () => {
  test("a subscriber that missed messages gets exactly those, then live ones", async () => {
    await declareQueue(file.broker.url, "feed", { history_size: 100 });
    // Someone stays subscribed, so messages are delivered (and leave the queue) while the other is away.
    const steady = await subscriber("feed");
    const roaming = await subscriber("feed");
    for (let n = 1; n <= 5; n++) await publish(file.broker.url, "feed", n);
    await roaming.untilMessages(5);
    const lastSeen = roaming.messages().at(-1)!.seq;
    roaming.close();
    await until(async () => (await queueInfo(file.broker.url, "feed")).subscribers === 1);

    for (let n = 6; n <= 10; n++) await publish(file.broker.url, "feed", n);
    await steady.untilMessages(10);
    const back = await subscriber("feed", lastSeen);
    await back.untilMessages(5);
    await publish(file.broker.url, "feed", 11);
    await back.untilMessages(6);
    await roundTrip(back);

    expect(bodies(back.messages())).toEqual([6, 7, 8, 9, 10, 11]);
    expect(seqsOf(back)).toEqual(range(lastSeen + 1, lastSeen + 6));
    expect(back.frames.some((f) => f.type === "GAP")).toBe(false);
  });

  test("no gap and no duplicate while another client publishes during the resume", async () => {
    await declareQueue(file.broker.url, "busy", { history_size: 10_000 });
    const steady = await subscriber("busy");
    await publishStream("busy", 200, 0);
    await steady.untilMessages(200);

    // Resume from the middle while 2000 more are being published.
    const since = 120;
    const streaming = publishStream("busy", 2_000, 200);
    await until(() => steady.messages().length > 400, 10_000, "the publisher to be under way");
    const resumed = await subscriber("busy", since);
    await streaming;
    await steady.untilMessages(2_200, 10_000);
    await resumed.until(() => seqsOf(resumed).at(-1) === 2_200, 10_000);
    await roundTrip(resumed);

    expect(seqsOf(resumed)).toEqual(range(since + 1, 2_200));
    expect(bodies(resumed.messages())).toEqual(range(since, 2_199));
    expect(resumed.frames.some((f) => f.type === "GAP")).toBe(false);
  }, 20_000);

  test("since the last seq: nothing replayed, no GAP, live from there", async () => {
    await declareQueue(file.broker.url, "caught-up", { history_size: 10 });
    const steady = await subscriber("caught-up");
    for (let n = 1; n <= 3; n++) await publish(file.broker.url, "caught-up", n);
    await steady.untilMessages(3);
    const resumed = await subscriber("caught-up", 3);
    await roundTrip(resumed);
    expect(resumed.frames.filter((f) => f.type === "MESSAGE" || f.type === "GAP")).toEqual([]);
    await publish(file.broker.url, "caught-up", 4);
    await resumed.untilMessages(1);
    expect(seqsOf(resumed)).toEqual([4]);
  });

  test("messages still waiting in the queue come once, through the backlog, not again through the replay", async () => {
    await declareQueue(file.broker.url, "waiting", { history_size: 100 });
    const first = await subscriber("waiting");
    for (let n = 1; n <= 3; n++) await publish(file.broker.url, "waiting", n);
    await first.untilMessages(3);
    first.close();
    await until(async () => (await queueInfo(file.broker.url, "waiting")).subscribers === 0);
    // Nobody is subscribed: these wait in the queue.
    for (let n = 4; n <= 6; n++) await publish(file.broker.url, "waiting", n);

    const resumed = await subscriber("waiting", 1);
    await resumed.untilMessages(5);
    await roundTrip(resumed);
    expect(seqsOf(resumed)).toEqual([2, 3, 4, 5, 6]);
  });
});

describe("resume with delayed messages", () => {
  test("[RESUME-1] a delayed message delivered while the subscriber was away is replayed, not skipped", async () => {
    await declareQueue(file.broker.url, "delayed-history", { history_size: 100 });
    const steady = await subscriber("delayed-history");
    await publish(file.broker.url, "delayed-history", "m1");
    await publish(file.broker.url, "delayed-history", "m2-delayed", { delay: 50 });
    await publish(file.broker.url, "delayed-history", "m3");
    await steady.untilMessages(3);
    expect(seqsOf(steady)).toEqual([1, 3, 2]); // live subscribers get it when it is due

    const resumed = await subscriber("delayed-history", 0);
    await resumed.untilMessages(3);
    await roundTrip(resumed);
    expect(resumed.messages().map((m) => [m.seq, m.body])).toEqual([
      [1, "m1"],
      [2, "m2-delayed"],
      [3, "m3"],
    ]);
  });

  test("[RESUME-1] one released behind newer ones while nobody was subscribed comes once, through the backlog", async () => {
    await declareQueue(file.broker.url, "delayed-backlog", { history_size: 100 });
    const first = await subscriber("delayed-backlog");
    await publish(file.broker.url, "delayed-backlog", "m1");
    await first.untilMessages(1);
    first.close();
    await until(async () => (await queueInfo(file.broker.url, "delayed-backlog")).subscribers === 0);
    await publish(file.broker.url, "delayed-backlog", "m2-delayed", { delay: 50 });
    await publish(file.broker.url, "delayed-backlog", "m3");
    await until(async () => (await queueInfo(file.broker.url, "delayed-backlog")).delayed === 0, 5_000, "the delayed message to be released");

    const resumed = await subscriber("delayed-backlog", 1);
    await resumed.untilMessages(2);
    await roundTrip(resumed);
    expect(seqsOf(resumed).sort((a, b) => a - b)).toEqual([2, 3]);
  });
});

describe("GAP", () => {
  test("when history no longer reaches back, a GAP frame comes first, then what is retained", async () => {
    await declareQueue(file.broker.url, "short-memory", { history_size: 5 });
    const steady = await subscriber("short-memory");
    for (let n = 1; n <= 20; n++) await publish(file.broker.url, "short-memory", n);
    await steady.untilMessages(20);

    const resumed = await subscriber("short-memory", 2);
    await resumed.untilMessages(5);
    const afterReply = resumed.frames.filter((f) => f.type !== "SUBSCRIBED");
    expect(afterReply[0]).toEqual({ type: "GAP", payload: { queue_name: "short-memory", since: 2, first_available_seq: 16 } });
    expect(seqsOf(resumed)).toEqual([16, 17, 18, 19, 20]);
  });

  test("a queue without history: resuming from an old seq is a GAP with nothing replayed", async () => {
    await declareQueue(file.broker.url, "no-memory");
    const steady = await subscriber("no-memory");
    for (let n = 1; n <= 3; n++) await publish(file.broker.url, "no-memory", n);
    await steady.untilMessages(3);
    const resumed = await subscriber("no-memory", 0);
    await roundTrip(resumed);
    expect(resumed.frames.filter((f) => f.type === "GAP")).toEqual([
      { type: "GAP", payload: { queue_name: "no-memory", since: 0, first_available_seq: 4 } },
    ]);
    expect(resumed.messages()).toEqual([]);
  });

  test("[RESUME-2] history_ttl: retained messages past it are forgotten even when nothing new is published", async () => {
    await declareQueue(file.broker.url, "fading", { history_size: 100, history_ttl: 200 });
    const steady = await subscriber("fading");
    for (let n = 1; n <= 2; n++) await publish(file.broker.url, "fading", n);
    await steady.untilMessages(2);

    let last: TestSocket | undefined;
    await until(
      async () => {
        last?.close();
        last = await subscriber("fading", 0);
        await roundTrip(last);
        return last.frames.some((f) => f.type === "GAP");
      },
      5_000,
      "history to forget messages older than history_ttl",
    );
    expect(last!.frames.find((f) => f.type === "GAP")).toEqual({ type: "GAP", payload: { queue_name: "fading", since: 0, first_available_seq: 3 } });
    expect(last!.messages()).toEqual([]);
  });

  test("[ERROR-ID-1] since must be a whole number", async () => {
    await declareQueue(file.broker.url, "bad-since");
    const socket = await TestSocket.open(file.broker.wsUrl);
    file.sockets.push(socket);
    socket.send({ type: "SUBSCRIBE", payload: { queue_name: "bad-since", since: -1, id: "s" } });
    await socket.until((frames) => frames.some((f) => f.payload?.id === "s"));
    expect(socket.frames[0]).toMatchObject({ type: "ERROR", payload: { code: "VALIDATION", id: "s" } });
    expect((await api(file.broker.url, "GET", "/queues/bad-since")).body.subscribers).toBe(0);
  });
});

describe("history and flow control", () => {
  const MAX_QUEUED_BYTES = 1 << 20;
  const tight = brokerForFile({ env: { MAX_QUEUED_BYTES: String(MAX_QUEUED_BYTES) } });

  test("[SLOW-2] retained history gives way at MAX_QUEUED_BYTES: publishes go on, a resume from the start gets a GAP", async () => {
    // A transient queue's history is in memory only: 3 MB of it would hold the broker at its limit
    // for good (nothing else frees history), so it is forgotten, oldest first, instead.
    await declareQueue(tight.broker.url, "kept", { history_size: 1_000 });
    const steady = await openSubscriber(tight.broker.wsUrl, "kept");
    tight.sockets.push(steady);
    const body = "h".repeat(50_000);
    for (let n = 1; n <= 60; n++) await publish(tight.broker.url, "kept", `${n}:${body}`);
    await steady.untilMessages(60);

    const resumed = await openSubscriber(tight.broker.wsUrl, "kept", 0);
    tight.sockets.push(resumed);
    await roundTrip(resumed);
    const gap = resumed.frames.find((f) => f.type === "GAP");
    expect(gap?.payload.first_available_seq).toBeGreaterThan(1);
    expect(seqsOf(resumed)).toEqual(range(gap.payload.first_available_seq, 60));
    const metrics = (await api(tight.broker.url, "GET", "/metrics/json")).body;
    expect(metrics.queued_bytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES + 2 * 50_000);
  });

  test("[HIST-2] a durable queue's history gives way in memory only: its copy on disk still replays, no GAP", async () => {
    await declareQueue(tight.broker.url, "kept-on-disk", { durable: true });
    const steady = await openSubscriber(tight.broker.wsUrl, "kept-on-disk");
    tight.sockets.push(steady);
    const body = "h".repeat(50_000);
    for (let n = 1; n <= 60; n++) await publish(tight.broker.url, "kept-on-disk", `${n}:${body}`);
    await steady.untilMessages(60);
    const metrics = (await api(tight.broker.url, "GET", "/metrics/json")).body;
    expect(metrics.queued_bytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES + 2 * 50_000);
    // Past the ack window, so the store has them as history, not as waiting.
    await Bun.sleep(300);
    const resumed = await openSubscriber(tight.broker.wsUrl, "kept-on-disk", 0);
    tight.sockets.push(resumed);
    await resumed.untilMessages(60);
    await roundTrip(resumed);
    expect(resumed.frames.some((f) => f.type === "GAP")).toBe(false);
    expect(seqsOf(resumed)).toEqual(range(1, 60));
  });
});
