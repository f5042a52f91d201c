/**
 * The IPC conversation between the orchestrator and a load process.
 *
 * Every load process: receives `configure`, answers `ready` once its connections are open,
 * starts on `go`, and stops by itself at its deadline even if the orchestrator goes away.
 */
import type { ConfirmedPublishSpec, FanoutPublisherSpec, SubscriberSpec } from "./specs.ts";

export type ConfirmedPublishConfig = {
  kind: "configure";
  spec: ConfirmedPublishSpec;
  /** Requests outstanding at once in this process. */
  inflight: number;
  warmupMs: number;
  measureMs: number;
  /** Upper bound on requests, whatever the duration. */
  maxRequests: number;
};

export type FanoutPublisherConfig = {
  kind: "configure";
  spec: FanoutPublisherSpec;
  /** Messages the publisher may be ahead of the slowest subscriber. */
  window: number;
  maxMessages: number;
  /** The process exits by itself this long after `configure`. */
  deadlineMs: number;
};

export type SubscribersConfig = {
  kind: "configure";
  specs: SubscriberSpec[];
  reportEveryMs: number;
  deadlineMs: number;
};

export type ToLoad =
  | ConfirmedPublishConfig
  | FanoutPublisherConfig
  | SubscribersConfig
  /** Fanout publisher: send one message every few ms until `go`, so subscribers prove they are wired. */
  | { kind: "probe" }
  | { kind: "go" }
  /** Fanout publisher: the slowest subscriber has received this many messages. */
  | { kind: "acked"; count: number }
  | { kind: "stop" };

export type ConfirmedPublishResult = {
  kind: "result";
  /** Requests answered 2xx (or confirmed) inside the measurement window. */
  completed: number;
  errors: number;
  firstError: string | null;
  measuredMs: number;
  /** Latency histogram in the shape of bench/load/latency-histogram.ts. */
  latencyBuckets: number[];
};

export type FromLoad =
  | { kind: "ready" }
  | { kind: "failed"; message: string }
  | ConfirmedPublishResult
  /** Fanout subscribers: totals so far; `min` is the slowest subscriber's count. */
  | { kind: "progress"; total: number; min: number; closed: number; firstDelivery: string | null }
  | { kind: "published"; sent: number; resyncs: number };
