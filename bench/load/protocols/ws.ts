/** pubsub and the raw relay over WebSocket: the roles built on ws-wire.ts. A `token` is sent in an AUTH frame first. */
import { benchPayload, stampOffset, writeStamp } from "../specs.ts";
import type { AckGate, ConfirmedPublisher, Consumer, PayloadListener, StampedPublisher, StreamPublisher, Subscriber } from "./roles.ts";
import { textFrame, WireWebSocket, zeroMaskTextFrame } from "./ws-wire.ts";

/** Frames per write: large enough that syscalls are not the cost, small enough to pace finely. */
const FRAMES_PER_WRITE = 64;

export async function openWsPublisher(
  host: string,
  port: number,
  path: string,
  publishFrame: string,
  token?: string,
): Promise<StreamPublisher> {
  const ws = await WireWebSocket.open(host, port, path, token);
  const frame = textFrame(publishFrame);
  const batch = Buffer.concat(Array.from({ length: FRAMES_PER_WRITE }, () => frame));
  return {
    send(count) {
      let sent = 0;
      while (sent < count && ws.writable) {
        const frames = Math.min(FRAMES_PER_WRITE, count - sent);
        ws.send(batch.subarray(0, frames * frame.length));
        sent += frames;
      }
      if (ws.closed) throw new Error("publisher connection closed by the broker");
      return sent;
    },
    whenWritable(callback) {
      if (ws.writable) queueMicrotask(callback);
      else ws.onDrain = () => {
        ws.onDrain = null;
        callback();
      };
    },
    async close() {
      ws.close();
    },
  };
}

/** One frame per message, written at once, with a stamp in its payload. */
export async function openWsStampedPublisher(
  host: string,
  port: number,
  path: string,
  publishFrame: string,
  token?: string,
): Promise<StampedPublisher> {
  const ws = await WireWebSocket.open(host, port, path, token);
  const template = zeroMaskTextFrame(publishFrame);
  const offset = stampOffset(template);
  if (offset < 0) throw new Error("the publish frame carries no bench payload to stamp");
  return {
    send(stamp) {
      if (ws.closed) throw new Error("publisher connection closed by the broker");
      const frame = Buffer.from(template);
      writeStamp(frame, offset, stamp);
      ws.send(frame);
    },
    async close() {
      ws.close();
    },
  };
}

export async function openWsSubscriber(
  host: string,
  port: number,
  path: string,
  subscribeFrame: string,
  onPayload?: PayloadListener,
  token?: string,
  batched = false,
): Promise<Subscriber> {
  const ws = await WireWebSocket.open(host, port, path, token);
  if (onPayload) ws.onMessage = onPayload;
  if (batched) ws.countBatches();
  ws.send(textFrame(subscribeFrame));
  return {
    get received() {
      return ws.messages;
    },
    get firstDelivery() {
      return ws.firstMessage;
    },
    get closed() {
      return ws.closed;
    },
    async close() {
      ws.close();
    },
  };
}

const CONFIRM_ID = Buffer.from('"id":');
const ERROR_TYPE = Buffer.from('"type":"ERROR"');
const DELIVERY_TAG = Buffer.from('"delivery_tag":');
const REDELIVERED_TRUE = Buffer.from('"redelivered":true');

/** The unsigned integer written at `at` (digits only), or -1. */
function readUint(bytes: Uint8Array, at: number): number {
  let value = 0;
  let digits = 0;
  for (let i = at; i < bytes.length; i++) {
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
    digits++;
  }
  return digits ? value : -1;
}

/**
 * pubsub's publisher confirms: PUBLISH frames carrying an `id`, all on one WebSocket; each
 * CONFIRM (or ERROR) frame names the id it answers. Frames built in one turn go out in one write.
 */
export async function openWsConfirmedPublisher(
  host: string,
  port: number,
  path: string,
  exchange: string,
  key: string,
  inflight: number,
  payloadBytes?: number,
  token?: string,
): Promise<ConfirmedPublisher> {
  const ws = await WireWebSocket.open(host, port, path, token);
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  const head = `{"type":"PUBLISH","payload":{"exchange_name":${JSON.stringify(exchange)},"key":${JSON.stringify(key)},` +
    `"payload":${JSON.stringify(benchPayload(payloadBytes))},"id":`;
  let nextId = 1;
  ws.onMessage = (payload) => {
    const buffer = payload as Buffer;
    const at = buffer.lastIndexOf(CONFIRM_ID);
    if (at < 0) return;
    const id = readUint(buffer, at + CONFIRM_ID.length);
    const waiter = pending.get(id);
    if (!waiter) return;
    pending.delete(id);
    if (buffer.indexOf(ERROR_TYPE) >= 0) waiter.reject(new Error(`ERROR frame: ${buffer.toString("utf8", 0, 200)}`));
    else waiter.resolve();
  };
  ws.onClose = () => {
    for (const waiter of pending.values()) waiter.reject(new Error("connection closed by the broker"));
    pending.clear();
  };
  return {
    slots: inflight,
    publish() {
      if (ws.closed) return Promise.reject(new Error("connection closed"));
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        ws.sendLater(zeroMaskTextFrame(`${head}${id}}}`));
      });
    },
    async close() {
      ws.close();
    },
  };
}

/** pubsub's competing consumer: CONSUME with a prefetch, then an ACK frame for every delivery. */
export async function openWsConsumer(
  host: string,
  port: number,
  path: string,
  queue: string,
  prefetch: number,
  gate: AckGate = () => true,
  token?: string,
): Promise<Consumer> {
  const ws = await WireWebSocket.open(host, port, path, token);
  let acked = 0;
  let redelivered = 0;
  let firstError: string | null = null;
  let firstDelivery: string | null = null;
  ws.onMessage = (payload) => {
    const buffer = payload as Buffer;
    const at = buffer.indexOf(DELIVERY_TAG);
    if (at < 0) {
      if (firstError === null && buffer.indexOf(ERROR_TYPE) >= 0) firstError = buffer.toString("utf8", 0, 200);
      return;
    }
    if (!gate()) return;
    const tag = readUint(buffer, at + DELIVERY_TAG.length);
    if (firstDelivery === null) firstDelivery = buffer.toString("utf8");
    if (buffer.indexOf(REDELIVERED_TRUE) >= 0) redelivered++;
    ws.sendLater(zeroMaskTextFrame(`{"type":"ACK","payload":{"delivery_tag":${tag}}}`));
    acked++;
  };
  return {
    async start() {
      ws.send(textFrame(JSON.stringify({ type: "CONSUME", payload: { queue_name: queue, prefetch } })));
    },
    get acked() {
      return acked;
    },
    get redelivered() {
      return redelivered;
    },
    get firstDelivery() {
      return firstDelivery;
    },
    get firstError() {
      return firstError;
    },
    get closed() {
      return ws.closed;
    },
    async close() {
      ws.close();
    },
  };
}
