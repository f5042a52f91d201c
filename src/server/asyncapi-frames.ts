import type { CloseCodes } from "./ws-session.ts";
import type { ClientFrameType, FrameErrorCode, ServerFrameName } from "./ws-schemas.ts";

/**
 * The words of the AsyncAPI document: what each frame does and an example of it. The shapes are
 * not here but in ws-schemas.ts; the tables are typed by its frame types, so a frame (or an error
 * or close code) added there does not compile until it is described here. The test holds every
 * example against the document's schema and sends the client examples to a real broker.
 */

export type Example = { name: string; summary: string; payload: Record<string, unknown> };
export type FrameText = { title: string; summary: string; description?: string; examples: Example[] };
export type ClientFrameText = FrameText & { replies: ServerFrameName[] };

export const clientFrameText: { [T in ClientFrameType]: ClientFrameText } = {
  SUBSCRIBE: {
    title: "Subscribe",
    summary: "Receive every message of a queue: first what it holds, in order, then live",
    description:
      "Each subscriber of a queue gets every message (the seed's behaviour); send several to subscribe to several queues. " +
      "With `since` (a seq) it resumes: first the retained messages after that seq (see the queue's `history_size`), then live, " +
      "with no gap and no duplicate; if history no longer reaches back, a GAP frame says so first. `since: null` is no since. " +
      "No reply unless the frame has an `id` (the seed sent none).",
    replies: ["Subscribed", "Gap", "Error"],
    examples: [
      { name: "subscribe", summary: "Subscribe, asking for a SUBSCRIBED reply", payload: { type: "SUBSCRIBE", payload: { queue_name: "billing", id: 1 } } },
      { name: "resume", summary: "Resume after the last seq received", payload: { type: "SUBSCRIBE", payload: { queue_name: "feed", since: 41 } } },
      { name: "batched", summary: "Subscribe, receiving each turn's deliveries as one MESSAGES frame", payload: { type: "SUBSCRIBE", payload: { queue_name: "feed", batch: true } } },
    ],
  },
  UNSUBSCRIBE: {
    title: "Unsubscribe",
    summary: "Stop receiving a queue's messages",
    description: "ERROR `S001` if this connection does not subscribe to it.",
    replies: ["Unsubscribed", "Error"],
    examples: [{ name: "unsubscribe", summary: "Unsubscribe", payload: { type: "UNSUBSCRIBE", payload: { queue_name: "billing", id: 2 } } }],
  },
  CONSUME: {
    title: "Consume",
    summary: "Become a competing consumer of a queue: its messages are shared among its consumers",
    description:
      "At most `prefetch` deliveries are outstanding (unacknowledged) at a time. CONSUMING comes before any delivery, and only for a queue that took the consumer.",
    replies: ["Consuming", "Error"],
    examples: [{ name: "consume", summary: "Consume ten at a time", payload: { type: "CONSUME", payload: { queue_name: "jobs", prefetch: 10, id: "c1" } } }],
  },
  CANCEL: {
    title: "Cancel",
    summary: "Stop consuming; the unacknowledged messages go back to the queue",
    description: "ERROR `S001` if this connection does not consume from it.",
    replies: ["Cancelled", "Error"],
    examples: [{ name: "cancel", summary: "Cancel a consumer", payload: { type: "CANCEL", payload: { queue_name: "jobs", id: "c2" } } }],
  },
  ACK: {
    title: "Acknowledge",
    summary: "The delivery is done: the message leaves the queue",
    description: "An unknown or repeated tag is ERROR `D001`; the socket stays open.",
    replies: ["Acked", "Error"],
    examples: [{ name: "ack", summary: "Acknowledge delivery 7", payload: { type: "ACK", payload: { delivery_tag: 7 } } }],
  },
  NACK: {
    title: "Reject",
    summary: "Give a delivery back: requeued at the head of the queue (default), or dead-lettered as rejected",
    replies: ["Nacked", "Error"],
    examples: [{ name: "dead-letter", summary: "Reject without requeue: dead-lettered", payload: { type: "NACK", payload: { delivery_tag: 7, requeue: false, id: 8 } } }],
  },
  DECLARE_QUEUE: {
    title: "Declare a queue",
    summary: "Declare a queue with any queue argument (as POST /queues); without a name the broker makes one (amq.gen-…)",
    description:
      "`exclusive` (WebSocket only): the queue belongs to this connection and goes with it; other connections may not subscribe, consume, delete or purge it (`Q006`). " +
      "Always answered with QUEUE_DECLARED or ERROR, with or without an `id`.",
    replies: ["QueueDeclared", "Error"],
    examples: [
      { name: "server-named", summary: "A private, temporary queue named by the broker", payload: { type: "DECLARE_QUEUE", payload: { exclusive: true, auto_delete: true, id: "d1" } } },
      {
        name: "durable",
        summary: "A durable queue that dead-letters after five deliveries",
        payload: { type: "DECLARE_QUEUE", payload: { name: "jobs", durable: true, delivery_limit: 5, dead_letter_exchange: "", dead_letter_routing_key: "jobs.dead" } },
      },
    ],
  },
  PUBLISH: {
    title: "Publish",
    summary: "Publish a message to an exchange, as POST /publish",
    description:
      "With an `id`, CONFIRM comes once the message is committed for every durable queue it reached, or an ERROR naming that id; many may be in flight. " +
      "A `message_id` repeated within the dedup window is confirmed with `duplicate: true` and enqueued once.",
    replies: ["Confirm", "Error"],
    examples: [
      {
        name: "publish",
        summary: "Publish with a confirm",
        payload: { type: "PUBLISH", payload: { exchange_name: "orders", key: "eu.new", payload: { order: 1234 }, headers: { tenant: "acme" }, message_id: "order-1234", id: 17 } },
      },
      { name: "default-exchange", summary: "Straight to a queue through the default exchange", payload: { type: "PUBLISH", payload: { exchange_name: "", key: "jobs", payload: "resize 42.png" } } },
    ],
  },
  PING: {
    title: "Ping",
    summary: "Answered by PONG, after every frame sent before it on this connection",
    replies: ["Pong", "Error"],
    examples: [
      { name: "ping", summary: "Ping", payload: { type: "PING" } },
      { name: "ping-with-id", summary: "Ping with an id", payload: { type: "PING", payload: { id: "p1" } } },
    ],
  },
  AUTH: {
    title: "Authenticate",
    summary: "The first frame when users or token keys are configured: an API key or a JWT; later, a fresh JWT for the same user",
    description:
      "With users or JWT keys configured, nothing but AUTH is accepted before it: another frame gets ERROR UNAUTHORIZED and the socket is closed with 4001, " +
      "as is a socket that sends none within AUTH_TIMEOUT_MS. A credential may instead come on the upgrade (subprotocols `pubsub` and `bearer.<token>`). " +
      "A JWT's connection gets TOKEN_EXPIRING before its exp; an AUTH with a new token for the same user refreshes it, otherwise it is closed with 4011 at exp. " +
      "Without users configured (the loopback guest) AUTH is accepted and changes nothing.",
    replies: ["Authenticated", "Error"],
    examples: [{ name: "auth", summary: "Authenticate with a JWT", payload: { type: "AUTH", payload: { token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig", id: "a1" } } }],
  },
};

const delivery = {
  type: "MESSAGE",
  unique_id: "0193a3b2-6f1e-7c8a-9d21-5b7e3c0f4a11",
  body: { order: 1234 },
  TTL: 0,
  queue: "billing",
  seq: 42,
  exchange: "orders",
  routing_key: "eu.new",
  headers: { tenant: "acme" },
  timestamp: 1764633600000,
};

/** Frames the broker sends on its own (not only as replies), as send operations. */
export const unsolicited: ServerFrameName[] = ["Delivery", "Batch", "ConsumerDelivery", "Gap", "Error", "TokenExpiring"];

export const serverFrameText: { [N in ServerFrameName]: FrameText } = {
  Delivery: {
    title: "Delivery to a subscriber",
    summary: "A message of a subscribed queue, in seq order",
    description:
      "`unique_id`, `body` and `TTL` are the seed's. Each subscriber gets each message once, whole and in seq order, or is closed with 4008 (see the channel).",
    examples: [{ name: "delivery", summary: "A delivery", payload: delivery }],
  },
  Batch: {
    title: "Deliveries to a batching subscriber",
    summary: "Several messages of a queue in one frame, for a SUBSCRIBE with batch: true",
    description:
      "What one turn of the broker's event loop hands the queue, when it is more than one message (at most 1,000 or 64 KiB of them; one message comes as a plain MESSAGE). Written when the turn ends: a reply sent in that turn may come first; an UNSUBSCRIBE's reply comes after every message sent.",
    examples: [
      {
        name: "batch",
        summary: "Two deliveries",
        payload: { type: "MESSAGES", count: 2, queue: "billing", messages: [delivery, { ...delivery, unique_id: "0193a3b2-6f1e-7c8a-9d21-5b7e3c0f4a12", seq: 43 }] },
      },
    ],
  },
  ConsumerDelivery: {
    title: "Delivery to a consumer",
    summary: "A message for a consumer on this connection; ACK or NACK it by delivery_tag",
    description: "At-least-once: until acknowledged it may come again (`redelivered: true`), after a NACK, a CANCEL, a lost connection or a restart.",
    examples: [{ name: "consumer-delivery", summary: "A consumer's delivery", payload: { ...delivery, queue: "jobs", delivery_tag: 7, redelivered: false, delivery_count: 1 } }],
  },
  Gap: {
    title: "Gap in the history",
    summary: "A resume (SUBSCRIBE since) asked for more history than the queue retains",
    examples: [{ name: "gap", summary: "Messages 42 to 119 are not replayed", payload: { type: "GAP", payload: { queue_name: "feed", since: 41, first_available_seq: 120 } } }],
  },
  Subscribed: {
    title: "Subscribed",
    summary: "Answers a SUBSCRIBE that had an id",
    examples: [{ name: "subscribed", summary: "Subscribed", payload: { type: "SUBSCRIBED", payload: { queue_name: "billing", id: 1 } } }],
  },
  Unsubscribed: {
    title: "Unsubscribed",
    summary: "Answers an UNSUBSCRIBE that had an id",
    examples: [{ name: "unsubscribed", summary: "Unsubscribed", payload: { type: "UNSUBSCRIBED", payload: { queue_name: "billing", id: 2 } } }],
  },
  Consuming: {
    title: "Consuming",
    summary: "Answers a CONSUME that had an id, before any delivery to it",
    examples: [{ name: "consuming", summary: "Consuming", payload: { type: "CONSUMING", payload: { queue_name: "jobs", prefetch: 10, id: "c1" } } }],
  },
  Cancelled: {
    title: "Cancelled",
    summary: "Answers a CANCEL that had an id",
    examples: [{ name: "cancelled", summary: "Cancelled", payload: { type: "CANCELLED", payload: { queue_name: "jobs", id: "c2" } } }],
  },
  Acked: {
    title: "Acknowledged",
    summary: "Answers an ACK that had an id",
    examples: [{ name: "acked", summary: "Acked", payload: { type: "ACKED", payload: { delivery_tag: 7, id: 3 } } }],
  },
  Nacked: {
    title: "Rejected",
    summary: "Answers a NACK that had an id",
    examples: [{ name: "nacked", summary: "Nacked", payload: { type: "NACKED", payload: { delivery_tag: 7, id: 8 } } }],
  },
  QueueDeclared: {
    title: "Queue declared",
    summary: "Answers every DECLARE_QUEUE, with its id when it had one",
    examples: [{ name: "queue-declared", summary: "A server-named queue", payload: { type: "QUEUE_DECLARED", payload: { queue_name: "amq.gen-5f0c9a4e-2d1b-4c3a-8e7f-6a5b4c3d2e1f", created: true, id: "d1" } } }],
  },
  Confirm: {
    title: "Publish confirmed",
    summary: "Answers a PUBLISH that had an id, once it is committed for every durable queue it reached",
    examples: [
      { name: "confirm", summary: "Routed to two queues", payload: { type: "CONFIRM", payload: { routed: 2, id: 17 } } },
      { name: "duplicate", summary: "A repeated message_id", payload: { type: "CONFIRM", payload: { routed: 1, duplicate: true, id: 18 } } },
    ],
  },
  Pong: {
    title: "Pong",
    summary: "Answers PING",
    examples: [
      { name: "pong", summary: "Pong", payload: { type: "PONG", payload: {} } },
      { name: "pong-with-id", summary: "Pong naming its PING", payload: { type: "PONG", payload: { id: "p1" } } },
    ],
  },
  Authenticated: {
    title: "Authenticated",
    summary: "Answers every AUTH that was accepted",
    examples: [{ name: "authenticated", summary: "A JWT's connection", payload: { type: "AUTHENTICATED", payload: { user: "alice", expires_at: 1764637200000, id: "a1" } } }],
  },
  TokenExpiring: {
    title: "Token expiring",
    summary: "The connection's JWT expires soon: send AUTH with a new one",
    examples: [{ name: "token-expiring", summary: "Thirty seconds left", payload: { type: "TOKEN_EXPIRING", payload: { expires_at: 1764637200000 } } }],
  },
  Error: {
    title: "Error",
    summary: "A frame refused, or a queue this connection used was deleted",
    examples: [
      { name: "refused", summary: "A SUBSCRIBE to a queue that does not exist", payload: { type: "ERROR", payload: { code: "Q002", message: 'queue "billing" does not exist', id: 1 } } },
      { name: "queue-deleted", summary: "Sent to the subscribers and consumers of a deleted queue", payload: { type: "ERROR", payload: { code: "Q002", message: 'queue "billing" was deleted: queue deleted', queue_name: "billing" } } },
    ],
  },
};

/** What each ERROR code means (the codes of core/errors.ts, the same as the REST API's). */
export const errorCodeText: { [C in FrameErrorCode]: string } = {
  E001: "An exchange of that name exists with other properties",
  E002: "No such exchange",
  E003: "The exchange still has bindings",
  E004: "Unknown exchange type",
  E005: "A new exchange named amq.…: the prefix is reserved (RabbitMQ's ACCESS_REFUSED)",
  Q001: "The queue exists with other properties (DECLARE_QUEUE)",
  Q002: "No such queue; also sent, with `queue_name`, when a queue this connection used is deleted",
  Q003: "The queue is not empty",
  Q004: "The queue is in use",
  Q005: "A `reject-publish` queue is at its max_length or max_bytes: the whole publish is refused",
  Q006: "An exclusive queue of another connection (RabbitMQ's RESOURCE_LOCKED)",
  Q007: "A new queue named amq.…: the prefix is reserved for the broker's own names (amq.gen-… for a DECLARE_QUEUE without a name)",
  D001: "Unknown delivery tag: already acknowledged, or never delivered on this connection",
  FLOW_CONTROL: "The broker holds MAX_QUEUED_BYTES of messages: publish later",
  S001: "Not subscribed to (UNSUBSCRIBE) or not consuming from (CANCEL) that queue",
  B001: "No such binding",
  B002: "An invalid binding key or arguments",
  INVALID_NAME: "A queue or exchange name that is not 1-255 bytes of printable UTF-8",
  BAD_JSON: "Not JSON, not UTF-8 (a binary frame), or nested deeper than 64 levels; the ERROR still names the frame's id",
  VALIDATION: "A field missing, of the wrong type, out of range or unknown (a misspelt field is named, with the likely intended one)",
  UNKNOWN_FRAME: "A frame type the broker does not know",
  STORE_UNAVAILABLE: "The database failed; nothing was stored. Retry",
  DISK_ALARM: "Free disk space is below DISK_FREE_LIMIT: publishes that reach a durable queue are refused until there is room",
  SHUTTING_DOWN: "The broker is stopping",
  INTERNAL: "A bug in the broker: the frame was dropped, the connection is still usable",
  UNAUTHORIZED: "No credential yet (AUTH must come first), or the one given was refused: the socket is closed with 4001",
  TOKEN_INVALID: "The token is not one this broker accepts (bad signature, issuer, audience, algorithm, or not a key it knows)",
  TOKEN_EXPIRED: "The token's exp has passed: send AUTH with a fresh one (on a live connection the broker asks first, with TOKEN_EXPIRING)",
  RATE_LIMITED: "The connection publishes faster than PUBLISH_RATE allows: this publish was refused; slow down",
  CONNECTION_LIMIT: "The broker is at MAX_CONNECTIONS (or this address at its limit)",
  FORBIDDEN: "The connection's user may not do this to that resource (its configure/write/read permissions, or topic permissions)",
};

/** Why the broker closes a connection with each of its close codes (ws-session.ts). */
export const closeCodeText: { [K in keyof typeof CloseCodes]: string } & Partial<Record<string, string>> = {
  GOING_AWAY: "The broker is shutting down (after answering what was pending): reconnect later",
  TOO_BIG: "A frame over the size limit (MAX_PAYLOAD_BYTES plus 64 KiB of envelope); Bun closes the socket",
  SLOW_SUBSCRIBER:
    "Slow subscriber: its unsent data passed SUBSCRIBER_MAX_BUFFER_BYTES (live or replay). It comes after every whole frame sent before it; " +
    "reconnect and SUBSCRIBE with `since` the last seq received. Other subscribers are unaffected. A cut subscriber that reads nothing for 60 s " +
    "gets no close frame at all (its client reports 1006) and must discard a partial last frame",
  CLOSED_BY_ADMIN: "An administrator closed the connection (DELETE /connections/:id); what its consumers held went back to their queues. It may reconnect",
  UNAUTHORIZED:
    "Not authenticated: no AUTH within AUTH_TIMEOUT_MS, a frame other than AUTH before it, a refused credential, or its user was removed. Reconnect with a valid credential",
  TOKEN_EXPIRED: "Its token expired and no AUTH with a new one came after TOKEN_EXPIRING. Reconnect with a fresh token",
};
