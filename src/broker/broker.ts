import type { Result } from "../core/errors.ts";
import type { Entry } from "../core/queue.ts";
import type { BindingSpec, ExchangeSpec, QueueSpec } from "../core/topology.ts";
import { Attachments, type SubscribeResult } from "./attachments.ts";
import type { DeliverySink } from "./delivery-sink.ts";
import { Dispatch } from "./dispatch.ts";
import { Inspection, type MoveRequest, type MoveResult, type PeekResult } from "./inspection.ts";
import { Durability, type CheckpointStats } from "./durability.ts";
import { ACK_FLUSH_MS, DELIVERY_RECORD_MS, TICK_MS } from "./limits.ts";
import { Publishing, type PublishRequest, type PublishResult } from "./publishing.ts";
import type { Cancel } from "./scheduler.ts";
import { Paging, type PagingStats } from "./paging.ts";
import { newState, type BrokerDeps, type BrokerState } from "./state.ts";
import { TopologyOps } from "./topology-ops.ts";
import type { LatencyHistogram } from "./stats.ts";
import type { BindingView, ExchangeView, QueueView } from "./views.ts";

/** Broker-wide counters since start; they never go down (see stats.ts). */
export type BrokerTotals = {
  published: number;
  routed: number;
  unroutable: number;
  delivered: number;
  acked: number;
  redelivered: number;
  deadLettered: Readonly<Record<"expired" | "rejected" | "maxlen" | "delivery_limit", number>>;
  confirmed: number;
};

/**
 * Where core, store and delivery meet: publish → route → enqueue → commit → deliver. Owns the
 * state its parts share and wires them: topology-ops.ts, publishing.ts, attachments.ts (subscribers
 * and consumers), dispatch.ts (effects, delivery, ticks), durability.ts (restore, checkpoint, close).
 * [CONFIRM-1] A publish that reached a durable queue resolves only after store.append committed.
 */
export class Broker<S extends DeliverySink = DeliverySink> {
  /** Where deliveries go; made for this broker by `connect` (Broker.start), before anything is restored. */
  readonly sink: S;
  private readonly state: BrokerState;
  private readonly topologyOps: TopologyOps;
  private readonly publishing: Publishing;
  private readonly attachments: Attachments;
  private readonly dispatch: Dispatch;
  private readonly durability: Durability;
  private readonly pager: Paging;
  private readonly inspection: Inspection;
  private timers: readonly Cancel[] = [];

  private constructor(deps: BrokerDeps, connect: (broker: Broker) => S) {
    this.sink = connect(this);
    this.state = newState(deps, this.sink);
    this.dispatch = new Dispatch(this.state, {
      deadLetter: (queue, entry, reason, now) => this.publishing.deadLetter(queue, entry, reason, now),
      autoDelete: (queue) => this.topologyOps.autoDelete(queue),
      readAhead: (queue) => this.pager.readAhead(queue),
    });
    this.pager = new Paging(this.state, () => this.dispatch);
    this.topologyOps = new TopologyOps(this.state, this.dispatch);
    this.publishing = new Publishing(this.state, this.dispatch);
    this.attachments = new Attachments(this.state, this.dispatch);
    this.durability = new Durability(this.state, this.dispatch);
    this.inspection = new Inspection(this.state, this.publishing, this.pager);
  }

  /**
   * Restores from the store, then starts the periodic work. `connect` makes the delivery sink for
   * this broker (the transport carries commands to it and deliveries from it): called once, first,
   * and it must not call the broker yet.
   */
  static async start<S extends DeliverySink>(deps: BrokerDeps, connect: (broker: Broker) => S): Promise<Broker<S>> {
    const broker = new Broker(deps, connect);
    await broker.durability.restore();
    // [PAGE-1] Each durable queue's head is read before serving (one page each); the rest as its window drains.
    await Promise.all([...broker.state.topology.queues.values()].map((queue) => broker.pager.readAhead(queue)));
    const { scheduler, checkpointMs } = deps;
    broker.timers = [
      scheduler.every(checkpointMs, () => void broker.checkpoint()),
      // [ACK-1] Acks reach the store within ACK_FLUSH_MS, not only at the checkpoint.
      scheduler.every(Math.min(ACK_FLUSH_MS, checkpointMs), () => void broker.durability.checkpoint("acks")),
      scheduler.every(TICK_MS, () => broker.dispatch.tick()),
      scheduler.every(DELIVERY_RECORD_MS, () => void broker.durability.recordDeliveries()),
    ];
    return broker;
  }

  // ---- topology (topology-ops.ts) -------------------------------------------------------------

  declareExchange(spec: ExchangeSpec): Promise<Result<{ created: boolean }>> {
    return this.topologyOps.declareExchange(spec);
  }
  deleteExchange(name: string, ifUnused = false): Promise<Result<void>> {
    return this.topologyOps.deleteExchange(name, ifUnused);
  }
  declareQueue(spec: QueueSpec): Promise<Result<{ created: boolean; name: string }>> {
    return this.topologyOps.declareQueue(spec);
  }
  /** `owner`: the connection asking, if any (HTTP is none): an exclusive queue is only its owner's. [EXCL-1] */
  deleteQueue(name: string, guards: { ifUnused?: boolean; ifEmpty?: boolean } = {}, owner?: string): Promise<Result<{ messages: number }>> {
    return this.topologyOps.deleteQueue(name, guards, owner);
  }
  purgeQueue(name: string, owner?: string): Promise<Result<{ messages: number }>> {
    return this.topologyOps.purgeQueue(name, owner);
  }
  bind(spec: BindingSpec): Promise<Result<{ created: boolean }>> {
    return this.topologyOps.bind(spec);
  }
  unbind(spec: BindingSpec): Promise<Result<void>> {
    return this.topologyOps.unbind(spec);
  }
  /** A connection closed: exclusive queues it owned go with it. */
  connectionClosed(owner: string): void {
    this.topologyOps.connectionClosed(owner);
  }

