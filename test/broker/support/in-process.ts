import { Broker, type BrokerDeps } from "../../../src/broker/broker.ts";
import { MemoryDatabase, MemoryStore } from "../../../src/store/memory/memory-store.ts";
import { FakeClock, ManualScheduler } from "./manual-scheduler.ts";
import { RecordingSink } from "./recording-sink.ts";

export type InProcess = {
  broker: Broker<RecordingSink>;
  sink: RecordingSink;
  store: MemoryStore;
  database: MemoryDatabase;
  clock: FakeClock;
  scheduler: ManualScheduler;
  /** What the broker logged. */
  logged: string[];
};

/**
 * The broker in this process: a memory store, a fake clock, a manual scheduler and a recording
 * sink. Nothing runs unless the test advances the scheduler; nothing sleeps. Pass `database` to
 * start again on what an earlier broker left (a restart).
 */
export async function startInProcess(options: Partial<Pick<BrokerDeps, "ackTimeoutMs" | "checkpointMs" | "dedupWindowMs" | "maxQueuedBytes" | "replayMaxBytes">> & { database?: MemoryDatabase; clock?: FakeClock } = {}): Promise<InProcess> {
  const database = options.database ?? new MemoryDatabase();
  const store = new MemoryStore(database);
  const clock = options.clock ?? new FakeClock();
  const scheduler = new ManualScheduler(clock);
  const logged: string[] = [];
  let ids = 0;
  const broker = await Broker.start(
    {
      store,
      clock,
      scheduler,
      newId: () => `m${++ids}`,
      checkpointMs: options.checkpointMs ?? 1_000,
      ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
      dedupWindowMs: options.dedupWindowMs ?? 60_000,
      maxQueuedBytes: options.maxQueuedBytes ?? 1 << 30,
      ...(options.replayMaxBytes === undefined ? {} : { replayMaxBytes: options.replayMaxBytes }),
      log: (line) => logged.push(line),
    },
    () => new RecordingSink(),
  );
  return { broker, sink: broker.sink, store, database, clock, scheduler, logged };
}

/** Publishes one JSON body; fails the test if the broker refuses it. */
export async function publish(broker: Broker, exchange: string, routingKey: string, body: unknown, extra: { ttl?: number; delay?: number; messageId?: string } = {}): Promise<void> {
  const result = await broker.publish({ exchange, routingKey, body: JSON.stringify(body), headers: {}, ...extra });
  if (!result.ok) throw new Error(`publish refused: ${result.error.code} ${result.error.message}`);
}

/** Resolves once every promise callback queued so far has run (store writes resolve there). */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
