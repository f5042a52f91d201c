/**
 * [PAGE-1] Paged durable queues, in-process on a memory store: a backlog past the window waits on
 * disk and is read back in order as the queue drains; memory holds the window; a restart counts
 * the backlog instead of reading it. Time moves only by the scheduler.
 */
import { expect, test } from "bun:test";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../../src/core/queue-args.ts";
import { PAGE_READ_ROWS, PAGE_WINDOW_BYTES, PAGE_WINDOW_MESSAGES } from "../../src/core/limits.ts";
import type { MemoryDatabase } from "../../src/store/memory/memory-store.ts";
import { publish, settle, startInProcess, type InProcess } from "./support/in-process.ts";

const BODY = "x".repeat(1_000);
/** Far past the window, in messages and bytes. */
const BACKLOG = PAGE_WINDOW_MESSAGES * 3 + 77;

async function withBacklog(count = BACKLOG, args: QueueArgs = DEFAULT_QUEUE_ARGS, options: { maxQueuedBytes?: number } = {}): Promise<InProcess> {
  const started = await startInProcess(options);
  await started.broker.declareQueue({ name: "jobs", durable: true, args });
  for (let n = 1; n <= count; n++) await publish(started.broker, "", "jobs", { n, pad: BODY });
  return started;
}

const queueInfo = (started: InProcess) => {
  const view = started.broker.queue("jobs");
  if (!view.ok) throw new Error(view.error.message);
  return view.value;
};

/** A consumer with `prefetch` that acks everything until `count` deliveries came or nothing moves; returns the bodies' n in order. */
async function drain(started: InProcess, prefetch: number, count: number): Promise<{ ns: number[]; redelivered: boolean[] }> {
  const { broker, sink } = started;
  broker.consume("c", "jobs", "conn", prefetch);
  let acked = 0;
  for (let idle = 0; idle < 20 && acked < count; ) {
    const waiting = sink.toConsumers.slice(acked);
    if (waiting.length === 0) {
      idle++;
      await settle();
      continue;
    }
    idle = 0;
    for (const delivery of waiting) expect(broker.ack("c", "jobs", delivery.tag).ok).toBe(true);
    acked += waiting.length;
    await settle();
  }
  const deliveries = sink.toConsumers.filter((d) => d.queue === "jobs");
  return { ns: deliveries.map((d) => (d.body as { n: number }).n), redelivered: deliveries.map((d) => d.redelivered) };
}

const upTo = (count: number, from = 1) => Array.from({ length: count - from + 1 }, (_, i) => from + i);

test("[PAGE-1] a durable backlog past the window waits on disk: memory holds the window; a consumer gets every message once, in order", async () => {
  const started = await withBacklog(BACKLOG, { ...DEFAULT_QUEUE_ARGS, historySize: 0 });
  const info = queueInfo(started);
  expect(info.messages).toBe(BACKLOG);
  expect(info.messages_on_disk).toBe(BACKLOG - PAGE_WINDOW_MESSAGES);
  expect(info.messages_in_memory).toBe(PAGE_WINDOW_MESSAGES);
  expect(info.bytes).toBeGreaterThan(BACKLOG * BODY.length);
  expect(started.broker.queuedBytes).toBeLessThanOrEqual(PAGE_WINDOW_BYTES);
  const { ns } = await drain(started, 50, BACKLOG);
  expect(ns).toEqual(upTo(BACKLOG));
  expect(queueInfo(started)).toMatchObject({ messages: 0, messages_on_disk: 0, unacked: 0 });
  // Read back in pages, never all at once.
  expect(started.broker.paging.reads).toBeGreaterThanOrEqual(Math.floor((BACKLOG - PAGE_WINDOW_MESSAGES) / PAGE_READ_ROWS));
  expect(started.broker.paging.rows).toBe(BACKLOG - PAGE_WINDOW_MESSAGES);
});

test("[PAGE-1] past MAX_QUEUED_BYTES durable publishes still succeed (they wait on disk) while transient ones are refused", async () => {
  const started = await startInProcess({ maxQueuedBytes: 256 << 10 });
  await started.broker.declareQueue({ name: "jobs", durable: true, args: { ...DEFAULT_QUEUE_ARGS, historySize: 0 } });
  await started.broker.declareQueue({ name: "ticks" });
  for (let n = 1; n <= 2_000; n++) await publish(started.broker, "", "jobs", { n, pad: BODY });
  expect(started.broker.queuedBytes).toBeLessThanOrEqual((256 << 10) + 2 * BODY.length);
  expect(queueInfo(started).messages).toBe(2_000);
  const refused = await started.broker.publish({ exchange: "", routingKey: "ticks", body: JSON.stringify(BODY.repeat(300)), headers: {} });
  expect(refused).toMatchObject({ ok: false, error: { code: "FLOW_CONTROL" } });
  const { ns } = await drain(started, 50, 2_000);
  expect(ns).toEqual(upTo(2_000));
});

