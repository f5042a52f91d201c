/**
 * A broker the harness measures. The scenarios ask an instance for plans (what to connect to and
 * what to send, as plain data for the load processes) and never know which broker it is.
 */
import type { ConfirmedPublishSpec, ConnectSpec, ConsumerSpec, FanoutSpec, StreamPublisherSpec, SubscriberSpec } from "../load/specs.ts";
import type { ScenarioName } from "../options.ts";

export type TargetName =
  | "raw"
  | "pubsub"
  | "pubsub-auth"
  | "pubsub-keys"
  | "pubsub-baseline"
  | "pubsub-pg"
  | "pubsub-fsync"
  | "rabbitmq"
  | "nats";

/** A spec for the load processes, and how to undo what preparing it declared on the broker. */
export type Plan<Spec> = { spec: Spec; cleanup(): Promise<void>; /** Shown in the row's notes. */ note?: string };

/** Scenario 5: one publisher streaming into a queue, competing consumers acknowledging. */
export type WorkQueueSpec = { publisher: StreamPublisherSpec; consumers: ConsumerSpec[] };

/**
 * Scenario 2's durable row with a reader attached: confirmed publishing while one reader takes
 * every message. pubsub and raw: a WebSocket subscriber (no acks); RabbitMQ and NATS: a consumer
 * acknowledging every message.
 */
export type ConsumedPublishSpec = {
  publish: ConfirmedPublishSpec;
  reader: { role: "subscriber"; spec: SubscriberSpec } | { role: "consumer"; spec: ConsumerSpec };
};

/** Scenarios 6 and 10: fill a durable queue with confirmed publishes, then drain it with consumers. */
export type BacklogSpec = {
  prefill: ConfirmedPublishSpec;
  /**
   * A consumer of the backlog with this prefetch; called once per phase, one phase at a time, and
   * again after a restart (the spec names where the broker listens now).
   */
  consumer(prefetch: number): Promise<ConsumerSpec>;
  /** Messages in the queue: waiting, and out with consumers unacknowledged (where the broker says). */
  depth?(): Promise<{ ready: number; unacked: number | null }>;
};

/** Scenario 10: the broker stopped and started again on the same data. */
export type Restarted = {
  /** SIGTERM (or `rabbitmqctl stop_app`) → stopped. */
  stoppedMs: number;
  /** When the new start began: the spawn, or `rabbitmqctl start_app` being invoked (performance.now()). */
  startedAt: number;
  /** startedAt → the broker answered: first 200 of GET /ping, or the first AMQP connection accepted. */
  readyMs: number;
  /** How it was done, for the row's notes. */
  note: string;
};

/** Scenario 10: what the broker's data takes on disk. */
export type DiskUsage = { bytes: number; /** What was measured. */ what: string };

/** Scenario 9: many idle subscribers of one queue/topic/subject, and a publisher. */
export type IdleSpec = { publisher: StreamPublisherSpec; subscriber: SubscriberSpec };

/** How the pubsub fan-out is laid out: one queue all subscribers share, or a queue each. */
export type FanoutLayout = "one-queue" | "queue-per-subscriber";

export type TargetContext = {
  /** A fresh temporary directory for this run; removed at the end. */
  workDir: string;
  repoRoot: string;
  /** Overrides how pubsub is started (default: the compiled `dist/pubsub`). */
  pubsubCommand: string[] | null;
  /** How the `pubsub-baseline` target is started (an older build, for before/after); null: no baseline. */
  baselineCommand: string[] | null;
  /** Admin URL of the Postgres the pubsub-pg target creates its databases in. */
  postgresUrl: string;
};

export interface Target {
  readonly name: TargetName;
  /** Null when the target can run here; otherwise the reason its rows are skipped. */
  unavailable(): Promise<string | null>;
  /** One line for the report: what was measured and how it was reached or started. */
  describe(): string;
  /** A fresh instance: for brokers the harness spawns, a new process with an empty data directory. */
  start(options?: StartOptions): Promise<TargetInstance>;
  /** The scenarios this target takes part in (a variant measured where it matters); all if absent. */
  readonly scenarios?: readonly ScenarioName[];
  /** Scenarios that do not apply to this target, and why: their rows say so without running. */
  readonly notApplicable?: Partial<Record<ScenarioName, string>>;
}

export type StartOptions = {
  /** Extra environment for brokers the harness spawns (ignored by services already running). */
  env?: Record<string, string>;
};

export type StallReading = { /** Worst stall within the last 10 s. */ recentMs: number | null; /** Since start. */ maxMs: number | null };

export interface TargetInstance {
  /** The broker's process, for CPU and memory readings; null when unknown. */
  readonly pid: number | null;
  /** Spawn → first 200 of GET /ping; null for brokers the harness does not spawn. */
  readonly readyMs: number | null;
  /** Processes doing the broker's work besides its own (pubsub-pg: Postgres), for CPU readings. */
  helperPids?(): number[];
  /** Publishing that the broker confirms (scenarios 2 and 7); `ws`: pubsub's PUBLISH frames with an id. */
  confirmedPublishPlan?(durable: boolean, transport?: "http" | "ws"): Promise<Plan<ConfirmedPublishSpec>>;
  /** Confirmed HTTP publishing to a durable queue with a reader attached; `prefetch`: the consumer's window, where it has one. */
  consumedPublishPlan?(prefetch: number): Promise<Plan<ConsumedPublishSpec>>;
  /** Every subscriber receives every message (scenarios 3 and 8). */
  /** `batch`: pubsub's subscribers ask for MESSAGES frames [BATCH-1] (pubsub only). */
  fanoutPlan?(subscribers: number, layout?: FanoutLayout, batch?: boolean): Promise<Plan<FanoutSpec>>;
  workQueuePlan?(consumers: number, prefetch: number): Promise<Plan<WorkQueueSpec>>;
  /** `payloadBytes`: the filling publishes' payload size (default: PAYLOAD_BYTES). */
  backlogPlan?(payloadBytes?: number): Promise<Plan<BacklogSpec>>;
  /**
   * Stops the broker and starts it again on the same data; resolves once it answers. `pid` and the
   * plans' consumer specs then refer to the new start. Throws when this target cannot be restarted here.
   */
  restart?(): Promise<Restarted>;
  /** Size of the broker's stored data; null when it cannot be read from here. */
  diskUsage?(): Promise<DiskUsage | null>;
  idlePlan?(): Promise<Plan<IdleSpec>>;
  /** Scenario 11: ways of opening a connection on this broker (with and without AUTH …), each a row of its own. */
  connectPlans?(connections: number): Promise<Array<Plan<ConnectSpec> & { /** The row's target column. */ label: string }>>;
  /** The broker's own event-loop stall readings (GET /metrics/json). */
  stall?(): Promise<StallReading | null>;
  stop(): Promise<void>;
}
