import type { ConsumerFields, QueueRef } from "../broker/delivery-sink.ts";
import type { MessageHeaders } from "../core/exchanges/types.ts";
import type { Entry } from "../core/queue.ts";

/**
 * The delivery frame. `unique_id`, `body` and `TTL` are the seed's (a seed client reads the first
 * two); the rest is ours. Built by concatenation so the body (already JSON text) is not re-encoded.
 */
export function deliveryFrame(queue: QueueRef, entry: Entry, consumer?: ConsumerFields): string {
  const m = entry.message;
  const queueJson = jsonNames.get(queue) ?? remember(queue);
  const owned =
    consumer === undefined
      ? ""
      : `,"delivery_tag":${consumer.tag},"redelivered":${consumer.redelivered},"delivery_count":${consumer.deliveries}`;
  // A message routed to several queues is framed for each in a row: its own fields are made once.
  if (m !== framed) {
    framed = m;
    head = `{"type":"MESSAGE","unique_id":"${m.id}","body":${m.body},"TTL":0,"queue":`;
    tail = `,"exchange":${jsonString(m.exchange)},"routing_key":${jsonString(m.routingKey)},"headers":${jsonHeaders(m.headers)},"timestamp":${m.timestamp}`;
  }
  return `${head}${queueJson},"seq":${entry.seq}${tail}${owned}}`;
}

/** The last message framed, and the parts of its frame that do not depend on the queue. */
let framed: Entry["message"] | undefined;
let head = "";
let tail = "";

export const errorFrame = (code: string, message: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: "ERROR", payload: { code, message, ...extra } });

export const replyFrame = (type: string, payload: Record<string, unknown>): string => JSON.stringify({ type, payload });

/** Each queue's name as JSON, made once: it is in every frame the queue sends. */
const jsonNames = new WeakMap<QueueRef, string>();
const remember = (queue: QueueRef): string => {
  const json = JSON.stringify(queue.name);
  jsonNames.set(queue, json);
  return json;
};

/** Nothing to escape: quotes alone make valid JSON, far cheaper than JSON.stringify per frame. */
const PLAIN = /^[\w .:/@#*+-]*$/;
const jsonString = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

const jsonHeaders = (headers: MessageHeaders): string => {
  for (const _ in headers) return JSON.stringify(headers);
  return "{}";
};
