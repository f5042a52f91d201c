import type { DeclaredTopology } from "./declared.ts";
import { call, pathOf, type HttpOptions } from "./http.ts";
import type { BindingDeclare, Binding, Declared, Exchange, ExchangeDeclare, Queue, QueueDeclare, Removed } from "./wire.ts";

/** Exchanges over REST; every call rejects with a PubsubError carrying the broker's code. */
export type ExchangesApi = {
  /** Idempotent: `{created: false}` when it exists alike; 409 `E001` when it exists otherwise. */
  declare(exchange: ExchangeDeclare): Promise<Declared>;
  list(): Promise<Exchange[]>;
  /** 404 `E002` when there is none. */
  get(name: string): Promise<Exchange>;
  /** Removes it and its bindings; with `ifUnused`, 409 `E003` while it has bindings. */
  delete(name: string, options?: { ifUnused?: boolean }): Promise<void>;
};

export type QueuesApi = {
  /** Idempotent: `{created: false}` when it exists alike; 409 `Q001` when it exists otherwise. */
  declare(queue: QueueDeclare): Promise<Declared>;
  list(): Promise<Queue[]>;
  /** 404 `Q002` when there is none. */
  get(name: string): Promise<Queue>;
  /** Resolves with the number of messages dropped; guards answer 409 `Q004` (in use) / `Q003` (not empty). */
  delete(name: string, options?: { ifUnused?: boolean; ifEmpty?: boolean }): Promise<Removed>;
  /** Drops every waiting message. */
  purge(name: string): Promise<Removed>;
};

export type BindingsApi = {
  /** Binding twice with the same key and arguments is a no-op (`created: false`). */
  declare(binding: BindingDeclare): Promise<Declared>;
  list(filter?: { exchange?: string; queue?: string }): Promise<Binding[]>;
  /** 404 `B001` when there is no such binding. */
  delete(binding: BindingDeclare): Promise<void>;
};

/** `declared`, when given, keeps what was declared to declare again after a reconnect. */
export function exchangesApi(http: HttpOptions, declared?: DeclaredTopology): ExchangesApi {
  return {
    declare: async (exchange) => {
      const answer = await call<Declared>(http, "POST", "/exchanges", { body: exchange });
      declared?.exchangeDeclared(exchange);
      return answer;
    },
    list: () => call(http, "GET", "/exchanges"),
    get: async (name) => call(http, "GET", pathOf("exchange", name)),
    delete: async (name, options = {}) => {
      await call(http, "DELETE", pathOf("exchange", name), { query: { if_unused: options.ifUnused } });
      declared?.exchangeDeleted(name);
    },
  };
}

export function queuesApi(http: HttpOptions, declared?: DeclaredTopology): QueuesApi {
  return {
    declare: async (queue) => {
      const answer = await call<Declared>(http, "POST", "/queues", { body: queue });
      declared?.queueDeclared(queue);
      return answer;
    },
    list: () => call(http, "GET", "/queues"),
    // async: a name no path can carry rejects like any other refusal, it does not throw.
    get: async (name) => call(http, "GET", pathOf("queue", name)),
    delete: async (name, options = {}) => {
      const answer = await call<Removed>(http, "DELETE", pathOf("queue", name), { query: { if_unused: options.ifUnused, if_empty: options.ifEmpty } });
      declared?.queueDeleted(name);
      return answer;
    },
    purge: async (name) => call(http, "DELETE", `${pathOf("queue", name)}/messages`),
  };
}

export function bindingsApi(http: HttpOptions, declared?: DeclaredTopology): BindingsApi {
  return {
    declare: async (binding) => {
      const answer = await call<Declared>(http, "POST", "/bindings", { body: binding });
      declared?.bindingDeclared(binding);
      return answer;
    },
    list: (filter = {}) => call(http, "GET", "/bindings", { query: filter }),
    delete: async (binding) => {
      await call(http, "DELETE", "/bindings", { body: binding });
      declared?.bindingDeleted(binding);
    },
  };
}
