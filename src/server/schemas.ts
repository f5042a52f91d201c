import { Type as t } from "@sinclair/typebox";
import { userModels } from "./user-models.ts";
import { MAX_PREFETCH } from "../core/limits.ts";
import { DEFAULT_DELIVERY_LIMIT, MAX_MESSAGE_ID_BYTES } from "../core/limits.ts";

/**
 * One source of truth for request and answer shapes: validation, OpenAPI and the client. Plain
 * TypeBox, not Elysia's `t`: Elysia's Integer/Boolean accept numeric and boolean strings ("5",
 * "true"), and we refuse coercion [STRICT-1]. Request models are closed: an unknown field is a 422.
 */
const closed = { additionalProperties: false } as const;
/** [CLUSTER-1] Null outside a cluster. The leader answers (followers forward), so `node` is the leader's name. */
const ClusterView = t.Union(
  [
    t.Null(),
    t.Object({
      name: t.String({ description: "CLUSTER_NAME" }),
      leader: t.String({ description: "The node that holds the database lock and serves every request" }),
      nodes: t.Array(t.Object({ node: t.String(), role: t.Union([t.Literal("leader"), t.Literal("follower")]), url: t.String({ description: "CLUSTER_ADVERTISE_URL" }) }), {
        description: "The nodes heard from over NATS within the last 2 s, the leader first",
      }),
    }),
  ],
  { description: "The cluster this broker is a node of (NATS_URL)" },
);
const HeaderScalar = t.Union([t.String(), t.Number(), t.Boolean(), t.Null()]);
const BindingArgs = t.Record(t.String(), HeaderScalar, { description: "Object of strings, numbers, booleans or null" });
/**
 * Message headers and binding arguments are declared unknown here and checked by parseHeaders /
 * parseBindingArgs (publish-fields.ts), the same functions WebSocket frames go through.
 */
const HeadersInput = t.Unknown({ description: "Object of JSON values; a headers exchange matches the scalar ones" });
const ArgumentsInput = t.Unknown({ description: "Object of strings, numbers, booleans or null (null: the header is present)" });

const Exchange = t.Object({ name: t.String(), type: t.String(), durable: t.Boolean(), bindings: t.Integer() });
const Queue = t.Object({
  name: t.String(),
  durable: t.Boolean(),
  messages: t.Integer({ description: "Messages waiting (ready or delayed)" }),
  delayed: t.Integer({ description: "Of those, published with a delay that has not passed yet" }),
  messages_in_memory: t.Integer({ description: "Of those, held in memory (a durable queue's window, or every message of a transient one)" }),
  messages_on_disk: t.Integer({ description: "Of those, in the store only (durable queues): read back in order as the queue drains" }),
  unacked: t.Integer({ description: "Messages out with consumers, not yet acknowledged" }),
  bytes: t.Integer({ description: "Bytes of the waiting messages (ready or delayed), as max_bytes counts them" }),
  subscribers: t.Integer(),
  consumers: t.Integer(),
  published: t.Integer(),
  delivered: t.Integer(),
  acked: t.Integer(),
  dead_lettered: t.Integer(),
  last_seq: t.Integer(),
  arguments: t.Record(t.String(), t.Union([t.String(), t.Number(), t.Boolean()])),
  owner: t.Optional(t.String({ description: "In a cluster (NATS_URL): the node that holds the queue. For now the leader holds every queue" })),
});
const Binding = t.Object({ exchange_name: t.String(), queue_name: t.String(), key: t.String(), arguments: BindingArgs });

const Message = t.Object({
    seq: t.Integer(),
    id: t.String({ description: "The unique_id" }),
    exchange: t.String(),
    routing_key: t.String(),
    headers: t.Record(t.String(), t.Unknown(), { description: "Dead-lettered messages carry their death history in x-death (RabbitMQ's)" }),
    payload: t.Unknown(),
    timestamp: t.Integer({ description: "When the broker accepted it, ms since the epoch" }),
    message_id: t.Union([t.String(), t.Null()]),
    state: t.Union([t.Literal("ready"), t.Literal("delayed"), t.Literal("unacked")], { description: "Waiting, waiting for its delay, or out with a consumer" }),
    redelivered: t.Boolean(),
    deliveries: t.Integer({ description: "Times handed to a consumer" }),
    deliver_at: t.Union([t.Integer(), t.Null()]),
    expires_at: t.Union([t.Integer(), t.Null()]),
    bytes: t.Integer(),
  });