async function restartedOn(database: MemoryDatabase): Promise<InProcess> {
  return await startInProcess({ database });
}

test("[PAGE-1] a restart counts the backlog and reads only the head; then it drains in order, not redelivered after a clean stop", async () => {
  const first = await withBacklog();
  await first.broker.close();
  const second = await restartedOn(first.database);
  await settle();
  expect(queueInfo(second)).toMatchObject({ messages: BACKLOG, last_seq: BACKLOG });
  // The head only: the window's worth, page by page.
  expect(second.broker.paging.reads).toBe(PAGE_WINDOW_MESSAGES / PAGE_READ_ROWS);
  expect(queueInfo(second).messages_in_memory).toBe(PAGE_WINDOW_MESSAGES);
  const { ns, redelivered } = await drain(second, 50, BACKLOG);
  expect(ns).toEqual(upTo(BACKLOG));
  expect(redelivered.every((r) => !r)).toBe(true);
  // Seqs go on from the stored backlog.
  await publish(second.broker, "", "jobs", { n: "next" });
  expect(queueInfo(second).last_seq).toBe(BACKLOG + 1);
});

test("[PAGE-1] [REDELIVERED-1] after a crash every restored message is redelivered, also after a clean stop before it was read back", async () => {
  const first = await withBacklog();
  // A crash: no close; the next start finds the database as it was.
  const second = await restartedOn(first.database);
  await settle();
  // Take a few, then stop cleanly while most are still on disk only.
  const taken = await drain(second, 5, 5);
  expect(taken.redelivered.slice(0, 5)).toEqual([true, true, true, true, true]);
  await second.broker.close();
  const third = await restartedOn(second.database);
  const { ns, redelivered } = await drain(third, 50, BACKLOG);
  expect(ns[0]).toBeGreaterThan(1);
  expect(ns.at(-1)).toBe(BACKLOG);
  expect(redelivered.every((r) => r)).toBe(true);
});

test("[PAGE-1] a subscriber with no consumer gets a paged backlog in order, each message once", async () => {
  const started = await withBacklog();
  const { broker, sink, scheduler } = started;
  expect(broker.subscribe("jobs", "conn").ok).toBe(true);
  broker.attached("jobs");
  for (let turn = 0; turn < 200 && sink.subscriberBodies("jobs").length < BACKLOG; turn++) {
    scheduler.runSoon();
    await settle();
  }
  expect(sink.subscriberBodies("jobs").map((b) => (b as { n: number }).n)).toEqual(upTo(BACKLOG));
  expect(queueInfo(started).messages).toBe(0);
});

test("[PAGE-1] TTL holds on disk: messages expired while on disk are dead-lettered as they are read back, never delivered", async () => {
  const started = await startInProcess();
  const { broker, clock } = started;
  await broker.declareQueue({ name: "dead", durable: true });
  await broker.declareQueue({ name: "jobs", durable: true, args: { ...DEFAULT_QUEUE_ARGS, deadLetterExchange: "", deadLetterRoutingKey: "dead" } });
  const total = PAGE_WINDOW_MESSAGES + 500;
  for (let n = 1; n <= total; n++) await publish(broker, "", "jobs", { n, pad: BODY }, n > PAGE_WINDOW_MESSAGES ? { ttl: 1_000 } : {});
  clock.set(clock.now() + 5_000);
  const { ns } = await drain(started, 100, PAGE_WINDOW_MESSAGES);
  expect(ns).toEqual(upTo(PAGE_WINDOW_MESSAGES));
  const dead = broker.queue("dead");
  expect(dead.ok && dead.value.messages).toBe(500);
  expect(queueInfo(started).messages).toBe(0);
});

test("[PAGE-1] drop-head with the oldest on disk: depth stays at max_length, the oldest are dead-lettered in order, the newest delivered", async () => {
  const maxLength = PAGE_WINDOW_MESSAGES + 300;
  const total = maxLength + 1_000;
  const started = await startInProcess();
  const { broker } = started;
  await broker.declareQueue({ name: "dead", durable: true, args: { ...DEFAULT_QUEUE_ARGS, historySize: 0 } });
  await broker.declareQueue({
    name: "jobs",
    durable: true,
    args: { ...DEFAULT_QUEUE_ARGS, maxLength, overflow: "drop-head", deadLetterExchange: "", deadLetterRoutingKey: "dead" },
  });
  for (let n = 1; n <= total; n++) {
    await publish(broker, "", "jobs", { n, pad: BODY });
    expect(queueInfo(started).messages).toBeLessThanOrEqual(maxLength);
  }
  expect(queueInfo(started).messages).toBe(maxLength);
  const { ns } = await drain(started, 100, maxLength);
  expect(ns).toEqual(upTo(total, total - maxLength + 1));
  const dead = broker.queue("dead");
  expect(dead.ok && dead.value.messages).toBe(total - maxLength);
});

