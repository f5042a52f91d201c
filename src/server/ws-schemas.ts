import { CloneType, Type as t, type TObject, type TProperties, type TSchema } from "@sinclair/typebox";
import { ErrorCodes, type ErrorCode } from "../core/errors.ts";
import { frameModels } from "./schemas.ts";

/**
 * The WebSocket protocol's frames as TypeBox schemas: ws-frames.ts checks what clients send
 * against them (compiled), and the AsyncAPI document (asyncapi.ts) is generated from them, so the
 * two cannot disagree. The payload models themselves live in schemas.ts beside the REST models
 * they share (a DECLARE_QUEUE or PUBLISH gets the same verdict as its HTTP twin [FUZZ-8]).
 */

const closed = { additionalProperties: false } as const;
/** A copy of `schema` saying what it is here (CloneType's options never override the schema's own keys). */
const described = <T extends TSchema>(schema: T, description: string): T => ({ ...CloneType(schema), description });

/** A frame's `id`, chosen by the client: every answer to that frame names it. */
export const FrameId = described(
  t.Optional(frameModels.PingFrame.properties.id, false), // the model's id, without its "optional" mark
  "Chosen by the client; the answer to this frame (reply or ERROR) names it, so many frames may be in flight",
);

/**
 * What every client frame is, before its type is known. Open: fields beyond these are ignored, as
 * the seed's server ignored them. The frame's `id` is looked for in `payload` first, then here.
 */
export const ClientEnvelope = t.Object({
  type: t.String({ description: "The frame type (the field name also matches case-insensitively, as the seed's did)" }),
  payload: t.Optional(t.Object({}, { description: "The frame's fields; absent means {}" })),
});

/**
 * Every frame type a client may send, with its payload's closed model [STRICT-2]. ws-frames.ts
 * accepts exactly these types (its readers are typed by this table's keys), and the AsyncAPI
 * document lists exactly these: a new frame type cannot be accepted undocumented.
 */
export const clientPayloads = {
  SUBSCRIBE: frameModels.SubscribeFrame,
  UNSUBSCRIBE: frameModels.QueueFrame,
  CONSUME: frameModels.ConsumeFrame,
  CANCEL: frameModels.QueueFrame,
  ACK: frameModels.AckFrame,
  NACK: frameModels.NackFrame,
  DECLARE_QUEUE: frameModels.DeclareQueueFrame,
  PUBLISH: frameModels.PublishFrame,
  PING: frameModels.PingFrame,
  AUTH: frameModels.AuthFrame,
} as const satisfies Record<string, TObject>;
export type ClientFrameType = keyof typeof clientPayloads;

/** A whole client frame of one type, as the document shows it: the envelope, its type fixed and its payload the type's model. */
export function clientFrameSchema(type: ClientFrameType): TObject {
  const payload = clientPayloads[type];
  // A frame without a payload is read as `payload: {}`: required only when the model requires a field.
  const required = (payload.required ?? []).length > 0;
  return t.Object({
    ...ClientEnvelope.properties,
    type: t.Literal(type),
    payload: required ? CloneType(payload) : t.Optional(CloneType(payload)),
    id: t.Optional(described(FrameId, "Read only when the payload has no id (the payload is the usual place)")),
  });
}

// ---- frames the broker sends ------------------------------------------------------------------

/** The id of the frame answered: a reply is sent only to a frame that had one. */
const Echoed = described(FrameId, "The id of the frame this answers");
const QueueName = t.String({ description: "The queue" });
const Seq = t.Integer({ minimum: 1, description: "The message's place in its queue, increasing; resume with SUBSCRIBE since" });
const Tag = t.Integer({ minimum: 1, description: "Names this delivery in ACK and NACK; unique per broker run" });

const reply = (type: string, properties: TProperties, description: string): TObject =>
  t.Object({ type: t.Literal(type), payload: t.Object(properties, closed) }, { ...closed, description });

/**
 * A delivery: `unique_id`, `body` and `TTL` are the seed's (its clients read the first two), the
 * rest ours. Built by concatenation in frames.ts for speed; the AsyncAPI test holds real frames
 * against this schema.
 */
const deliveryFields = {
  type: t.Literal("MESSAGE"),
  unique_id: t.String({ description: "The message's id (the seed's field): the same in every queue it reached" }),
  body: t.Unknown({ description: "The published payload, as the JSON value it was" }),
  TTL: t.Literal(0, { description: "Always 0: the seed's field, kept for its clients" }),
  queue: QueueName,
  seq: Seq,
  exchange: t.String({ description: 'The exchange it was published to ("": the default exchange)' }),
  routing_key: t.String(),
  headers: t.Record(t.String(), t.Unknown(), { description: "As published; a dead-lettered message carries its death history in x-death" }),
  timestamp: t.Integer({ minimum: 0, description: "When the broker accepted it, milliseconds since the Unix epoch" }),
};

/** The ERROR codes a frame can get: every broker code except those only the HTTP layer gives (routes, hosts, bodies). */
const HTTP_ONLY = [ErrorCodes.BAD_PATH, ErrorCodes.METHOD_NOT_ALLOWED, ErrorCodes.NOT_FOUND, ErrorCodes.HOST_NOT_ALLOWED, ErrorCodes.PAYLOAD_TOO_LARGE, ErrorCodes.USER_NOT_FOUND, ErrorCodes.KEY_NOT_FOUND, ErrorCodes.NO_LEADER, ErrorCodes.LEADER_LOST] as const;
export type FrameErrorCode = Exclude<ErrorCode, (typeof HTTP_ONLY)[number]>;
export const frameErrorCodes = Object.values(ErrorCodes).filter((code): code is FrameErrorCode => !(HTTP_ONLY as readonly string[]).includes(code));

