import type { ConsumerFields, QueueRef } from "../broker/delivery-sink.ts";
import type { MessageHeaders } from "../core/exchanges/types.ts";
import type { Entry } from "../core/queue.ts";

/**
 * The delivery frame. `unique_id`, `body` and `TTL` are the seed's (a seed client reads the first
 * two); the rest is ours. Built by concatenation so the body (already JSON text) is not re-encoded.
 */
export function deliveryFrame(queue: QueueRef, entry: Entry, consumer?: ConsumerFields): string {
  const m = entry.message;
  const queueJson = (jsonNames.get(queue) ?? remember(queue)).json;
  const owned =
    consumer === undefined
      ? ""
      : `,"delivery_tag":${consumer.tag},"redelivered":${consumer.redelivered},"delivery_count":${consumer.deliveries}`;
  // A message routed to several queues is framed for each in a row: its own fields are made once.
  if (m !== framed) {
    framed = m;
    const exchange = exchangeJson(m.exchange);
    const plainKey = PLAIN.test(m.routingKey);
    const key = plainKey ? `"${m.routingKey}"` : JSON.stringify(m.routingKey);
    headersJson = jsonHeaders(m.headers);
    head = `{"type":"MESSAGE","unique_id":"${m.id}","body":${m.body},"TTL":0,"queue":`;
    tail = `,"exchange":${exchange.json},"routing_key":${key},"headers":${headersJson},"timestamp":${m.timestamp}`;
    // Measured from flat parts in lastFrameBytes: measuring `tail`, a rope, flattened it first.
    tailFixedBytes = TAIL_BYTES + exchange.bytes + (plainKey ? m.routingKey.length + 2 : Buffer.byteLength(key)) + digits(m.timestamp);
    partBytes = -1;
  }
  return `${head}${queueJson},"seq":${entry.seq}${tail}${owned}}`;
}

/**
 * The UTF-8 length of the subscriber frame deliveryFrame(queue, entry) just made, from its parts:
 * the message's measured once, however many queues it reaches. Buffer.byteLength on each frame
 * flattened and scanned it, and then Bun encoded it again.
 */
export function lastFrameBytes(queue: QueueRef, entry: Entry): number {
  if (entry.message !== framed) return Buffer.byteLength(deliveryFrame(queue, entry));
  // From the flat parts: measuring `head`, a rope, flattened a copy of the body for nothing.
  // The id is ASCII (hex and dashes, src/broker/message-ids.ts); headers are "{}" or JSON.stringify's flat text.
  if (partBytes < 0) partBytes = HEAD_BYTES + entry.message.id.length + Buffer.byteLength(entry.message.body) + tailFixedBytes + (headersJson === "{}" ? 2 : Buffer.byteLength(headersJson));
  const name = jsonNames.get(queue) ?? remember(queue);
  // `,"seq":` is 7 bytes, the closing brace 1.
  return partBytes + name.bytes + 7 + digits(entry.seq) + 1;
}

/** `head` less the id and the body: {"type":"MESSAGE","unique_id":" and ","body": and ,"TTL":0,"queue": */
const HEAD_BYTES = 31 + 9 + 17;

/** The last message framed, and the parts of its frame that do not depend on the queue. */
let framed: Entry["message"] | undefined;
let head = "";
let tail = "";
/** UTF-8 bytes of head and tail together; -1 until measured. */
let partBytes = -1;
/** The tail's bytes but its headers'; and the headers' JSON. */
let tailFixedBytes = 0;
let headersJson = "{}";
/** `tail` less exchange, routing key, headers and timestamp: ,"exchange": ,"routing_key": ,"headers": ,"timestamp": */
const TAIL_BYTES = 12 + 15 + 11 + 13;

/** Decimal digits of a whole number ≥ 0. */
function digits(n: number): number {
  let count = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    count++;
  }
  return count;
}

/**
 * [BATCH-1] Several deliveries of one queue as one frame, for a subscriber that asked for batches:
 * `messages` holds MESSAGE frames exactly as they would have gone one by one, in seq order; `count`
 * comes first so a reader can count without parsing.
 */
export const batchFrame = (queueJson: string, frames: readonly string[]): string =>
  `{"type":"MESSAGES","count":${frames.length},"queue":${queueJson},"messages":[${frames.join(",")}]}`;

/** The UTF-8 length of batchFrame's frame, from its queue name's (as JSON) and the deliveries' (`framesBytes`). */
export const batchFrameBytes = (queueJsonBytes: number, count: number, framesBytes: number): number =>
  // {"type":"MESSAGES","count": is 27 bytes, ,"queue": 9, ,"messages":[ 13, ]} 2; a comma between frames.
  27 + digits(count) + 9 + queueJsonBytes + 13 + framesBytes + (count - 1) + 2;

export const errorFrame = (code: string, message: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: "ERROR", payload: { code, message, ...extra } });

export const replyFrame = (type: string, payload: Record<string, unknown>): string => JSON.stringify({ type, payload });

/** Each queue's name as JSON, and its UTF-8 length, made once: it is in every frame the queue sends. */
const jsonNames = new WeakMap<QueueRef, { json: string; bytes: number }>();
const remember = (queue: QueueRef): { json: string; bytes: number } => {
  const json = JSON.stringify(queue.name);
  const name = { json, bytes: Buffer.byteLength(json) };
  jsonNames.set(queue, name);
  return name;
};

/** Nothing to escape: quotes alone make valid JSON, far cheaper than JSON.stringify per frame. */
const PLAIN = /^[\w .:/@#*+-]*$/;
/** Each exchange's name as JSON and its UTF-8 length, made once: exchanges are few, and in every frame. */
const exchangeNames = new Map<string, { json: string; bytes: number }>();
const exchangeJson = (name: string): { json: string; bytes: number } => {
  let known = exchangeNames.get(name);
  if (known === undefined) {
    const json = JSON.stringify(name);
    known = { json, bytes: Buffer.byteLength(json) };
    // Bounded: names of exchanges since deleted must not pile up.
    if (exchangeNames.size >= MAX_EXCHANGE_NAMES) exchangeNames.clear();
    exchangeNames.set(name, known);
  }
  return known;
};
const MAX_EXCHANGE_NAMES = 1_024;

const jsonHeaders = (headers: MessageHeaders): string => {
  for (const _ in headers) return JSON.stringify(headers);
  return "{}";
};
