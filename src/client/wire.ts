/**
 * The wire shapes the client speaks. Request and answer bodies come from the typebox models the
 * broker validates with (src/server/schemas.ts): one source of truth. These imports are types
 * only and vanish from the bundle: the client carries no server code.
 */
import type { Static } from "elysia";
import type { models } from "../server/schemas.ts";

export type ExchangeDeclare = Static<typeof models.ExchangeDeclare>;
export type Exchange = Static<typeof models.Exchange>;
export type QueueDeclare = Static<typeof models.QueueDeclare>;
export type Queue = Static<typeof models.Queue>;
export type Binding = Static<typeof models.Binding>;
export type PublishResult = Static<typeof models.PublishResult>;
export type Declared = Static<typeof models.Declared>;
export type Removed = Static<typeof models.Removed>;
export type Metrics = Static<typeof models.Metrics>;
export type BrokerErrorBody = Static<typeof models.Error>;

/** Binding arguments: a flat object of scalars (the Binding model's `arguments`). */
export type BindingArguments = Binding["arguments"];
export type HeaderScalar = BindingArguments[string];
/**
 * A message header's value: any JSON value. A headers exchange matches the scalar ones; the broker
 * adds structured ones (`x-death`, an array of records) when it dead-letters.
 */
export type HeaderValue = HeaderScalar | readonly HeaderValue[] | { readonly [name: string]: HeaderValue };
export type Headers = { readonly [name: string]: HeaderValue };

/**
 * The schema types `arguments` and `headers` as unknown (the broker checks them by hand, see
 * schemas.ts); the client narrows them to what the broker accepts. `Key`, the seed's spelling, is
 * left out: the client always sends `key`.
 */
export type BindingDeclare = Omit<Static<typeof models.BindingRequest>, "arguments" | "Key"> & { arguments?: BindingArguments };

/** Everything a publish may carry besides exchange, key and payload (POST /publish and the PUBLISH frame alike). */
export type PublishFields = Omit<Static<typeof models.PublishRequest>, "exchange_name" | "key" | "Key" | "payload" | "headers"> & {
  headers?: Headers;
};

/** The DECLARE_QUEUE payload: the POST /queues body, name optional (the broker names it) and `exclusive` allowed. */
export type QueueDeclareFrame = Omit<QueueDeclare, "name"> & { name?: string };

/**
 * A delivery, as the MESSAGE frame carries it (README, "WebSocket protocol"). The broker builds
 * that frame by concatenation and has no schema for it, so this one type is written by hand.
 * The seed's `TTL` (always 0) and the frame's `type` are left out.
 */
export type Message<Body = unknown> = {
  unique_id: string;
  body: Body;
  queue: string;
  /** The message's place in its queue: increasing, never reused (the resume point). */
  seq: number;
  exchange: string;
  routing_key: string;
  headers: Headers;
  /** Milliseconds since the epoch, when the broker accepted it. */
  timestamp: number;
};

/** What a delivery to a consumer adds to a Message. */
export type ConsumerFields = {
  delivery_tag: number;
  /** True when the message went out before (to a consumer that did not ack it, or before a crash). */
  redelivered: boolean;
  delivery_count: number;
};

/** A broker → client frame, as parsed; replies carry the `id` of the frame they answer. */
export type InboundFrame =
  | ({ type: "MESSAGE" } & Message & Partial<ConsumerFields>)
  /** A batching subscription's deliveries of one turn [BATCH-1]: MESSAGE frames, in seq order. */
  | { type: "MESSAGES"; count: number; queue: string; messages: ({ type: "MESSAGE" } & Message)[] }
  | { type: "GAP"; payload: { queue_name: string; since: number; first_available_seq: number } }
  | { type: "ERROR"; payload: { code: string; message: string; id?: string | number; queue_name?: string } }
  | { type: "CONFIRM"; payload: { id: string | number; routed: number; duplicate?: boolean } }
  | { type: "QUEUE_DECLARED"; payload: { queue_name: string; created: boolean; id?: string | number } }
  | { type: "AUTHENTICATED"; payload: { user: string; expires_at: number | null; id?: string | number } }
  /** The connection's JWT expires at `expires_at`: AUTH with a new one, or the broker closes with 4011 then. */
  | { type: "TOKEN_EXPIRING"; payload: { expires_at: number } }
  | { type: Reply; payload: { id?: string | number } & Record<string, unknown> };

type Reply = "SUBSCRIBED" | "UNSUBSCRIBED" | "CONSUMING" | "CANCELLED" | "ACKED" | "NACKED" | "PONG";

/** The Message part of a MESSAGE frame: what a subscriber gets, and a consumer's delivery starts from. */
export const messageOf = <Body>(frame: Message & Partial<ConsumerFields>): Message<Body> => ({
  unique_id: frame.unique_id,
  body: frame.body as Body,
  queue: frame.queue,
  seq: frame.seq,
  exchange: frame.exchange,
  routing_key: frame.routing_key,
  headers: frame.headers,
  timestamp: frame.timestamp,
});