const pageOf = <T extends ReturnType<typeof t.Object>>(item: T) =>
  t.Object({ items: t.Array(item), total: t.Integer({ description: "All items" }), filtered: t.Integer({ description: "Items matching `name`" }), page: t.Integer(), page_size: t.Integer() });

export const models = {
  Error: t.Object({ error: t.Object({ code: t.String(), message: t.String() }) }),
  Pong: t.Object({ message: t.Literal("PONG") }),
  ExchangeDeclare: t.Object({
    name: t.String({ description: "1-255 bytes of printable UTF-8" }),
    type: t.String({ description: "fanout | direct | topic | headers" }),
    durable: t.Optional(t.Boolean({ default: true, description: "Stored in the database (default true)" })),
  }, closed),
  Exchange,
  Exchanges: t.Array(Exchange),
  QueueDeclare: t.Object({
    name: t.String({ description: "1-255 bytes of printable UTF-8" }),
    durable: t.Optional(t.Boolean({ default: false, description: "Queue and its messages survive restarts" })),
    max_length: t.Optional(t.Integer({ minimum: 0, description: "Most ready messages; see overflow" })),
    max_bytes: t.Optional(t.Integer({ minimum: 0, description: "Most ready message bytes; see overflow" })),
    message_ttl: t.Optional(t.Integer({ minimum: 0, description: "Milliseconds a message may wait, then it is dead-lettered as expired" })),
    overflow: t.Optional(t.Union([t.Literal("drop-head"), t.Literal("reject-publish")], { default: "drop-head" })),
    dead_letter_exchange: t.Optional(t.String({ description: 'Where rejected, expired, dropped and over-delivered messages go ("": the default exchange)' })),
    dead_letter_routing_key: t.Optional(t.String({ description: "Their routing key there (default: their own)" })),
    delivery_limit: t.Optional(t.Integer({ minimum: 1, default: DEFAULT_DELIVERY_LIMIT, description: "Deliveries to consumers before a message is dead-lettered" })),
    history_size: t.Optional(t.Integer({ minimum: 0, description: "Messages retained for SUBSCRIBE since replays" })),
    history_ttl: t.Optional(t.Integer({ minimum: 0, description: "Milliseconds retained messages are kept at most" })),
    history_max_bytes: t.Optional(
      t.Integer({ minimum: 0, description: "Bytes of retained messages kept at most (durable queues, on disk; default 256 MiB). The oldest go first" }),
    ),
    auto_delete: t.Optional(t.Boolean({ description: "Deleted when its last subscriber or consumer leaves" })),
    exclusive: t.Optional(t.Boolean({ description: "Only over WebSocket (DECLARE_QUEUE): refused here" })),
  }, closed),
  Queue,
  Queues: t.Array(Queue),
  BindingRequest: t.Object({
    exchange_name: t.String(),
    queue_name: t.String(),
    key: t.Optional(t.String({ description: "Routing key or topic pattern" })),
    Key: t.Optional(t.String({ description: "The seed's spelling of key" })),
    arguments: t.Optional(ArgumentsInput),
  }, closed),
  Binding,
  Bindings: t.Array(Binding),
  PublishRequest: t.Object({
    exchange_name: t.String({ description: '"" is the default exchange: routes to the queue named by key' }),
    key: t.Optional(t.String()),
    Key: t.Optional(t.String()),
    payload: t.Unknown({ description: "Any JSON value" }),
    headers: t.Optional(HeadersInput),
    ttl: t.Optional(t.Integer({ minimum: 0, description: "Milliseconds the message may wait in a queue" })),
    delay: t.Optional(t.Integer({ minimum: 0, description: "Milliseconds before it may be delivered" })),
    // maxLength counts characters, never more than bytes: a cheap first bound; validateMessageId counts the bytes.
    message_id: t.Optional(t.String({ minLength: 1, maxLength: MAX_MESSAGE_ID_BYTES, description: "1-255 bytes of UTF-8. Publishing the same id again within the dedup window enqueues it once" })),
  }, closed),
  PublishResult: t.Object({
    routed: t.Integer({ description: "Queues the message reached" }),
    durable: t.Integer({ description: "Durable queues among them: committed to disk before this answer" }),
    id: t.String({ description: "The message's unique_id (for a duplicate: the original message's)" }),
    duplicate: t.Boolean({ description: "message_id seen within the dedup window: confirmed, not enqueued again" }),
  }),
  PagedExchanges: pageOf(Exchange),
  PagedQueues: pageOf(Queue),
  PagedBindings: pageOf(Binding),
  Message,
  Peek: t.Object({
    messages: t.Array(Message),
    next_after: t.Union([t.Integer(), t.Null()], { description: "Pass as `after` for the next page; null at the end" }),
  }),
  MoveRequest: t.Object({
    to: t.Optional(t.String({ description: "The queue to move into; without it each message goes back to the queue it last died in (x-death)" })),
    seqs: t.Optional(t.Array(t.Integer({ minimum: 1 }), { maxItems: 10_000, description: "Only these messages; without it every ready message" })),
  }, closed),
  MoveResult: t.Object({
    moved: t.Integer(),
    skipped: t.Integer({ description: "Not moved: no death record, target gone or full, or not ready (with a consumer, delayed)" }),
  }),
  Connections: t.Object({
    connections: t.Array(
      t.Object({
        id: t.String(),
        user: t.Union([t.String(), t.Null()], { description: "Who it authenticated as (guest on loopback without users); null until AUTH" }),
        remote_address: t.Union([t.String(), t.Null()]),
        opened_at: t.Integer(),
        subscriptions: t.Array(t.Object({ queue: t.String() })),
        consumers: t.Array(t.Object({ id: t.String(), queue: t.String(), prefetch: t.Integer(), unacked: t.Integer() })),
        unacked: t.Integer(),
        buffered_bytes: t.Integer({ description: "Written to the socket, not yet sent" }),
      }),
    ),
  }),
  Overview: t.Object({
    version: t.String(),
    node: t.String(),
    uptime_seconds: t.Number(),
    connections: t.Integer(),
    exchanges: t.Integer(),
    queues: t.Integer(),
    bindings: t.Integer(),
    consumers: t.Integer(),
    subscribers: t.Integer(),
    messages_ready: t.Integer(),
    messages_unacked: t.Integer(),
    queued_bytes: t.Integer(),
    max_queued_bytes: t.Integer(),
    store: t.Object({
      backend: t.String(),
      location: t.String({ description: "The database file (SQLite) or Postgres host and database; to administrators only, others read \"(shown to administrators)\"" }),
      status: t.Union([t.Literal("ok"), t.Literal("failing")]),
      last_error: t.Union([t.String(), t.Null()]),
    }),
    event_loop: t.Object({ max_stall_ms: t.Number(), recent_max_stall_ms: t.Number() }),
    totals: t.Object({
      published: t.Integer(),
      routed: t.Integer(),
      unroutable: t.Integer(),
      delivered: t.Integer(),
      acknowledged: t.Integer(),
      redelivered: t.Integer(),
      dead_lettered: t.Integer(),
    }),
    alarms: t.Array(t.Object({ name: t.String(), reason: t.String() })),
    cluster: ClusterView,
  }),
  OverviewHistory: t.Object({
    interval_ms: t.Integer(),
    samples: t.Array(t.Object({
      t: t.Integer(),
      rates: t.Record(t.String(), t.Number(), { description: "Per second: published, routed, unroutable, delivered, acknowledged, redelivered, dead_lettered" }),
      connections: t.Integer(),
      queued_bytes: t.Integer(),
      max_stall_ms: t.Number(),
    })),
  }),
  Health: t.Object({ status: t.Literal("alive") }),
  ...userModels,
  Declared: t.Object({ created: t.Boolean() }),
  Empty: t.Object({}),
  Removed: t.Object({ messages: t.Integer() }),
  Metrics: t.Object({
    version: t.String(),
    node: t.String({ description: "NODE_NAME, or the host name" }),
    uptime_seconds: t.Number(),
    rss_bytes: t.Integer(),
    heap_bytes: t.Integer({ description: "JavaScript heap in use" }),
    cpu: t.Object({ user_seconds: t.Number(), system_seconds: t.Number() }, { description: "CPU time of the process since start" }),
    connections: t.Integer(),
    connections_opened: t.Integer({ description: "WebSocket connections opened since start" }),
    connections_closed: t.Integer(),
    published: t.Integer(),
    delivered: t.Integer(),
    totals: t.Object(
      {
        published: t.Integer(),
        routed: t.Integer({ description: "Copies enqueued: a publish routed to three queues counts three" }),
        unroutable: t.Integer({ description: "Publishes that reached no queue" }),
        delivered: t.Integer({ description: "Deliveries to subscribers and consumers" }),
        acknowledged: t.Integer(),
        redelivered: t.Integer({ description: "Deliveries to consumers marked redelivered" }),
        dead_lettered: t.Object({ expired: t.Integer(), rejected: t.Integer(), maxlen: t.Integer(), delivery_limit: t.Integer() }),
        confirmed: t.Integer({ description: "Publishes that reached a durable queue, answered after their commit" }),
      },
      { description: "Broker-wide counters since start; they never go down (a deleted queue's counts stay in them)" },
    ),
    queued_bytes: t.Integer({ description: "Message bytes held by all queues (MAX_QUEUED_BYTES bounds it)" }),
    max_queued_bytes: t.Integer({ description: "MAX_QUEUED_BYTES" }),
    store: t.Object({
      backend: t.Union([t.Literal("sqlite"), t.Literal("postgres"), t.Literal("memory")]),
      location: t.String({ description: "The database file (SQLite) or Postgres host and database; to administrators only, others read \"(shown to administrators)\"" }),
      commit_latency: t.Object(
        {
          buckets: t.Array(t.Object({ le: t.Number(), count: t.Integer() }), { description: "Cumulative counts per upper bound in seconds (+Inf is count)" }),
          sum_seconds: t.Number(),
          count: t.Integer(),
        },
        { description: "From handing a publish's durable copies to the store to their commit" },
      ),
    }),
    event_loop: t.Object({
      max_stall_ms: t.Number({ description: "Worst event-loop stall since start" }),
      recent_max_stall_ms: t.Number({ description: "Worst stall within the last 10 seconds" }),
      stalls_over_20ms: t.Integer(),
    }),
    disk: t.Object({
      path: t.Union([t.String(), t.Null()], { description: "The directory of the SQLite database (to administrators only, as store.location); null on Postgres (not watched)" }),
      free_bytes: t.Union([t.Integer(), t.Null()], { description: "Bytes free there (df's Available); null if it could not be read" }),
      limit_bytes: t.Integer({ description: "DISK_FREE_LIMIT; 0 when the alarm is off (set to 0, or Postgres)" }),
      alarm: t.Boolean({ description: "free_bytes is below limit_bytes: publishes that reach a durable queue are refused (503 DISK_ALARM)" }),
    }),
    security: t.Object(
      {
        mode: t.String({ description: "none (AUTH=none), guest (loopback, no users) or users" }),
        connections_refused: t.Object({ max_connections: t.Integer(), max_connections_per_address: t.Integer() }),
        publish_rate_refused: t.Integer({ description: "Publishes refused by PUBLISH_RATE_PER_CONNECTION" }),
        auth_failures: t.Integer({ description: "Failed authentications since start" }),
        auth_backoff_refused: t.Integer({ description: "Attempts refused while their address waited after failures" }),
        auth_backoff_tracked: t.Integer({ description: "Addresses the backoff remembers now" }),
        auth_backoff_evicted: t.Integer({ description: "Addresses forgotten to stay within AUTH_BACKOFF_MAX_ADDRESSES" }),
      },
      { description: "Authentication and the limits against abuse" },
    ),
    paging: t.Object(
      {
        reads: t.Integer({ description: "Reads of durable queues' messages from the store into their memory windows" }),
        rows: t.Integer({ description: "Messages those reads brought back" }),
        failures: t.Integer({ description: "Reads that failed (retried)" }),
        max_read_ms: t.Number({ description: "The slowest read since start" }),
      },
      { description: "Durable queues keep a window of their head in memory; the rest is read back from disk as they drain" },
    ),
    checkpoints: t.Object(
      {
        full: t.Integer({ description: "Full checkpoints (every CHECKPOINT_IN_SECONDS): also recent ids and the WAL" }),
        acks: t.Integer({ description: "Ack flushes (every 100 ms while acks come): delivered messages removed from the store" }),
        removed_messages: t.Integer(),
        failures: t.Integer(),
        max_ms: t.Number({ description: "The slowest one since start" }),
      },
      { description: "Removing delivered messages from the store" },
    ),
    cluster: ClusterView,
  }),
  Readiness: t.Object({
    status: t.Union([t.Literal("ready"), t.Literal("not_ready")]),
    alarms: t.Array(t.String(), { description: "Why not ready: shutting_down, store (the database does not answer), disk (RabbitMQ's resource alarm); empty when ready" }),
    message: t.Optional(t.String({ description: "What each alarm refuses, and why (only while one is on)" })),
  }),
};

