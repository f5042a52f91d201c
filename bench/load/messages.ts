/**
 * The IPC conversation between the orchestrator and a load process.
 *
 * Every load process: receives `configure`, answers `ready` once its connections are open,
 * starts on `go`, and stops by itself at its deadline even if the orchestrator goes away.
 */
import type { ConfirmedPublishSpec, ConnectSpec, ConsumerSpec, StreamPublisherSpec, SubscriberSpec } from "./specs.ts";

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
  /**
   * Count mode: an error answer (a refusal such as 503 FLOW_CONTROL) is counted and the message
   * published again, so that `total` are confirmed in the end; `maxRequests` still bounds the attempts.
   */
  retryRefused?: boolean;
  /** After an error, the slot waits this long before its next publish (default 10 ms). */
  errorBackoffMs?: number;
  /** Count mode: stop early once nothing was confirmed for this long (a broker refusing everything). */
  giveUpAfterMs?: number;
  /** Send `fill-progress` this often (off when absent). */
  reportEveryMs?: number;
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

export type ConnectConfig = {
  kind: "configure";
  role: "connect";
  spec: ConnectSpec;
  /** Connections opened (and closed) after the first, timed one. */
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
  | ConnectConfig
  /** Publishers: send one message every few ms until `go`, so subscribers prove they are wired. */
  | { kind: "probe" }
  | { kind: "go" }
  /** Latency publisher: send this many messages at once (warming the broker's JIT), then `warmed`. */
  | { kind: "warm"; count: number }
  /** Fanout publisher: the slowest subscriber has received this many messages. */
  | { kind: "acked"; count: number }
  /** Latency subscribers: record messages stamped at or after this time (µs, see nowUs). */
  | { kind: "record"; fromUs: number }
  | { kind: "stop" };

export type ConfirmedPublishResult = {
  kind: "result";
  /** Requests answered 2xx (or confirmed) inside the measurement window. */
  completed: number;
  /** Every request answered 2xx (or confirmed), warm-up and drain included: what a reader should get. */
  confirmedTotal?: number;
  errors: number;
  firstError: string | null;
  measuredMs: number;
  /** Latency histogram in the shape of bench/load/latency-histogram.ts. */
  latencyBuckets: number[];
  /** Errors by kind: the broker's error code (FLOW_CONTROL, DISK_ALARM …) or the message's start. */
  errorKinds?: Record<string, number>;
  /** Why a count-mode run ended before `total` was confirmed: "time limit", "gave up …". */
  endedEarly?: string | null;
  /** Count mode: ms from `go` to the last confirm (a fill that stalled ends well after it). */
  lastConfirmMs?: number;
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

export type ConnectResult = {
  kind: "connected";
  /** The first connection, opened alone before `ready`: includes any first-use cost (an argon2id verify). */
  firstMs: number;
  opened: number;
  failed: number;
  firstError: string | null;
  /** `go` → the last of `count` closed. */
  elapsedMs: number;
  /** Open → ready per connection, in the shape of latency-histogram.ts. */
  latencyBuckets: number[];
};

export type FromLoad =
  | { kind: "ready" }
  | { kind: "failed"; message: string }
  | ConfirmedPublishResult
  /** Confirmed publisher in count mode, every `reportEveryMs`: how far the fill got. */
  | { kind: "fill-progress"; confirmed: number; refused: number; atUs: number }
  | Progress
  /** Latency publisher: the warm-up burst is out; `sent` counts everything sent so far. */
  | { kind: "warmed"; sent: number }
  | { kind: "published"; sent: number; resyncs: number; /** Latency publisher: worst lag behind its schedule. */ lagMs?: number }
  /** Latency subscribers, at stop: the histogram of recorded messages. */
  | { kind: "latency"; buckets: number[]; recorded: number; received: number }
  /** Connect, after `go`: the first connection alone (opened before `ready`), then `count` more. */
  | ConnectResult
  /** Idle subscribers: every connection of this process has received the message stamped `index`. */
  | { kind: "reached"; index: number; atUs: number };
