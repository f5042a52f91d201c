import { ErrorCodes, fail, ok, type BrokerError, type Result } from "./errors.ts";
import { exchangeTypes, isExchangeKind } from "./exchanges/index.ts";
import { DEFAULT_EXCHANGE, isHeaderScalar, type Binding, type BindingArgs, type BindingSet, type ExchangeKind, type MessageHeaders, type Router } from "./exchanges/types.ts";
import { isReservedName, validateBindingKey, validateName } from "./names.ts";
import { QueueState, type QueueOptions } from "./queue.ts";
import { DEFAULT_QUEUE_ARGS, queueArgsView, sameArgs, type QueueArgs } from "./queue-args.ts";

export type Exchange = {
  readonly name: string;
  readonly kind: ExchangeKind;
  readonly durable: boolean;
  readonly router: Router;
  /** The router's own bindings: identity is kept there only. */
  readonly bindings: BindingSet;
};

export type ExchangeSpec = { name: unknown; type: unknown; durable?: boolean };
/** `serverNamed`: the broker made the name (amq.gen-…), the one way a new queue may carry the reserved prefix. */
export type QueueSpec = { name: unknown; durable?: boolean; args?: QueueArgs; owner?: string; serverNamed?: boolean };
export type BindingSpec = { exchange: unknown; queue: unknown; key?: string; args?: MessageHeaders };

export { DEFAULT_EXCHANGE };

/**
 * Exchanges, queues and bindings in memory. Each change is checked first (`check*`, no side
 * effect) and applied after (`apply*`), so the broker can persist in between and apply only what
 * the store accepted.
 */
export class Topology {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, QueueState>();

  checkDeclareExchange(spec: ExchangeSpec): Result<{ exists: boolean; kind: ExchangeKind }> {
    const nameError = validateName("exchange", spec.name);
    if (nameError) return { ok: false, error: nameError };
    if (!isExchangeKind(spec.type)) {
      return fail(
        ErrorCodes.EXCHANGE_TYPE_UNKNOWN,
        `exchange type must be one of fanout, direct, topic, headers; got ${JSON.stringify(spec.type)}`,
      );
    }
    const existing = this.exchanges.get(spec.name as string);
    if (existing === undefined && isReservedName(spec.name as string)) {
      return fail(ErrorCodes.EXCHANGE_RESERVED, `exchange name "${spec.name as string}" starts with the reserved prefix "amq."`);
    }
    if (existing === undefined) return ok({ exists: false, kind: spec.type });
    const durable = spec.durable ?? true;
    if (existing.kind !== spec.type || existing.durable !== durable) {
      return fail(
        ErrorCodes.EXCHANGE_EXISTS,
        `exchange "${existing.name}" already exists as ${existing.durable ? "durable" : "transient"} ${existing.kind}`,
      );
    }
    return ok({ exists: true, kind: existing.kind });
  }

  applyDeclareExchange(name: string, kind: ExchangeKind, durable: boolean): Exchange {
    const router = exchangeTypes[kind].createRouter();
    const exchange: Exchange = { name, kind, durable, router, bindings: router.bindings };
    this.exchanges.set(name, exchange);
    return exchange;
  }

  checkDeleteExchange(name: string, ifUnused: boolean): Result<Exchange> {
    const exchange = this.exchanges.get(name);
    if (exchange === undefined) return fail(ErrorCodes.EXCHANGE_NOT_FOUND, `exchange "${name}" does not exist`);
    if (ifUnused && exchange.bindings.size > 0) {
      return fail(ErrorCodes.EXCHANGE_IN_USE, `exchange "${name}" has ${exchange.bindings.size} binding(s)`);
    }
    return ok(exchange);
  }

  applyDeleteExchange(name: string): void {
    this.exchanges.delete(name);
  }

  checkDeclareQueue(spec: QueueSpec): Result<{ exists: boolean }> {
    const nameError = validateName("queue", spec.name);
    if (nameError) return { ok: false, error: nameError };
    const existing = this.queues.get(spec.name as string);
    if (existing === undefined && spec.serverNamed !== true && isReservedName(spec.name as string)) {
      return fail(ErrorCodes.QUEUE_RESERVED, `queue name "${spec.name as string}" starts with the reserved prefix "amq." (declare without a name to get a server-named one)`);
    }
    if (existing === undefined) return ok({ exists: false });
    if (existing.owner !== undefined && existing.owner !== spec.owner) {
      return fail(ErrorCodes.QUEUE_EXCLUSIVE, `queue "${existing.name}" is exclusive to another connection`);
    }
    if (existing.durable !== (spec.durable ?? false) || !sameArgs(existing.args, spec.args ?? DEFAULT_QUEUE_ARGS)) {
      return fail(
        ErrorCodes.QUEUE_EXISTS,
        `queue "${existing.name}" already exists as ${existing.durable ? "durable" : "transient"} with arguments ${JSON.stringify(queueArgsView(existing.args))}`,
      );
    }
    return ok({ exists: true });
  }

