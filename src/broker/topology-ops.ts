import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import type { QueueState } from "../core/queue.ts";
import { DEFAULT_QUEUE_ARGS, withDefaultHistory } from "../core/queue-args.ts";
import type { BindingSpec, ExchangeSpec, QueueSpec } from "../core/topology.ts";
import type { Dispatch } from "./dispatch.ts";
import { queueOptions, type BrokerState } from "./state.ts";
import { bindingView, exchangeView, queueView, type BindingView, type ExchangeView, type QueueView } from "./views.ts";

/**
 * Topology operations: declare and delete exchanges and queues, bind and unbind, purge, and the
 * management views. Each is checked, then stored (durable things only), then applied in memory,
 * one at a time (state.serial), so a check still holds when it is applied.
 */
export class TopologyOps {
  constructor(
    private readonly state: BrokerState,
    private readonly dispatch: Dispatch,
  ) {}

  declareExchange(spec: ExchangeSpec): Promise<Result<{ created: boolean }>> {
    const { topology, deps } = this.state;
    return this.state.serial.run(async () => {
      const checked = topology.checkDeclareExchange(spec);
      if (!checked.ok) return checked;
      if (checked.value.exists) return ok({ created: false });
      const name = spec.name as string;
      const durable = spec.durable ?? true;
      if (durable) await deps.store.putExchange({ name, kind: checked.value.kind });
      topology.applyDeclareExchange(name, checked.value.kind, durable);
      return ok({ created: true });
    });
  }

  deleteExchange(name: string, ifUnused = false): Promise<Result<void>> {
    const { topology, deps } = this.state;
    return this.state.serial.run(async () => {
      const checked = topology.checkDeleteExchange(name, ifUnused);
      if (!checked.ok) return checked;
      if (checked.value.durable) await deps.store.deleteExchange(name);
      topology.applyDeleteExchange(name);
      return ok(undefined);
    });
  }

  declareQueue(spec: QueueSpec): Promise<Result<{ created: boolean; name: string }>> {
    const { topology, deps } = this.state;
    return this.state.serial.run(async () => {
      const durable = spec.durable ?? false;
      // [SLOW-2] Compared, stored and shown with its history default filled in.
      const args = withDefaultHistory(spec.args ?? DEFAULT_QUEUE_ARGS, durable);
      if (args.exclusive && spec.owner === undefined) {
        return fail(ErrorCodes.VALIDATION, "an exclusive queue belongs to a connection: declare it over WebSocket (DECLARE_QUEUE)");
      }
      if (args.exclusive && durable) return fail(ErrorCodes.VALIDATION, "an exclusive queue cannot be durable: it goes with its connection");
      const owner = args.exclusive ? spec.owner : undefined;
      const checked = topology.checkDeclareQueue({ name: spec.name, durable, args, owner, serverNamed: spec.serverNamed });
      if (!checked.ok) return checked;
      const name = spec.name as string;
      if (checked.value.exists) return ok({ created: false, name });
      if (durable) await deps.store.putQueue({ name, lastSeq: 0, args });
      topology.applyDeclareQueue(name, queueOptions(this.state, durable, args, owner));
      return ok({ created: true, name });
    });
  }

  /** `owner`: the connection asking, if any (HTTP is none): an exclusive queue is only its owner's. [EXCL-1] */
  deleteQueue(name: string, guards: { ifUnused?: boolean; ifEmpty?: boolean } = {}, owner?: string): Promise<Result<{ messages: number }>> {
    return this.state.serial.run(async () => {
      const checked = this.state.topology.checkDeleteQueue(name, guards, owner);
      if (!checked.ok) return checked;
      return ok({ messages: await this.removeQueue(checked.value, "queue deleted") });
    });
  }

  /** Inside serial: store first, then memory, then tell whoever was attached. */
  private async removeQueue(queue: QueueState, reason: string): Promise<number> {
    const { deps } = this.state;
    if (queue.durable) await deps.store.deleteQueue(queue.name);
    const messages = queue.depth;
    this.state.topology.applyDeleteQueue(queue.name);
    const { retired } = this.state.stats;
    retired.delivered += queue.delivered;
    retired.acked += queue.acked;
    // Publishes routed here while the delete was in flight wrote rows behind it: a second delete,
    // in line after them and before any new queue of that name, sweeps them.
    if (queue.durable) {
      deps.store.deleteQueue(queue.name).catch((error) => deps.log?.(`removing rows left by queue "${queue.name}" failed: ${String(error)}`));
    }
    queue.release();
    this.dispatch.stopDraining(queue.name);
    this.state.sink.detachAll(queue.name, reason);
    return messages;
  }

