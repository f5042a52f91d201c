import type { Binding, BindingArgs } from "../core/exchanges/types.ts";
import type { QueueState } from "../core/queue.ts";
import type { PublishedMessage } from "../core/message.ts";
import { queueArgsView } from "../core/queue-args.ts";
import type { Exchange } from "../core/topology.ts";

/** What the management API shows; field names follow the seed's snake_case. */
export type ExchangeView = { name: string; type: string; durable: boolean; bindings: number };
export type QueueView = {
  name: string;
  durable: boolean;
  messages: number;
  delayed: number;
  messages_in_memory: number;
  messages_on_disk: number;
  unacked: number;
  bytes: number;
  subscribers: number;
  consumers: number;
  published: number;
  delivered: number;
  acked: number;
  dead_lettered: number;
  last_seq: number;
  arguments: Record<string, string | number | boolean>;
};
export type BindingView = { exchange_name: string; queue_name: string; key: string; arguments: BindingArgs };

export const exchangeView = (e: Exchange): ExchangeView => ({
  name: e.name,
  type: e.kind,
  durable: e.durable,
  bindings: e.bindings.size,
});

export const queueView = (q: QueueState): QueueView => ({
  name: q.name,
  durable: q.durable,
  messages: q.depth,
  delayed: q.delayedCount,
  messages_in_memory: q.depth - q.pagedOut,
  messages_on_disk: q.pagedOut,
  unacked: q.unacked,
  bytes: q.bytes,
  subscribers: q.subscribers,
  consumers: q.consumerCount,
  published: q.published,
  delivered: q.delivered,
  acked: q.acked,
  dead_lettered: q.deadLettered,
  last_seq: q.lastSeq,
  arguments: queueArgsView(q.args),
});

export const bindingView = (b: Binding): BindingView => ({
  exchange_name: b.exchange,
  queue_name: b.queue,
  key: b.key,
  arguments: b.args,
});

/** A message as peek shows it (GET /queues/:name/messages): the payload parsed, times in ms since the epoch. */
export type MessageView = {
  seq: number;
  id: string;
  exchange: string;
  routing_key: string;
  headers: Record<string, unknown>;
  payload: unknown;
  timestamp: number;
  message_id: string | null;
  state: "ready" | "delayed" | "unacked";
  redelivered: boolean;
  deliveries: number;
  deliver_at: number | null;
  expires_at: number | null;
  bytes: number;
};

export const messageView = (
  seq: number,
  m: PublishedMessage,
  at: { state: MessageView["state"]; redelivered: boolean; deliveries: number; deliverAt: number | undefined; expiresAt: number | undefined; bytes: number },
): MessageView => ({
  seq,
  id: m.id,
  exchange: m.exchange,
  routing_key: m.routingKey,
  headers: m.headers,
  // The body is the payload's JSON text, serialised once at the edge: it parses.
  payload: JSON.parse(m.body),
  timestamp: m.timestamp,
  message_id: m.messageId ?? null,
  state: at.state,
  redelivered: at.redelivered || at.deliveries > 0,
  deliveries: at.deliveries,
  deliver_at: at.deliverAt ?? null,
  expires_at: at.expiresAt ?? null,
  bytes: at.bytes,
});