  applyDeclareQueue(name: string, options: QueueOptions, lastSeq = 0): QueueState {
    const queue = new QueueState(name, options, lastSeq);
    this.queues.set(name, queue);
    return queue;
  }

  /** `owner`: the connection asking; [EXCL-1] an exclusive queue is only its owner's to delete. */
  checkDeleteQueue(name: string, guards: { ifUnused?: boolean; ifEmpty?: boolean }, owner?: string): Result<QueueState> {
    const queue = this.checkQueueOwner(name, owner);
    if (!queue.ok) return queue;
    return this.checkGuards(queue.value, guards);
  }

  /**
   * [EXCL-1] The queue, if `owner` may delete or purge it: an exclusive queue belongs to the
   * connection that declared it (RabbitMQ answers RESOURCE_LOCKED; we answer Q006).
   */
  checkQueueOwner(name: string, owner?: string): Result<QueueState> {
    const queue = this.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
    if (queue.owner !== undefined && queue.owner !== owner) {
      return fail(ErrorCodes.QUEUE_EXCLUSIVE, `queue "${name}" is exclusive to another connection; only that connection may delete or purge it (it goes when that connection closes)`);
    }
    return ok(queue);
  }

  private checkGuards(queue: QueueState, guards: { ifUnused?: boolean; ifEmpty?: boolean }): Result<QueueState> {
    const name = queue.name;
    if (guards.ifUnused && queue.subscribers + queue.consumerCount > 0) {
      return fail(ErrorCodes.QUEUE_IN_USE, `queue "${name}" has ${queue.subscribers} subscriber(s) and ${queue.consumerCount} consumer(s)`);
    }
    if (guards.ifEmpty && queue.depth > 0) {
      return fail(ErrorCodes.QUEUE_NOT_EMPTY, `queue "${name}" holds ${queue.depth} message(s)`);
    }
    return ok(queue);
  }

  /** Removes the queue and every binding to it; returns the bindings removed. */
  applyDeleteQueue(name: string): Binding[] {
    this.queues.delete(name);
    const removed: Binding[] = [];
    for (const exchange of this.exchanges.values()) {
      for (const binding of [...exchange.bindings.values()]) {
        if (binding.queue !== name) continue;
        exchange.router.unbind(binding);
        removed.push(binding);
      }
    }
    return removed;
  }

  checkBinding(spec: BindingSpec): Result<{ binding: Binding; exchange: Exchange; queue: QueueState; exists: boolean }> {
    const exchangeName = validateName("exchange", spec.exchange);
    if (exchangeName) return { ok: false, error: exchangeName };
    const queueName = validateName("queue", spec.queue);
    if (queueName) return { ok: false, error: queueName };
    // A bad key is an invalid binding (B002), as the exchange type's own check below also says.
    const keyError = validateBindingKey(spec.key ?? "");
    if (keyError) return { ok: false, error: keyError };
    const exchange = this.exchanges.get(spec.exchange as string);
    if (exchange === undefined) {
      return fail(ErrorCodes.EXCHANGE_NOT_FOUND, `exchange "${String(spec.exchange)}" does not exist`);
    }
    const queue = this.queues.get(spec.queue as string);
    if (queue === undefined) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${String(spec.queue)}" does not exist`);
    const args = spec.args ?? {};
    for (const [name, value] of Object.entries(args)) {
      // Every type's bindings, not only headers': arguments are part of a binding's identity.
      if (!isHeaderScalar(value)) return fail(ErrorCodes.BINDING_INVALID, `binding argument "${name}" must be a string, number, boolean or null`);
    }
    const binding: Binding = { exchange: exchange.name, queue: queue.name, key: spec.key ?? "", args: args as BindingArgs };
    const invalid: BrokerError | null = exchangeTypes[exchange.kind].validateBinding(binding);
    if (invalid) return { ok: false, error: invalid };
    return ok({ binding, exchange, queue, exists: exchange.bindings.has(binding) });
  }

  applyBind(exchange: Exchange, binding: Binding): void {
    exchange.router.bind(binding);
  }

  applyUnbind(exchange: Exchange, binding: Binding): void {
    exchange.router.unbind(binding);
  }

  /** Queues a message reaches; E002 when the exchange does not exist. */
  route(exchangeName: string, routingKey: string, headers: MessageHeaders): Result<QueueState[]> {
    if (exchangeName === DEFAULT_EXCHANGE) {
      const queue = this.queues.get(routingKey);
      return ok(queue === undefined ? [] : [queue]);
    }
    const exchange = this.exchanges.get(exchangeName);
    if (exchange === undefined) return fail(ErrorCodes.EXCHANGE_NOT_FOUND, `exchange "${exchangeName}" does not exist`);
    const names = exchange.router.route({ routingKey, headers });
    const queues: QueueState[] = [];
    for (const name of names) {
      const queue = this.queues.get(name);
      if (queue !== undefined) queues.push(queue);
    }
    return ok(queues);
  }

  bindings(): Binding[] {
    const all: Binding[] = [];
    for (const exchange of this.exchanges.values()) all.push(...exchange.bindings.values());
    return all;
  }
}
