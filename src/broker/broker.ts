import { BrokerFailure, ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import type { Binding, Headers } from "../core/exchanges/types.ts";
import type { Message } from "../core/message.ts";
import { validateRoutingKey } from "../core/names.ts";
import type { Queue } from "../core/queue.ts";
import { Topology, type BindingSpec, type ExchangeSpec, type QueueSpec } from "../core/topology.ts";
import type { Store, StoredMessage } from "../store/store.ts";
import type { Fanout } from "./fanout.ts";
import { deliveryFrame } from "./frames.ts";
import { bindingView, exchangeView, queueView, type BindingView, type ExchangeView, type QueueView } from "./views.ts";

/** Messages handed to subscribers per turn of the event loop while a backlog drains. */
const DRAIN_BATCH = 512;
/** Bytes per drain turn; keeps one turn short even with large payloads. */
const DRAIN_BATCH_BYTES = 1 << 20;
/** When a subscriber is backpressured, the backlog waits this long for a drain before pushing on. */
const DRAIN_RETRY_MS = 50;

export type BrokerDeps = {
  store: Store;
  fanout: Fanout;
  now: () => number;
  newId: () => string;
  checkpointMs: number;
  log?: (line: string) => void;
};

export type PublishRequest = { exchange: string; routingKey: string; body: string; headers: Headers };
export type PublishResult = { routed: number; durable: number; id: string };

/**
 * Where core, store and delivery meet: publish → route → enqueue → commit → deliver.
 * [CONFIRM-1] A publish that reached a durable queue resolves only after store.append committed.
 */
export class Broker {
  private readonly topology = new Topology();
  /** Per durable queue: delivered messages up to this seq are already removed from the store. */
  private readonly checkpointedThrough = new Map<string, number>();
  private readonly draining = new Set<string>();
  private readonly drainTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private serialTail: Promise<unknown> = Promise.resolve();
  private checkpointTimer: ReturnType<typeof setInterval> | undefined;
  private checkpointing: Promise<void> | undefined;
  private closing = false;
  published = 0;
  delivered = 0;

  private constructor(private readonly deps: BrokerDeps) {}

  static async start(deps: BrokerDeps): Promise<Broker> {
    const broker = new Broker(deps);
    await broker.restore();
    broker.checkpointTimer = setInterval(() => void broker.checkpoint(), deps.checkpointMs);
    broker.checkpointTimer.unref?.();
    return broker;
  }

  private async restore(): Promise<void> {
    const snapshot = await this.deps.store.load();
    for (const e of snapshot.exchanges) this.topology.applyDeclareExchange(e.name, e.kind, true);
    for (const q of snapshot.queues) this.topology.applyDeclareQueue(q.name, true, q.lastSeq);
    for (const b of snapshot.bindings) {
      const checked = this.topology.checkBinding(b);
      if (checked.ok) this.topology.applyBind(checked.value.exchange, checked.value.binding);
      else this.deps.log?.(`skipping stored binding ${b.exchange} -> ${b.queue}: ${checked.error.message}`);
    }
    for (const m of snapshot.messages) this.topology.queues.get(m.queue)?.restore(m);
    for (const queue of this.topology.queues.values()) this.checkpointedThrough.set(queue.name, queue.deliveredSeq);
  }

  // ---- topology ------------------------------------------------------------------------------

  declareExchange(spec: ExchangeSpec): Promise<Result<{ created: boolean }>> {
    return this.serial(async () => {
      const checked = this.topology.checkDeclareExchange(spec);
      if (!checked.ok) return checked;
      if (checked.value.exists) return ok({ created: false });
      const name = spec.name as string;
      const durable = spec.durable ?? true;
      if (durable) await this.deps.store.putExchange({ name, kind: checked.value.kind });
      this.topology.applyDeclareExchange(name, checked.value.kind, durable);
      return ok({ created: true });
    });
  }

  deleteExchange(name: string, ifUnused = false): Promise<Result<void>> {
    return this.serial(async () => {
      const checked = this.topology.checkDeleteExchange(name, ifUnused);
      if (!checked.ok) return checked;
      if (checked.value.durable) await this.deps.store.deleteExchange(name);
      this.topology.applyDeleteExchange(name);
      return ok(undefined);
    });
  }

  declareQueue(spec: QueueSpec): Promise<Result<{ created: boolean }>> {
    return this.serial(async () => {
      const checked = this.topology.checkDeclareQueue(spec);
      if (!checked.ok) return checked;
      if (checked.value.exists) return ok({ created: false });
      const name = spec.name as string;
      const durable = spec.durable ?? false;
      if (durable) await this.deps.store.putQueue({ name, lastSeq: 0 });
      this.topology.applyDeclareQueue(name, durable);
      if (durable) this.checkpointedThrough.set(name, 0);
      return ok({ created: true });
    });
  }

  deleteQueue(name: string, guards: { ifUnused?: boolean; ifEmpty?: boolean } = {}): Promise<Result<{ messages: number }>> {
    return this.serial(async () => {
      const checked = this.topology.checkDeleteQueue(name, guards);
      if (!checked.ok) return checked;
      const queue = checked.value;
      if (queue.durable) await this.deps.store.deleteQueue(name);
      const messages = queue.depth;
      this.topology.applyDeleteQueue(name);
      this.checkpointedThrough.delete(name);
      this.stopDraining(name);
      this.deps.fanout.detachAll(name, "queue deleted");
      return ok({ messages });
    });
  }

  purgeQueue(name: string): Promise<Result<{ messages: number }>> {
    return this.serial(async () => {
      const queue = this.topology.queues.get(name);
      if (queue === undefined) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
      if (queue.durable) {
        // [SEQ-1] Record the last seq before the messages go: otherwise a crash before the next
        // checkpoint would restart the queue's seqs below ones already handed out.
        await this.deps.store.checkpoint(new Map(), new Map([[name, queue.lastSeq]]));
        await this.deps.store.purge(name);
      }
      const messages = queue.purge();
      if (queue.durable) this.checkpointedThrough.set(name, queue.deliveredSeq);
      return ok({ messages });
    });
  }

  bind(spec: BindingSpec): Promise<Result<{ created: boolean }>> {
    return this.serial(async () => {
      const checked = this.topology.checkBinding(spec);
      if (!checked.ok) return checked;
      const { binding, exchange, queue, exists } = checked.value;
      if (exists) return ok({ created: false });
      if (exchange.durable && queue.durable) await this.deps.store.putBinding(binding);
      this.topology.applyBind(exchange, binding);
      return ok({ created: true });
    });
  }

  unbind(spec: BindingSpec): Promise<Result<void>> {
    return this.serial(async () => {
      const checked = this.topology.checkBinding(spec);
      if (!checked.ok) return checked;
      const { binding, exchange, queue, exists } = checked.value;
      if (!exists) {
        return fail(ErrorCodes.BINDING_NOT_FOUND, `no binding from "${exchange.name}" to "${queue.name}" with that key and arguments`);
      }
      if (exchange.durable && queue.durable) await this.deps.store.deleteBinding(binding);
      this.topology.applyUnbind(exchange, binding);
      return ok(undefined);
    });
  }

  // ---- reading -------------------------------------------------------------------------------

  exchanges(): ExchangeView[] {
    return [...this.topology.exchanges.values()].map(exchangeView);
  }
  exchange(name: string): Result<ExchangeView> {
    const e = this.topology.exchanges.get(name);
    return e ? ok(exchangeView(e)) : fail(ErrorCodes.EXCHANGE_NOT_FOUND, `exchange "${name}" does not exist`);
  }
  queues(): QueueView[] {
    return [...this.topology.queues.values()].map(queueView);
  }
  queue(name: string): Result<QueueView> {
    const q = this.topology.queues.get(name);
    return q ? ok(queueView(q)) : fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
  }
  bindings(filter: { exchange?: string; queue?: string } = {}): BindingView[] {
    return this.topology
      .bindings()
      .filter((b) => (filter.exchange === undefined || b.exchange === filter.exchange) && (filter.queue === undefined || b.queue === filter.queue))
      .map(bindingView);
  }

  // ---- publishing ----------------------------------------------------------------------------

  async publish(request: PublishRequest): Promise<Result<PublishResult>> {
    if (this.closing) return fail(ErrorCodes.SHUTTING_DOWN, "the broker is shutting down");
    if (typeof request.body !== "string") return fail(ErrorCodes.VALIDATION, "payload is required (any JSON value)");
    const keyError = validateRoutingKey(request.routingKey);
    if (keyError) return { ok: false, error: keyError };
    const routed = this.topology.route(request.exchange, request.routingKey, request.headers);
    if (!routed.ok) return routed;
    const message: Message = {
      id: this.deps.newId(),
      exchange: request.exchange,
      routingKey: request.routingKey,
      headers: request.headers,
      body: request.body,
      timestamp: this.deps.now(),
    };
    const rows: StoredMessage[] = [];
    for (const queue of routed.value) {
      const queued = queue.enqueue(message);
      if (queue.durable) rows.push({ queue: queue.name, seq: queued.seq, message });
    }
    this.published++;
    // Delivery may go ahead of the commit (as in AMQP); the answer may not. [CONFIRM-1]
    for (const queue of routed.value) this.deliver(queue);
    if (rows.length > 0) {
      try {
        await this.deps.store.append(rows);
      } catch (error) {
        if (error instanceof BrokerFailure) return { ok: false, error: error.error };
        throw error;
      }
    }
    return ok({ routed: routed.value.length, durable: rows.length, id: message.id });
  }

  // ---- subscribers ---------------------------------------------------------------------------

  /** Checks that the queue exists; the transport subscribes the socket, then calls attached(). */
  canSubscribe(name: string): Result<void> {
    return this.topology.queues.has(name) ? ok(undefined) : fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
  }

  /** A subscriber joined: the queue's backlog, if any, starts flowing to its subscribers, in order. */
  attached(name: string): void {
    const queue = this.topology.queues.get(name);
    if (queue === undefined) return;
    queue.subscribers++;
    this.deliver(queue);
  }

  detached(name: string): void {
    const queue = this.topology.queues.get(name);
    if (queue !== undefined && queue.subscribers > 0) queue.subscribers--;
  }

  /** Some subscriber of the queue caught up: resume a paused backlog at once. */
  drained(name: string): void {
    const timer = this.drainTimers.get(name);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.drainTimers.delete(name);
    this.draining.delete(name);
    const queue = this.topology.queues.get(name);
    if (queue !== undefined) this.deliver(queue);
  }

  private deliver(queue: Queue): void {
    if (queue.subscribers === 0 || queue.depth === 0 || this.draining.has(queue.name)) return;
    const batch = queue.take(DRAIN_BATCH, DRAIN_BATCH_BYTES);
    const queueJson = JSON.stringify(queue.name);
    let pressured = false;
    for (const queued of batch) {
      if (!this.deps.fanout.send(queue.name, deliveryFrame(queueJson, queued))) pressured = true;
    }
    this.delivered += batch.length;
    if (queue.depth === 0) return;
    // A backlog: continue next turn so publishes and other sockets are served in between.
    this.draining.add(queue.name);
    const resume = () => {
      this.drainTimers.delete(queue.name);
      this.draining.delete(queue.name);
      if (this.topology.queues.get(queue.name) === queue) this.deliver(queue);
    };
    if (pressured) this.drainTimers.set(queue.name, setTimeout(resume, DRAIN_RETRY_MS));
    else setImmediate(resume);
  }

  private stopDraining(name: string): void {
    const timer = this.drainTimers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.drainTimers.delete(name);
    this.draining.delete(name);
  }

  // ---- durability ----------------------------------------------------------------------------

  /** Removes delivered messages from the store and records last seqs. Never what makes a publish durable. */
  checkpoint(): Promise<void> {
    this.checkpointing ??= this.runCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(): Promise<void> {
    const removals = new Map<string, [number, number][]>();
    const lastSeqs = new Map<string, number>();
    for (const queue of this.topology.queues.values()) {
      if (!queue.durable) continue;
      const done = this.checkpointedThrough.get(queue.name) ?? 0;
      if (queue.deliveredSeq > done) removals.set(queue.name, [[done + 1, queue.deliveredSeq]]);
      lastSeqs.set(queue.name, queue.lastSeq);
    }
    try {
      await this.serial(() => this.deps.store.checkpoint(removals, lastSeqs));
      for (const [name, ranges] of removals) {
        if (this.topology.queues.has(name)) this.checkpointedThrough.set(name, ranges[0]![1]);
      }
    } catch (error) {
      this.deps.log?.(`checkpoint failed, will retry: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Refuses new publishes, checkpoints and closes the store. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.checkpointTimer);
    for (const name of [...this.drainTimers.keys()]) this.stopDraining(name);
    await this.checkpoint();
    await this.serialTail.catch(() => undefined);
    await this.deps.store.close();
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Topology changes and checkpoints run one at a time, so a check still holds when it is applied. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.serialTail.then(operation, operation);
    this.serialTail = run.catch(() => undefined);
    return run;
  }
}

export type { BindingView, ExchangeView, QueueView, Binding };
