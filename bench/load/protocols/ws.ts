/** pubsub and the raw relay over WebSocket: the roles built on ws-wire.ts. */
import type { StreamPublisher, Subscriber } from "./roles.ts";
import { textFrame, WireWebSocket } from "./ws-wire.ts";

/** Frames per write: large enough that syscalls are not the cost, small enough to pace finely. */
const FRAMES_PER_WRITE = 64;

export async function openWsPublisher(
  host: string,
  port: number,
  path: string,
  publishFrame: string,
): Promise<StreamPublisher> {
  const ws = await WireWebSocket.open(host, port, path);
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

export async function openWsSubscriber(
  host: string,
  port: number,
  path: string,
  subscribeFrame: string,
): Promise<Subscriber> {
  const ws = await WireWebSocket.open(host, port, path);
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
