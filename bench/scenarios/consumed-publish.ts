/**
 * Scenario 2's durable row with a reader attached (issue 12, `--scenarios=publish-consumed`):
 * confirmed HTTP publishing, `inflight` requests outstanding, to a durable queue from which one
 * reader takes every message at the same time. pubsub: a WebSocket subscriber (SUBSCRIBE, no acks)
 * on the queue; RabbitMQ: publisher confirms, persistent messages, one consumer with basic.qos(1000)
 * acking every message; NATS: acked JetStream publishes to a file stream, one pull consumer acking
 * every message; raw: one subscriber socket on the topic, no disk (the ceiling).
 *
 * The reader is a load process of its own, so the notes give its CPU beside the publisher's. The
 * number is confirmed publishes/s; the notes add what the reader got per second over the same
 * window, and whether it had every confirmed message by the end.
 */
import type { Progress } from "../load/messages.ts";
import { LoadProcess } from "../load/process-handle.ts";
import { PAYLOAD_MARKER } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { failedRow, median, type Row } from "../row.ts";
import type { ConsumedPublishSpec, Target } from "../targets/target.ts";
import { consumedPublishLabel } from "./consumed-publish-label.ts";
import { driveLoad, publishRow, type PublishRun, type PublishSetup, type WindowWatcher } from "./confirmed-publish.ts";
import { repeatClean } from "./repeat.ts";
import { drained } from "./work-queue.ts";

/** Issue 12's consumer window (RabbitMQ's basic.qos, JetStream's max_ack_pending): credit never runs short while acks flow. */
export const CONSUMER_PREFETCH = 1000;
/** The reader reports its count this often: the rate's window edges are this coarse. */
const REPORT_EVERY_MS = 10;
const READY_TIMEOUT_MS = 20_000;
/** The reader outlives publishing, the publisher's own drain (5 s) and the wait for the last deliveries (10 s) by far. */
const READER_SLACK_MS = 90_000;

type ConsumedRun = PublishRun & { deliveredRate: number; delivered: number; role: ConsumedPublishSpec["reader"]["role"] };

export async function consumedPublishScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const scenario = consumedPublishLabel(options.inflight);
  const setup: PublishSetup = { durable: true, transport: "http", inflight: options.inflight, processes: options.publishProcs, readStall: false };
  const rows: Row[] = [];
  for (const target of targets) {
    const { runs, discarded, failure } = await repeatClean(options.runs, () => consumedOnce(target, setup, options));
    if (failure) {
      rows.push(failedRow(scenario, target.name, "req/s", failure));
      continue;
    }
    rows.push(publishRow(scenario, target.name, runs, setup, discarded, readerNotes(runs)));
  }
  return rows;
}

function readerNotes(runs: ConsumedRun[]): { load: string; notes: string[] } {
  const subscriber = runs[0]?.role !== "consumer";
  const verb = subscriber ? "received" : "acked";
  const rate = median(runs.map((run) => run.deliveredRate));
  const missing = Math.max(...runs.map((run) => run.confirmedTotal - run.delivered));
  const extra = Math.max(...runs.map((run) => run.delivered - run.confirmedTotal));
  const notes = [`the ${subscriber ? "subscriber" : "consumer"} ${verb} ${Math.round(rate ?? 0).toLocaleString("en-US")} msg/s over the same window`];
  if (missing > 0) notes.push(`**up to ${missing} confirmed message(s) not ${verb} by the end** (still queued after the drain wait, or lost)`);
  else if (extra > 0) notes.push(`every confirmed message ${verb}, and up to ${extra} more (published, not confirmed)`);
  else notes.push(`every confirmed message ${verb}`);
  return { load: `1 ${subscriber ? "subscriber" : "consumer"} process`, notes };
}

async function consumedOnce(target: Target, setup: PublishSetup, options: BenchOptions): Promise<ConsumedRun> {
  const instance = await target.start();
  try {
    if (!instance.consumedPublishPlan) throw new Error("no confirmed publishing with a reader on this target");
    const plan = await instance.consumedPublishPlan(CONSUMER_PREFETCH);
    try {
      const reader = await openReader(plan.spec.reader, options);
      try {
        const measured = await driveLoad(plan.spec.publish, instance.pid, instance.helperPids?.() ?? [], setup, options, reader);
        await drained(reader.count);
        const last = reader.latest();
        if (reader.failure()) throw new Error(`reader: ${reader.failure()}`);
        if (last.closed) throw new Error(`the broker closed the ${plan.spec.reader.role} connection during the run`);
        if (last.firstError) throw new Error(`${plan.spec.reader.role} error: ${last.firstError}`);
        if (last.total > 0 && !last.firstDelivery?.includes(PAYLOAD_MARKER)) {
          throw new Error(`first delivery lacks the payload: ${last.firstDelivery?.slice(0, 120)}`);
        }
        const note = plan.note ?? "HTTP POST /publish, keep-alive";
        return { ...measured, stall: null, note, deliveredRate: measured.watchedRate ?? 0, delivered: last.total, role: plan.spec.reader.role };
      } finally {
        await reader.stop();
      }
    } finally {
      await plan.cleanup().catch(() => {});
    }
  } finally {
    await instance.stop();
  }
}

type Reader = WindowWatcher & { latest(): Progress; failure(): string | null; stop(): Promise<void> };

/** Starts the reader's load process; resolves once it is subscribed or consuming. */
async function openReader(reader: ConsumedPublishSpec["reader"], options: BenchOptions): Promise<Reader> {
  const deadlineMs = options.warmupMs + options.measureMs + READER_SLACK_MS;
  const load = new LoadProcess(reader.role === "subscriber" ? "subscribers" : "consumers");
  let latest: Progress = { kind: "progress", total: 0, min: 0, closed: 0, firstDelivery: null };
  load.onMessage((message) => {
    if (message.kind === "progress") latest = message;
  });
  if (reader.role === "subscriber") load.send({ kind: "configure", specs: [reader.spec], reportEveryMs: REPORT_EVERY_MS, deadlineMs });
  else load.send({ kind: "configure", role: "consumers", specs: [reader.spec], reportEveryMs: REPORT_EVERY_MS, deadlineMs, limit: null });
  try {
    await load.next("ready", READY_TIMEOUT_MS);
  } catch (error) {
    await load.finish(0);
    throw error;
  }
  // A consumer starts on `go` (basic.consume, JetStream consume); a subscriber is live once ready.
  if (reader.role === "consumer") load.send({ kind: "go" });
  return {
    pid: load.pid,
    count: () => latest.total,
    latest: () => latest,
    failure: () => load.failure,
    async stop() {
      load.send({ kind: "stop" });
      await load.finish(3_000);
    },
  };
}
