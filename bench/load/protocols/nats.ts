/** NATS (the `nats` client): core publish/subscribe, and JetStream for confirms and consumers. */
import { connect } from "nats";
import { benchPayload, stampOffset, writeStamp } from "../specs.ts";
import type { AckGate, ConfirmedPublisher, Consumer, PayloadListener, StampedPublisher, StreamPublisher, Subscriber } from "./roles.ts";

const payload = new TextEncoder().encode(benchPayload());

export async function openJetStreamPublisher(
  servers: string,
  subject: string,
  inflight: number,
): Promise<ConfirmedPublisher> {
  const connection = await connect({ servers });
  const jetstream = connection.jetstream();
  return {
    slots: inflight,
    async publish() {
      await jetstream.publish(subject, payload);
    },
    async close() {
      await connection.close();
    },
  };
}

/** Core NATS publishing never blocks: the caller's window bounds what the client buffers. */
export async function openNatsPublisher(servers: string, subject: string): Promise<StreamPublisher> {
  const connection = await connect({ servers });
  return {
    send(count) {
      for (let i = 0; i < count; i++) connection.publish(subject, payload);
      return count;
    },
    whenWritable(callback) {
      queueMicrotask(callback);
    },
    async close() {
      await connection.drain().catch(() => {});
    },
  };
}

export async function openNatsStampedPublisher(servers: string, subject: string): Promise<StampedPublisher> {
  const connection = await connect({ servers });
  const offset = stampOffset(payload);
  return {
    send(stamp) {
      const message = payload.slice();
      writeStamp(message, offset, stamp);
      connection.publish(subject, message);
    },
    async close() {
      await connection.drain().catch(() => {});
    },
  };
}

export async function openNatsSubscriber(servers: string, subject: string, onPayload?: PayloadListener): Promise<Subscriber> {
  const connection = await connect({ servers });
  let received = 0;
  let firstDelivery: string | null = null;
  let closed = false;
  connection.closed().then(() => (closed = true));
  connection.subscribe(subject, {
    callback: (error, message) => {
      if (error) return;
      received += 1;
      if (firstDelivery === null) firstDelivery = new TextDecoder().decode(message.data);
      onPayload?.(message.data);
    },
  });
  // The server has the subscription once the round trip returns.
  await connection.flush();
  return {
    get received() {
      return received;
    },
    get firstDelivery() {
      return firstDelivery;
    },
    get closed() {
      return closed;
    },
    async close() {
      await connection.close();
    },
  };
}

/**
 * A JetStream durable pull consumer (explicit acks), read with `consume({max_messages: prefetch})`:
 * the client asks for at most `prefetch` messages and asks for more as it works through them.
 */
export async function openJetStreamConsumer(
  servers: string,
  stream: string,
  name: string,
  prefetch: number,
  gate: AckGate = () => true,
): Promise<Consumer> {
  const connection = await connect({ servers });
  const consumer = await connection.jetstream().consumers.get(stream, name);
  let acked = 0;
  let redelivered = 0;
  let firstDelivery: string | null = null;
  let firstError: string | null = null;
  let closed = false;
  connection.closed().then(() => (closed = true));
  let stopConsuming: (() => void) | null = null;
  return {
    async start() {
      const messages = await consumer.consume({
        max_messages: prefetch,
        callback: (message) => {
          if (!gate()) return;
          if (firstDelivery === null) firstDelivery = new TextDecoder().decode(message.data);
          if (message.redelivered) redelivered++;
          message.ack();
          acked++;
        },
      });
      stopConsuming = () => void messages.stop();
      void messages.closed().then(
        (error) => {
          if (error) firstError ??= String(error);
        },
        (error) => (firstError ??= String(error)),
      );
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
      return closed;
    },
    async close() {
      stopConsuming?.();
      await connection.close().catch(() => {});
    },
  };
}