/** Frames the broker sends, by their name in the AsyncAPI document (MESSAGE has two shapes). */
export const serverFrames = {
  Delivery: t.Object(deliveryFields, { ...closed, description: "A message of a queue this connection subscribes to" }),
  ConsumerDelivery: t.Object(
    {
      ...deliveryFields,
      delivery_tag: Tag,
      redelivered: t.Boolean({ description: "It was delivered before (to any consumer, or before a restart)" }),
      delivery_count: t.Integer({ minimum: 1, description: "Its deliveries to consumers so far, this one included, across restarts" }),
    },
    { ...closed, description: "A message for a consumer on this connection: it stays the consumer's until ACK or NACK" },
  ),
  Batch: t.Object(
    {
      type: t.Literal("MESSAGES"),
      count: t.Integer({ minimum: 2, description: "How many deliveries it holds (first, so a reader can count without parsing)" }),
      queue: QueueName,
      messages: t.Array(t.Object(deliveryFields, closed), { minItems: 2, description: "MESSAGE frames exactly as they would have come one by one, in seq order" }),
    },
    { ...closed, description: "Deliveries of one turn to a subscriber that asked for batch (BATCH-1)" },
  ),
  Gap: reply(
    "GAP",
    {
      queue_name: QueueName,
      since: t.Integer({ minimum: 0, description: "The since the SUBSCRIBE asked for" }),
      first_available_seq: t.Integer({ minimum: 1, description: "The oldest retained seq: the messages between since and this one are not replayed" }),
    },
    "A resume asked for more history than the queue retains; sent before the replay",
  ),
  Subscribed: reply("SUBSCRIBED", { queue_name: QueueName, id: Echoed }, "The subscription is in place (only for a SUBSCRIBE with an id)"),
  Unsubscribed: reply("UNSUBSCRIBED", { queue_name: QueueName, id: Echoed }, "The subscription is gone (only for an UNSUBSCRIBE with an id)"),
  Consuming: reply(
    "CONSUMING",
    { queue_name: QueueName, prefetch: t.Integer({ minimum: 1, description: "Deliveries it may hold unacknowledged" }), id: Echoed },
    "The consumer is in place, before any delivery to it (only for a CONSUME with an id)",
  ),
  Cancelled: reply("CANCELLED", { queue_name: QueueName, id: Echoed }, "The consumer is gone; what it held went back to the queue (only for a CANCEL with an id)"),
  Acked: reply("ACKED", { delivery_tag: Tag, id: Echoed }, "The message is done (only for an ACK with an id)"),
  Nacked: reply("NACKED", { delivery_tag: Tag, id: Echoed }, "The message was requeued or dead-lettered (only for a NACK with an id)"),
  QueueDeclared: reply(
    "QUEUE_DECLARED",
    {
      queue_name: t.String({ description: "The queue's name: the broker's own (amq.gen-…) when the frame gave none" }),
      created: t.Boolean({ description: "False when it existed already with these properties" }),
      id: t.Optional(Echoed),
    },
    "The queue exists; always sent, as a server-named queue is useless until its name is known",
  ),
  Confirm: reply(
    "CONFIRM",
    {
      routed: t.Integer({ minimum: 0, description: "Queues the message reached" }),
      duplicate: t.Optional(t.Literal(true, { description: "Its message_id was seen within the dedup window: confirmed, not enqueued again" })),
      id: Echoed,
    },
    "The publish is committed for every durable queue it reached (only for a PUBLISH with an id)",
  ),
  Pong: reply("PONG", { id: t.Optional(Echoed) }, "The answer to PING (with its id when it had one)"),
  Authenticated: reply(
    "AUTHENTICATED",
    {
      user: t.String({ description: "Who the connection is now" }),
      expires_at: t.Union([t.Integer(), t.Null()], { description: "When its token expires (ms since the epoch); null for an API key or the loopback guest" }),
      id: t.Optional(Echoed),
    },
    "The AUTH was accepted (always answered): the first one lets every other frame in, a later one refreshes the token",
  ),
  TokenExpiring: reply(
    "TOKEN_EXPIRING",
    { expires_at: t.Integer({ description: "When the connection's token expires (ms since the epoch): send AUTH with a new one before, or it is closed with 4011" }) },
    "The connection's token expires soon",
  ),
  Error: reply(
    "ERROR",
    {
      code: t.Union(frameErrorCodes.map((code) => t.Literal(code)), { description: "Stable: act on the code, not the message" }),
      message: t.String({ description: "What was wrong, for a person" }),
      id: t.Optional(described(FrameId, "The id of the frame refused, when it had a usable one (even in a frame too deep to parse)")),
      queue_name: t.Optional(t.String({ description: "Only when a queue this connection used was deleted" })),
    },
    "A frame refused (nothing of it took effect), or a queue this connection used was deleted. The socket stays open",
  ),
} as const satisfies Record<string, TSchema>;
export type ServerFrameName = keyof typeof serverFrames;
