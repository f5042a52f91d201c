/**
 * A broker the harness measures. The scenarios ask an instance for plans (what to connect to and
 * what to send, as plain data for the load processes) and never know which broker it is.
 */
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";

export type TargetName = "raw" | "pubsub" | "rabbitmq" | "nats";

/** A spec for the load processes, and how to undo what preparing it declared on the broker. */
export type Plan<Spec> = { spec: Spec; cleanup(): Promise<void>; /** Shown in the row's notes. */ note?: string };

export type TargetContext = {
  /** A fresh temporary directory for this run; removed at the end. */
  workDir: string;
  repoRoot: string;
  /** Overrides how pubsub is started (default: the compiled `dist/pubsub`). */
  pubsubCommand: string[] | null;
};

export interface Target {
  readonly name: TargetName;
  /** Null when the target can run here; otherwise the reason its rows are skipped. */
  unavailable(): Promise<string | null>;
  /** One line for the report: what was measured and how it was reached or started. */
  describe(): string;
  /** A fresh instance: for brokers the harness spawns, a new process with an empty data directory. */
  start(): Promise<TargetInstance>;
}

export interface TargetInstance {
  /** The broker's process, for CPU and memory readings; null when unknown. */
  readonly pid: number | null;
  /** Spawn → first 200 of GET /ping; null for brokers the harness does not spawn. */
  readonly readyMs: number | null;
  /** Publishing that the broker confirms (scenario 2); absent when the target has no such thing. */
  confirmedPublishPlan?(durable: boolean): Promise<Plan<ConfirmedPublishSpec>>;
  /** Every subscriber receives every message (scenario 3). */
  fanoutPlan?(subscribers: number): Promise<Plan<FanoutSpec>>;
  /** The worst event-loop stall since start, from the broker's own metrics. */
  maxEventLoopStallMs?(): Promise<number | null>;
  stop(): Promise<void>;
}