/** A non-negative integer in a query string (queries are strings; no coercion of "1e3" or " 5"). */
const Digits = (description: string) => t.Optional(t.String({ pattern: "^(0|[1-9][0-9]{0,14})$", description }));
const listParams = {
  page: Digits("Page number, from 1 (any of these parameters makes the answer a page: {items, total, filtered, page, page_size})"),
  page_size: Digits("Items per page, 1-500 (default 50)"),
  name: t.Optional(t.String({ description: "Only items whose name holds this, case-insensitively" })),
  sort: t.Optional(t.String({ description: "A field of the items to sort by (default: name order)" })),
  order: t.Optional(t.Union([t.Literal("asc"), t.Literal("desc")])),
};
export const ListQuery = t.Object(listParams, closed);
export const PeekQuery = t.Object({ after: Digits("Messages with a seq above this (default 0)"), limit: Digits("At most this many, 1-500 (default 50)") }, closed);
export const ConnectionsQuery = t.Object({ queue: t.Optional(t.String({ description: "Only connections subscribed to or consuming from this queue" })) }, closed);

/** Query flags are strings on the wire: exactly "true" or "false". */
const Flag = t.Optional(t.Union([t.Literal("true"), t.Literal("false")]));
export const DeleteQueueQuery = t.Object({ if_unused: Flag, if_empty: Flag }, closed);
export const DeleteExchangeQuery = t.Object({ if_unused: Flag }, closed);
export const BindingQuery = t.Object({ exchange: t.Optional(t.String()), queue: t.Optional(t.String()), ...listParams }, closed);