  exchanges(): ExchangeView[] {
    return this.topologyOps.exchanges();
  }
  exchange(name: string): Result<ExchangeView> {
    return this.topologyOps.exchange(name);
  }
  queues(): QueueView[] {
    return this.topologyOps.queues();
  }
  queue(name: string): Result<QueueView> {
    return this.topologyOps.queue(name);
  }
  bindings(filter: { exchange?: string; queue?: string } = {}): BindingView[] {
    return this.topologyOps.bindings(filter);
  }
  /** Peek: messages after seq `after`, changing nothing. */
  peek(name: string, after: number, limit: number): Promise<Result<PeekResult>> {
    return this.inspection.peek(name, after, limit);
  }
  /** Moves ready messages into another queue, or back where they died (redrive). */
  move(name: string, request: MoveRequest): Promise<Result<MoveResult>> {
    return this.inspection.move(name, request);
  }
  /** Checkpoints, full and [ACK-1] acks-only. */
  get checkpoints(): CheckpointStats {
    return this.durability.stats;
  }
  /** [PAGE-1] Reads of durable queues' messages from the store. */
  get paging(): PagingStats {
    return this.pager.stats;
  }
  get queuedBytes(): number {
    return this.state.gauge.bytes;
  }
  get delivered(): number {
    let n = this.state.stats.retired.delivered;
    for (const q of this.state.topology.queues.values()) n += q.delivered;
    return n;
  }
  get totals(): BrokerTotals {
    const { stats } = this.state;
    let acked = stats.retired.acked;
    for (const q of this.state.topology.queues.values()) acked += q.acked;
    return {
      published: this.publishing.published,
      routed: stats.routed,
      unroutable: stats.unroutable,
      delivered: this.delivered,
      acked,
      redelivered: stats.redelivered,
      deadLettered: { ...stats.deadLettered },
      confirmed: stats.confirmed,
    };
  }
  /** Time from handing a publish's durable copies to the store to their commit. */
  get commitLatency(): LatencyHistogram {
    return this.state.stats.commitLatency;
  }
  get published(): number {
    return this.publishing.published;
  }

  // ---- publishing (publishing.ts) -------------------------------------------------------------

  /** Answers at once (no promise) when the message reached no durable queue; else once it is committed. */
  publish(request: PublishRequest): Result<PublishResult> | Promise<Result<PublishResult>> {
    return this.publishing.publish(request);
  }

  // ---- subscribers and consumers (attachments.ts) ---------------------------------------------

  /** [HIST-2] A promise when a durable queue's history must be read from the store first (only with `since`). */
  subscribe(name: string, owner: string): Result<SubscribeResult>;
  subscribe(name: string, owner: string, since?: number, ready?: (result: Result<SubscribeResult>) => void): Result<SubscribeResult> | Promise<Result<SubscribeResult>>;
  subscribe(name: string, owner: string, since?: number, ready?: (result: Result<SubscribeResult>) => void): Result<SubscribeResult> | Promise<Result<SubscribeResult>> {
    return this.attachments.subscribe(name, owner, since, ready);
  }
  /** `since`: the seq the subscriber resumed after (it has everything up to it). */
  attached(name: string, since?: number): void {
    this.attachments.attached(name, since);
  }
  detached(name: string): void {
    this.attachments.detached(name);
  }
  consume(consumer: string, name: string, owner: string, prefetch: number, accepted?: () => void): Result<void> {
    return this.attachments.consume(consumer, name, owner, prefetch, accepted);
  }
  cancel(consumer: string, name: string): void {
    this.attachments.cancel(consumer, name);
  }
  ack(consumer: string, name: string, tag: number): Result<void> {
    return this.attachments.ack(consumer, name, tag);
  }
  nack(consumer: string, name: string, tag: number, requeue: boolean): Result<void> {
    return this.attachments.nack(consumer, name, tag, requeue);
  }
  /** Some subscriber of the queue caught up: resume a paused backlog at once. */
  drained(name: string): void {
    this.dispatch.drained(name);
  }

  // ---- durability (durability.ts) -------------------------------------------------------------

  /** Removes messages that left their queues from the store and records last seqs. Never what makes a publish durable. */
  checkpoint(): Promise<void> {
    return this.durability.checkpoint();
  }

  /** Refuses new publishes, stops deliveries, checkpoints, marks what may have been delivered as redelivered and closes the store. */
  close(): Promise<void> {
    for (const cancel of this.timers) cancel();
    return this.durability.close();
  }

  get isClosing(): boolean {
    return this.state.closing;
  }
}

export type { BindingView, BrokerDeps, MoveRequest, MoveResult, PeekResult, DeliverySink, Entry, ExchangeView, PublishRequest, PublishResult, QueueView, SubscribeResult };
