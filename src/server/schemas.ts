import { t } from "elysia";

/** One source of truth for request and answer shapes: validation, OpenAPI and (later) the client. */
const HeaderValue = t.Union([t.String(), t.Number(), t.Boolean(), t.Null()]);
const Headers = t.Record(t.String(), HeaderValue, { description: "Flat object of scalar values" });
/**
 * Request headers and binding arguments are declared unknown and checked by parseHeaders in the
 * handler: Elysia's normaliser turns a string, array or number into an object before a Record
 * schema is checked ("ab" became {"0":"a","1":"b"}, 5 became {}, which binds to every message).
 */
const HeadersInput = t.Unknown({ description: "Flat object of strings, numbers, booleans or null" });

const Exchange = t.Object({ name: t.String(), type: t.String(), durable: t.Boolean(), bindings: t.Integer() });
const Queue = t.Object({
  name: t.String(),
  durable: t.Boolean(),
  messages: t.Integer({ description: "Messages waiting for a subscriber" }),
  bytes: t.Integer(),
  subscribers: t.Integer(),
  published: t.Integer(),
  delivered: t.Integer(),
  last_seq: t.Integer(),
});
const Binding = t.Object({ exchange_name: t.String(), queue_name: t.String(), key: t.String(), arguments: Headers });

export const models = {
  Error: t.Object({ error: t.Object({ code: t.String(), message: t.String() }) }),
  Pong: t.Object({ message: t.Literal("PONG") }),
  ExchangeDeclare: t.Object({
    name: t.String({ description: "1-255 bytes of printable UTF-8" }),
    type: t.String({ description: "fanout | direct | topic | headers" }),
    durable: t.Optional(t.Boolean({ default: true, description: "Stored in the database (default true)" })),
  }),
  Exchange,
  Exchanges: t.Array(Exchange),
  QueueDeclare: t.Object({
    name: t.String({ description: "1-255 bytes of printable UTF-8" }),
    durable: t.Optional(t.Boolean({ default: false, description: "Queue and its messages survive restarts" })),
  }),
  Queue,
  Queues: t.Array(Queue),
  BindingRequest: t.Object({
    exchange_name: t.String(),
    queue_name: t.String(),
    key: t.Optional(t.String({ description: "Routing key or topic pattern" })),
    Key: t.Optional(t.String({ description: "The seed's spelling of key" })),
    arguments: t.Optional(HeadersInput),
  }),
  Binding,
  Bindings: t.Array(Binding),
  PublishRequest: t.Object({
    exchange_name: t.String({ description: '"" is the default exchange: routes to the queue named by key' }),
    key: t.Optional(t.String()),
    Key: t.Optional(t.String()),
    payload: t.Unknown({ description: "Any JSON value" }),
    headers: t.Optional(HeadersInput),
  }),
  PublishResult: t.Object({
    routed: t.Integer({ description: "Queues the message reached" }),
    durable: t.Integer({ description: "Durable queues among them: committed to disk before this answer" }),
    id: t.String({ description: "The message's unique_id" }),
  }),
  Declared: t.Object({ created: t.Boolean() }),
  Removed: t.Object({ messages: t.Integer() }),
  Metrics: t.Object({
    uptime_seconds: t.Number(),
    rss_bytes: t.Integer(),
    connections: t.Integer(),
    published: t.Integer(),
    delivered: t.Integer(),
    event_loop: t.Object({ max_stall_ms: t.Number(), stalls_over_20ms: t.Integer() }),
  }),
};

export const DeleteQueueQuery = t.Object({
  if_unused: t.Optional(t.BooleanString()),
  if_empty: t.Optional(t.BooleanString()),
});
export const DeleteExchangeQuery = t.Object({ if_unused: t.Optional(t.BooleanString()) });
export const BindingQuery = t.Object({ exchange: t.Optional(t.String()), queue: t.Optional(t.String()) });
