/**
 * A backlog drains to subscribers in slices (DRAIN_BATCH per turn), so publishes and other sockets
 * are served in between; a slice that met backpressure waits for the transport's drain, or for
 * DRAIN_RETRY_MS, before the next. In-process: the manual scheduler's `soon` is the next turn.
 */
import { expect, test } from "bun:test";
import { DRAIN_BATCH, DRAIN_RETRY_MS } from "../../src/broker/limits.ts";
import { publish, startInProcess } from "./support/in-process.ts";

const BACKLOG = DRAIN_BATCH * 2 + 10;

async function withBacklog() {
  const started = await startInProcess();
  const { broker } = started;
  await broker.declareQueue({ name: "feed" });
  for (let n = 0; n < BACKLOG; n++) await publish(broker, "", "feed", n);
  const subscribed = broker.subscribe("feed", "conn");
  expect(subscribed.ok).toBe(true);
  return started;
}

test("a backlog goes to a new subscriber one slice per turn, in order", async () => {
  const { broker, sink, scheduler } = await withBacklog();
  broker.attached("feed");
  expect(sink.subscriberBodies("feed")).toHaveLength(DRAIN_BATCH);
  scheduler.runSoon();
  expect(sink.subscriberBodies("feed")).toEqual(Array.from({ length: BACKLOG }, (_, n) => n));
  expect(broker.queue("feed")).toMatchObject({ ok: true, value: { messages: 0 } });
});

test("under backpressure the next slice waits: for the subscriber's drain, at once", async () => {
  const { broker, sink, scheduler } = await withBacklog();
  sink.pressured = true;
  broker.attached("feed");
  expect(sink.subscriberBodies("feed")).toHaveLength(DRAIN_BATCH);
  // Not on the next turn: the slice met a subscriber with unsent data.
  scheduler.runSoon();
  expect(sink.subscriberBodies("feed")).toHaveLength(DRAIN_BATCH);
  broker.drained("feed");
  expect(sink.subscriberBodies("feed")).toHaveLength(2 * DRAIN_BATCH);
});

test("under backpressure with no drain reported, the backlog pushes on after DRAIN_RETRY_MS", async () => {
  const { broker, sink, scheduler } = await withBacklog();
  sink.pressured = true;
  broker.attached("feed");
  scheduler.advance(DRAIN_RETRY_MS - 1);
  expect(sink.subscriberBodies("feed")).toHaveLength(DRAIN_BATCH);
  scheduler.advance(1);
  expect(sink.subscriberBodies("feed")).toHaveLength(2 * DRAIN_BATCH);
  sink.pressured = false;
  scheduler.advance(DRAIN_RETRY_MS);
  expect(sink.subscriberBodies("feed")).toEqual(Array.from({ length: BACKLOG }, (_, n) => n));
});

test("a drain for a queue that is not paused changes nothing", async () => {
  const { broker, sink } = await withBacklog();
  broker.attached("feed");
  broker.drained("feed");
  // The next slice is due on the next turn, not now.
  expect(sink.subscriberBodies("feed")).toHaveLength(DRAIN_BATCH);
});

test("a deleted queue's paused backlog never resumes", async () => {
  const { broker, sink, scheduler } = await withBacklog();
  sink.pressured = true;
  broker.attached("feed");
  expect((await broker.deleteQueue("feed")).ok).toBe(true);
  scheduler.advance(10 * DRAIN_RETRY_MS);
  expect(sink.subscriberBodies("feed")).toHaveLength(DRAIN_BATCH);
  expect(sink.detached).toEqual([{ queue: "feed", reason: "queue deleted" }]);
  expect(scheduler.pending).toBe(4); // the broker's four periodic timers, no retry
});