  purgeQueue(name: string, owner?: string): Promise<Result<{ messages: number }>> {
    const { topology, deps } = this.state;
    return this.state.serial.run(async () => {
      const owned = topology.checkQueueOwner(name, owner);
      if (!owned.ok) return owned;
      const queue = owned.value;
      if (queue.durable) {
        // [SEQ-1] Record the last seq before the messages go: otherwise a crash before the next
        // checkpoint would restart the queue's seqs below ones already handed out. [HIST-2] And
        // what left since the last checkpoint first, so the purge keeps what was delivered.
        const removals = new Map<string, [number, number][]>();
        const retains = new Map<string, [number, number][]>();
        this.dispatch.run(queue, queue.checkpoint(), undefined, { removals, retains });
        try {
          await deps.store.checkpoint(removals, new Map([[name, queue.lastSeq]]), deps.clock.now(), "acks", { retains, retention: new Map() });
        } catch (error) {
          for (const ranges of removals.values()) queue.retryRemovals(ranges);
          for (const ranges of retains.values()) queue.retryRemovals(ranges, true);
          throw error;
        }
        await deps.store.purge(name);
      }
      return ok({ messages: queue.purge() });
    });
  }

  bind(spec: BindingSpec): Promise<Result<{ created: boolean }>> {
    const { topology, deps } = this.state;
    return this.state.serial.run(async () => {
      const checked = topology.checkBinding(spec);
      if (!checked.ok) return checked;
      const { binding, exchange, queue, exists } = checked.value;
      if (exists) return ok({ created: false });
      if (exchange.durable && queue.durable) await deps.store.putBinding(binding);
      topology.applyBind(exchange, binding);
      return ok({ created: true });
    });
  }

  unbind(spec: BindingSpec): Promise<Result<void>> {
    const { topology, deps } = this.state;
    return this.state.serial.run(async () => {
      const checked = topology.checkBinding(spec);
      if (!checked.ok) return checked;
      const { binding, exchange, queue, exists } = checked.value;
      if (!exists) {
        return fail(ErrorCodes.BINDING_NOT_FOUND, `no binding from "${exchange.name}" to "${queue.name}" with that key and arguments`);
      }
      if (exchange.durable && queue.durable) await deps.store.deleteBinding(binding);
      topology.applyUnbind(exchange, binding);
      return ok(undefined);
    });
  }

  /** A connection closed: exclusive queues it owned go with it. */
  connectionClosed(owner: string): void {
    for (const queue of [...this.state.topology.queues.values()]) {
      if (queue.owner !== owner) continue;
      void this.state.serial.run(async () => {
        if (this.state.topology.queues.get(queue.name) === queue) await this.removeQueue(queue, "its exclusive connection closed");
      });
    }
  }

  /** An auto-delete queue's last user left: it goes, unless someone attached again meanwhile. */
  autoDelete(queue: QueueState): void {
    void this.state.serial.run(async () => {
      const current = this.state.topology.queues.get(queue.name);
      if (current === queue && queue.subscribers + queue.consumerCount === 0) await this.removeQueue(queue, "auto-delete: its last user left");
    });
  }

  // ---- views ---------------------------------------------------------------------------------

  exchanges(): ExchangeView[] {
    return [...this.state.topology.exchanges.values()].map(exchangeView);
  }
  exchange(name: string): Result<ExchangeView> {
    const e = this.state.topology.exchanges.get(name);
    return e ? ok(exchangeView(e)) : fail(ErrorCodes.EXCHANGE_NOT_FOUND, `exchange "${name}" does not exist`);
  }
  queues(): QueueView[] {
    return [...this.state.topology.queues.values()].map(queueView);
  }
  queue(name: string): Result<QueueView> {
    const q = this.state.topology.queues.get(name);
    return q ? ok(queueView(q)) : fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
  }
  bindings(filter: { exchange?: string; queue?: string } = {}): BindingView[] {
    return this.state.topology
      .bindings()
      .filter((b) => (filter.exchange === undefined || b.exchange === filter.exchange) && (filter.queue === undefined || b.queue === filter.queue))
      .map(bindingView);
  }
}