/** A frame's `id`, echoed in its reply. */
const FrameId = t.Optional(t.Union([t.String(), t.Number()]));
/**
 * Every WebSocket frame's payload has a closed model: an unknown field (`"reqeue": false`) is an
 * ERROR, never ignored [STRICT-2]. The frames that carry a REST body take the same model, plus
 * `id`, so a declaration or a publish gets the same verdict on both transports [FUZZ-8].
 */
const QueueName = t.String({ description: "The queue" });
const Tag = t.Integer({ minimum: 0, description: "The delivery_tag of a MESSAGE this connection received" });
export const frameModels = {
  SubscribeFrame: t.Object(
    {
      queue_name: QueueName,
      since: t.Optional(t.Union([t.Integer({ minimum: 0 }), t.Null()])),
      batch: t.Optional(t.Boolean({ description: "true: the deliveries of one turn come as one MESSAGES frame when there are several (off by default)" })),
      id: FrameId,
    },
    closed,
  ),
  QueueFrame: t.Object({ queue_name: QueueName, id: FrameId }, closed),
  ConsumeFrame: t.Object({ queue_name: QueueName, prefetch: t.Optional(t.Integer({ minimum: 1, maximum: MAX_PREFETCH })), id: FrameId }, closed),
  AckFrame: t.Object({ delivery_tag: Tag, id: FrameId }, closed),
  NackFrame: t.Object({ delivery_tag: Tag, requeue: t.Optional(t.Boolean()), id: FrameId }, closed),
  PingFrame: t.Object({ id: FrameId }, closed),
  AuthFrame: t.Object({ token: t.String({ minLength: 1, maxLength: 16_384, description: "An API key or a JWT" }), id: FrameId }, closed),
  DeclareQueueFrame: t.Object({ ...models.QueueDeclare.properties, name: t.Optional(models.QueueDeclare.properties.name), id: FrameId }, closed),
  PublishFrame: t.Object({ ...models.PublishRequest.properties, id: FrameId }, closed),
};
