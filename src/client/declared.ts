import { call, type HttpOptions } from "./http.ts";
import type { BindingDeclare, Declared, ExchangeDeclare, QueueDeclare } from "./wire.ts";

/**
 * What a client declared over REST — exchanges, queues, bindings — kept to declare again after a
 * reconnect (ClientOptions.redeclare), as RabbitMQ's clients recover topology: a broker restart
 * loses transient queues and their bindings, and a feed bound to one would otherwise stay silent.
 * Only successful declarations are kept; a delete through the client forgets what it removed.
 */
export class DeclaredTopology {
  private readonly exchanges = new Map<string, ExchangeDeclare>();
  private readonly queues = new Map<string, QueueDeclare>();
  private readonly bindings = new Map<string, BindingDeclare>();

  get empty(): boolean {
    return this.exchanges.size + this.queues.size + this.bindings.size === 0;
  }

  exchangeDeclared(exchange: ExchangeDeclare): void {
    this.exchanges.set(exchange.name, exchange);
  }

  /** The broker removes the exchange's bindings with it. */
  exchangeDeleted(name: string): void {
    this.exchanges.delete(name);
    for (const [id, binding] of this.bindings) if (binding.exchange_name === name) this.bindings.delete(id);
  }

  queueDeclared(queue: QueueDeclare): void {
    this.queues.set(queue.name, queue);
  }

  queueDeleted(name: string): void {
    this.queues.delete(name);
    for (const [id, binding] of this.bindings) if (binding.queue_name === name) this.bindings.delete(id);
  }

  bindingDeclared(binding: BindingDeclare): void {
    this.bindings.set(bindingIdOf(binding), binding);
  }

  bindingDeleted(binding: BindingDeclare): void {
    this.bindings.delete(bindingIdOf(binding));
  }

  /**
   * Declares everything again, exchanges first, then queues, then bindings, each in the order
   * first declared. A refusal (another client declared the queue otherwise meanwhile: `Q001`) is
   * reported and the rest goes on. Resolves with the queues the broker made anew (`created`):
   * their seqs start over.
   */
  async redeclare(http: HttpOptions, report: (error: unknown) => void): Promise<Set<string>> {
    const created = new Set<string>();
    const attempt = async (path: string, body: unknown): Promise<Declared | undefined> => {
      try {
        return await call<Declared>(http, "POST", path, { body });
      } catch (error) {
        report(error);
        return undefined;
      }
    };
    for (const exchange of [...this.exchanges.values()]) await attempt("/exchanges", exchange);
    for (const queue of [...this.queues.values()]) {
      if ((await attempt("/queues", queue))?.created) created.add(queue.name);
    }
    for (const binding of [...this.bindings.values()]) await attempt("/bindings", binding);
    return created;
  }
}

/** A binding's identity, as the broker's: exchange, queue, key and arguments (key order aside). */
function bindingIdOf(binding: BindingDeclare): string {
  const args = Object.entries(binding.arguments ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([binding.exchange_name, binding.queue_name, binding.key ?? "", args]);
}
