/**
 * [HIST-2] Durable history, in-process on a memory store: what left a durable queue after delivery
 * stays in the store while retention keeps it, so SUBSCRIBE `since` resumes across a restart or a
 * crash with no gap and no duplicate, and says GAP only when retention no longer reaches back.
 */
import { expect, test } from "bun:test";
import { ACK_FLUSH_MS, REPLAY_READ_ROWS } from "../../src/broker/limits.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../../src/core/queue-args.ts";
import type { MemoryDatabase } from "../../src/store/memory/memory-store.ts";
import { publish, settle, startInProcess, type InProcess } from "./support/in-process.ts";

const seqsOf = (started: InProcess, queue = "feed") => started.sink.toSubscribersOf.filter((d) => d.queue === queue).map((d) => d.seq);

/** A durable queue, one subscriber that got 1..count through the backlog, and (if `flushed`) the store told they left. */
async function delivered(count: number, args: Partial<QueueArgs> = {}, flushed = true): Promise<InProcess> {
  const started = await startInProcess();
  const { broker, scheduler } = started;
  await broker.declareQueue({ name: "feed", durable: true, args: { ...DEFAULT_QUEUE_ARGS, ...args } });
  expect(broker.subscribe("feed", "old").ok).toBe(true);
  broker.attached("feed");
  for (let n = 1; n <= count; n++) await publish(broker, "", "feed", n);
  for (let turn = 0; turn < 10; turn++) scheduler.runSoon();
  expect(seqsOf(started)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  if (flushed) {
    scheduler.advance(ACK_FLUSH_MS);
    await settle();
  }
  return started;
}

/** Subscribes again with `since` on a broker started on `database`; returns the replay's seqs, the gap, then what the backlog brought. */
async function resume(database: MemoryDatabase, since: number, before?: (started: InProcess) => Promise<void>) {
  const started = await startInProcess({ database });
  await before?.(started);
  const answer = await started.broker.subscribe("feed", "new", since);
  if (!answer.ok) throw new Error(answer.error.message);
  started.broker.attached("feed", since);
  for (let turn = 0; turn < 10; turn++) started.scheduler.runSoon();
  await settle();
  return { replay: answer.value.replay.map((e) => e.seq), gap: answer.value.gap, live: seqsOf(started), started };
}

test("[HIST-2] a resume after a clean restart replays from the store: no gap, no duplicate, then what waits", async () => {
  const first = await delivered(50);
  await first.broker.close();
  const { replay, gap, live } = await resume(first.database, 20, async ({ broker }) => {
    for (let n = 51; n <= 55; n++) await publish(broker, "", "feed", n);
  });
  expect(gap).toBeUndefined();
  expect(replay).toEqual(Array.from({ length: 30 }, (_, i) => 21 + i));
  expect(live).toEqual([51, 52, 53, 54, 55]);
});

test("[HIST-2] after a crash before the store heard they left, a resume gets neither a gap nor what it said it had", async () => {
  // Delivered 1..50, never flushed: after the crash the store still has all 50 waiting.
  const first = await delivered(50, {}, false);
  const { replay, gap, live } = await resume(first.database, 20);
  expect(gap).toBeUndefined();
  expect(replay).toEqual([]);
  // 21..50 come through the backlog (they may have been delivered: at-least-once); 1..20, which the subscriber has, do not.
  expect(live).toEqual(Array.from({ length: 30 }, (_, i) => 21 + i));
});

test("[HIST-2] after a crash with the marks stored, the replay comes from the store and nothing is sent twice", async () => {
  const first = await delivered(50);
  // A crash: no close.
  const { replay, gap, live } = await resume(first.database, 20);
  expect(gap).toBeUndefined();
  expect(replay).toEqual(Array.from({ length: 30 }, (_, i) => 21 + i));
  expect(live).toEqual([]);
});

test("[HIST-2] GAP only when retention no longer reaches back: history_size", async () => {
  const first = await delivered(50, { historySize: 10 });
  // The full checkpoint applies retention.
  first.scheduler.advance(1_000);
  await settle();
  expect(first.database.seqs("feed")).toEqual(Array.from({ length: 10 }, (_, i) => 41 + i));
  await first.broker.close();
  const far = await resume(first.database, 20);
  expect(far.gap).toEqual({ firstAvailable: 41 });
  expect(far.replay).toEqual(Array.from({ length: 10 }, (_, i) => 41 + i));
  const near = await resume(far.started.database, 45);
  expect(near.gap).toBeUndefined();
  expect(near.replay).toEqual([46, 47, 48, 49, 50]);
});

test("[HIST-2] history_ttl: retained messages older than it are not replayed, and resuming from before them is a GAP", async () => {
  const first = await delivered(10, { historyTtl: 60_000 });
  first.clock.set(first.clock.now() + 30_000);
  for (let n = 11; n <= 15; n++) await publish(first.broker, "", "feed", n);
  for (let turn = 0; turn < 5; turn++) first.scheduler.runSoon();
  first.scheduler.advance(ACK_FLUSH_MS);
  await settle();
  await first.broker.close();
  // 40 s later: 1..10 are 70 s old, 11..15 30 s.
  first.clock.set(first.clock.now() + 40_000);
  const { replay, gap } = await resume(first.database, 5, async ({ clock }) => clock.set(first.clock.now()));
  expect(gap).toEqual({ firstAvailable: 11 });
  expect(replay).toEqual([11, 12, 13, 14, 15]);
});

test("[HIST-2] [HIST-1] dropped messages (never delivered) are not history: no replay of them, no false GAP for them", async () => {
  const started = await startInProcess();
  const { broker, scheduler } = started;
  await broker.declareQueue({ name: "feed", durable: true, args: { ...DEFAULT_QUEUE_ARGS, maxLength: 2 } });
  for (let n = 1; n <= 5; n++) await publish(broker, "", "feed", n); // 1..3 dropped by max_length
  expect(broker.subscribe("feed", "old").ok).toBe(true);
  broker.attached("feed");
  for (let turn = 0; turn < 5; turn++) scheduler.runSoon();
  expect(seqsOf(started)).toEqual([4, 5]);
  scheduler.advance(ACK_FLUSH_MS);
  await settle();
  await broker.close();
  const { replay, gap } = await resume(started.database, 0);
  expect(gap).toBeUndefined();
  expect(replay).toEqual([4, 5]);
});

test("[HIST-2] a since past the queue's last seq, or on a transient queue, skips nothing: the backlog comes whole", async () => {
  const started = await startInProcess();
  const { broker, scheduler } = started;
  await broker.declareQueue({ name: "feed", durable: true });
  await broker.declareQueue({ name: "ticks" });
  for (let n = 1; n <= 5; n++) {
    await publish(broker, "", "feed", n);
    await publish(broker, "", "ticks", n);
  }
  for (const queue of ["feed", "ticks"]) {
    const answer = await broker.subscribe(queue, "new", 5_000);
    expect(answer.ok).toBe(true);
    broker.attached(queue, 5_000);
  }
  for (let turn = 0; turn < 5; turn++) scheduler.runSoon();
  expect(seqsOf(started, "feed")).toEqual([1, 2, 3, 4, 5]);
  expect(seqsOf(started, "ticks")).toEqual([1, 2, 3, 4, 5]);
});

test("[HIST-2] a purge right after deliveries keeps them as history", async () => {
  const first = await delivered(10, {}, false);
  await publish(first.broker, "", "feed", 11); // waits (the subscriber left? no: it is sent) …
  expect((await first.broker.purgeQueue("feed")).ok).toBe(true);
  await first.broker.close();
  const { replay, gap } = await resume(first.database, 0);
  expect(gap).toBeUndefined();
  expect(replay.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
});

test("[HIST-2] a message given back to the head does not hide the history after it", async () => {
  const started = await startInProcess();
  const { broker, sink, scheduler } = started;
  await broker.declareQueue({ name: "feed", durable: true });
  for (let n = 1; n <= 10; n++) await publish(broker, "", "feed", n);
  broker.consume("c", "feed", "conn", 10);
  for (const d of sink.toConsumers.slice(1)) expect(broker.ack("c", "feed", d.tag).ok).toBe(true);
  broker.cancel("c", "feed");
  scheduler.advance(ACK_FLUSH_MS);
  await settle();
  const answer = await broker.subscribe("feed", "sub", 0);
  if (!answer.ok) throw new Error(answer.error.message);
  expect(answer.value.gap).toBeUndefined();
  expect(answer.value.replay.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
  broker.attached("feed", 0);
  for (let turn = 0; turn < 5; turn++) scheduler.runSoon();
  // The one given back comes through the backlog.
  expect(seqsOf(started)).toEqual([1]);
});

test("[HIST-2] a replay from the store stops past replayMaxBytes, with nothing newer after it (the transport cuts the subscriber there)", async () => {
  // More than one read's worth (REPLAY_READ_ROWS): the limit stops it after the first.
  const first = await delivered(REPLAY_READ_ROWS + 200, { historySize: 5_000 });
  await first.broker.close();
  const started = await startInProcess({ database: first.database, replayMaxBytes: 1 });
  for (let n = 1; n <= 2; n++) await publish(started.broker, "", "feed", n);
  const answer = await started.broker.subscribe("feed", "new", 0);
  if (!answer.ok) throw new Error(answer.error.message);
  expect(answer.value.truncated).toBe(true);
  const seqs = answer.value.replay.map((e) => e.seq);
  expect(seqs.length).toBeGreaterThan(0);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  expect(seqs.at(-1)).toBe(REPLAY_READ_ROWS);
});
