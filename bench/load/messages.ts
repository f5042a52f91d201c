/**
 * The IPC conversation between the orchestrator and a load process.
 *
 * Every load process: receives `configure`, answers `ready` once its connections are open,
 * starts on `go`, and stops by itself at its deadline even if the orchestrator goes away.
 */
import type { ConfirmedPublishSpec, ConsumerSpec, StreamPublisherSpec, SubscriberSpec } from "./specs.ts";

export type ConfirmedPublishConfig = {
  kind: "configure";
  spec: ConfirmedPublishSpec;
  /** Requests outstanding at once in this process. */
  inflight: number;
  warmupMs: number;
  measureMs: number;
  /** Upper bound on requests, whatever the duration. */
  maxRequests: number;
  /**
   * Count mode (filling a queue): publish exactly this many, then report; warmupMs + measureMs
   * is then only the time limit.
   */
  total?: number;
};

export type FanoutPublisherConfig = {
  kind: "configure";
  spec: StreamPublisherSpec;
  /** Messages the publisher may be ahead of the slowest subscriber (or of all consumers' acks). */
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
  /** Record publish→deliver latency from the stamp in each payload (see `record`). */
  latency?: boolean;
};

export type ConsumersConfig = {
  kind: "configure";
  role: "consumers";
  specs: ConsumerSpec[];
  reportEveryMs: number;
  deadlineMs: number;
  /** Stop (close every consumer) once this many messages were acknowledged in this process. */
  limit: number | null;
};

export type LatencyPublisherConfig = {
  kind: "configure";
  role: "latency-publisher";
  spec: StreamPublisherSpec;
  /** Messages per second, each sent on its own, stamped with its send time. */
  rate: number;
  durationMs: number;
  deadlineMs: number;
};

export type IdleSubscribersConfig = {
  kind: "configure";
  role: "idle-subscribers";
  spec: SubscriberSpec;
  count: number;
  /** Connections being opened at once. */
  concurrency: number;
  deadlineMs: number;
};

export type ToLoad =
  | ConfirmedPublishConfig
  | FanoutPublisherConfig
  | SubscribersConfig
  | ConsumersConfig
  | LatencyPublisherConfig
  | IdleSubscribersConfig
  /** Publishers: send one message every few ms until `go`, so subscribers prove they are wired. */
  | { kind: "probe" }
  | { kind: "go" }
  /** Fanout publisher: the slowest subscriber has received this many messages. */
  | { kind: "acked"; count: number }
  /** Latency subscribers: record messages stamped at or after this time (µs, see nowUs). */
  | { kind: "record"; fromUs: number }
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

export type Progress = {
  kind: "progress";
  /** Messages received (subscribers) or acknowledged (consumers), over the process's connections. */
  total: number;
  /** The slowest connection's count. */
  min: number;
  closed: number;
  firstDelivery: string | null;
  /** When the counts were read (µs, see nowUs). */
  atUs?: number;
  redelivered?: number;
  firstError?: string | null;
};

export type FromLoad =
  | { kind: "ready" }
  | { kind: "failed"; message: string }
  | ConfirmedPublishResult
  | Progress
  | { kind: "published"; sent: number; resyncs: number; /** Latency publisher: worst lag behind its schedule. */ lagMs?: number }
  /** Latency subscribers, at stop: the histogram of recorded messages. */
  | { kind: "latency"; buckets: number[]; recorded: number; received: number }
  /** Idle subscribers: every connection of this process has received the message stamped `index`. */
  | { kind: "reached"; index: number; atUs: number };
