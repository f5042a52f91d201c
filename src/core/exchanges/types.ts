import type { BrokerError } from "../errors.ts";

export type ExchangeKind = "fanout" | "direct" | "topic" | "headers";

/** The default exchange: routes a message to the queue named by its routing key (as in AMQP). */
export const DEFAULT_EXCHANGE = "";

/** What a publisher's header or a binding argument holds: a headers exchange matches on these. */
export type HeaderScalar = string | number | boolean | null;
/**
 * A header's value. Publishers and bindings use scalars; the broker itself adds structured values,
 * as AMQP field tables do: `x-death` is an array of objects (see ../dead-letter.ts). Stored and
 * sent as JSON, like every header; a headers exchange never equals one to a scalar argument, but a
 * `null` argument (presence) matches it.
 */
export type HeaderValue = HeaderScalar | readonly HeaderValue[] | { readonly [name: string]: HeaderValue };
/** A message's headers (named so, not `Headers`, which is the Fetch API's global). */
export type MessageHeaders = Readonly<Record<string, HeaderValue>>;
/** A binding's arguments: scalars only (they are part of the binding's identity). */
export type BindingArgs = Readonly<Record<string, HeaderScalar>>;

export const isHeaderScalar = (value: unknown): value is HeaderScalar =>
  value === null || typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));

export type Binding = {
  readonly exchange: string;
  readonly queue: string;
  /** Routing key or topic pattern; "" when unused (fanout, headers). */
  readonly key: string;
  /** Binding arguments; the headers exchange reads `x-match` and the headers to match. */
  readonly args: BindingArgs;
};

/** What routing looks at: never the payload. */
export type Routable = { readonly routingKey: string; readonly headers: MessageHeaders };

/** The bindings of one exchange, each held once: the only place a binding's identity (bindingId) is kept. */
export type BindingSet = {
  readonly size: number;
  /** True when an equal binding (bindingId) is held. */
  has(binding: Binding): boolean;
  values(): IterableIterator<Binding>;
};
type HeldBindings = BindingSet & {
  /** Holds the binding; false (and nothing changes) when an equal one is held already. */
  add(binding: Binding): boolean;
  /** Lets go of the equal binding and returns the one that was held; undefined when none was. */
  delete(binding: Binding): Binding | undefined;
};

/** What every router keeps its bindings in, so that "the same binding" means one thing everywhere. */
export function bindingSet(): HeldBindings {
  const byId = new Map<string, Binding>();
  return {
    get size() {
      return byId.size;
    },
    has: (binding) => byId.has(bindingId(binding)),
    values: () => byId.values(),
    add(binding) {
      const id = bindingId(binding);
      if (byId.has(id)) return false;
      byId.set(id, binding);
      return true;
    },
    delete(binding) {
      const id = bindingId(binding);
      const held = byId.get(id);
      byId.delete(id);
      return held;
    },
  };
}

/** The bindings of one exchange, indexed the way its type routes. */
export interface Router {
  /** The bindings bound, each once. */
  readonly bindings: BindingSet;
  /** Adds a binding; adding one equal to an existing binding changes nothing. */
  bind(binding: Binding): void;
  /** Removes an equal binding; false when there was none. */
  unbind(binding: Binding): boolean;
  /** Every queue the message reaches, each named once, in no promised order. */
  /** The queues, each once; the caller must not change the array (a router may hand out the same one again). */
  route(message: Routable): readonly string[];
}

/** One exchange type, the way RabbitMQ's exchange-type behaviour is one module each. */
export interface ExchangeType {
  readonly kind: ExchangeKind;
  /** Checks a binding before any side effect; null when it is acceptable. */
  validateBinding(binding: Binding): BrokerError | null;
  createRouter(): Router;
}

/**
 * Binding arguments as JSON with sorted keys: equal arguments give equal text. Part of a binding's
 * identity in memory (bindingId) and in the store (a key column), so it must never change.
 */
export const canonicalArgs = (args: BindingArgs): string =>
  JSON.stringify(Object.fromEntries(Object.entries(args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

/** Two bindings of one exchange are the same binding when queue, key and arguments are equal. */
export const bindingId = (b: Binding): string => `${b.queue}\u0000${b.key}\u0000${canonicalArgs(b.args)}`;