test("[PAGE-1] reject-publish counts what waits on disk", async () => {
  const maxLength = PAGE_WINDOW_MESSAGES + 10;
  const started = await withBacklog(maxLength, { ...DEFAULT_QUEUE_ARGS, maxLength, overflow: "reject-publish" });
  const refused = await started.broker.publish({ exchange: "", routingKey: "jobs", body: "1", headers: {} });
  expect(refused).toMatchObject({ ok: false, error: { code: "Q005" } });
});

test("[PAGE-1] purge empties the disk part too; a read in flight is dropped; the queue works on", async () => {
  const started = await withBacklog();
  const { broker } = started;
  broker.consume("c", "jobs", "conn", 1);
  expect(broker.ack("c", "jobs", started.sink.toConsumers[0]!.tag).ok).toBe(true);
  // A read is in flight now (the window has room again); the purge makes it stale.
  const purged = await broker.purgeQueue("jobs");
  expect(purged).toMatchObject({ ok: true });
  await settle();
  expect(queueInfo(started)).toMatchObject({ messages: 0, messages_on_disk: 0, unacked: 1 });
  // The one the consumer holds stays its own; acked, the consumer has room for what comes next.
  expect(broker.ack("c", "jobs", started.sink.toConsumers.at(-1)!.tag).ok).toBe(true);
  await publish(broker, "", "jobs", { n: "after" });
  await settle();
  expect(started.sink.consumerBodies("jobs").at(-1)).toEqual({ n: "after" });
  expect(queueInfo(started).messages).toBe(0);
});

test("[MOVE-2] a move of all waits for a page read already in flight instead of counting what it brings as skipped", async () => {
  const started = await withBacklog(BACKLOG, { ...DEFAULT_QUEUE_ARGS, historySize: 0 });
  await started.broker.declareQueue({ name: "to", durable: true, args: DEFAULT_QUEUE_ARGS });
  // Every read answers a macrotask later: the read that a page-in starts by itself is still on its way when the move looks again.
  const read = started.store.readMessages.bind(started.store);
  started.store.readMessages = async (queue, range) => {
    const rows = await read(queue, range);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return rows;
  };
  const result = await started.broker.move("jobs", { to: "to" });
  expect(result).toEqual({ ok: true, value: { moved: BACKLOG, skipped: 0 } });
  expect(queueInfo(started).messages).toBe(0);
});

test("[MOVE-3] a move looks past a window full of messages it does not take: the chosen ones on disk behind them are moved", async () => {
  const started = await withBacklog(BACKLOG, { ...DEFAULT_QUEUE_ARGS, historySize: 0 });
  await started.broker.declareQueue({ name: "to", durable: true, args: DEFAULT_QUEUE_ARGS });
  // The window holds seqs 1..PAGE_WINDOW_MESSAGES; these are all on disk behind it.
  const chosen = [PAGE_WINDOW_MESSAGES + 5, PAGE_WINDOW_MESSAGES * 2 + 1, BACKLOG];
  const result = await started.broker.move("jobs", { to: "to", seqs: chosen });
  expect(result).toEqual({ ok: true, value: { moved: 3, skipped: 0 } });
  expect(queueInfo(started).messages).toBe(BACKLOG - 3);
  // What stayed is still there, in order, and nothing was lost or doubled.
  const { ns } = await drain(started, 100, BACKLOG - 3);
  expect(ns).toEqual(upTo(BACKLOG).filter((n) => !chosen.includes(n)));
});

test("[MOVE-3] what a move set aside goes with a purge that came meanwhile; nothing comes back from before it", async () => {
  const started = await withBacklog(BACKLOG, { ...DEFAULT_QUEUE_ARGS, historySize: 0 });
  await started.broker.declareQueue({ name: "to", durable: true, args: DEFAULT_QUEUE_ARGS });
  // The purge runs while the move reads its first page past the window it set aside.
  const read = started.store.readMessages.bind(started.store);
  let purged: Promise<unknown> | undefined;
  started.store.readMessages = async (queue, range) => {
    purged ??= started.broker.purgeQueue("jobs");
    await purged;
    return read(queue, range);
  };
  const result = await started.broker.move("jobs", { to: "to", seqs: [BACKLOG] });
  expect(result.ok).toBe(true);
  expect(queueInfo(started)).toMatchObject({ messages: 0 });
  await publish(started.broker, "", "jobs", { n: "after" });
  const { ns } = await drain(started, 100, 1);
  expect(ns).toEqual(["after"] as never);
});
