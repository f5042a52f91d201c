/** RabbitMQ over AMQP 0-9-1 (amqplib): the roles. */
import amqp from "amqplib";
import { benchPayload, stampOffset, writeStamp } from "../specs.ts";
import type { AckGate, ConfirmedPublisher, Consumer, PayloadListener, StampedPublisher, StreamPublisher, Subscriber } from "./roles.ts";

const payload = Buffer.from(benchPayload());

export async function openAmqpConfirmedPublisher(
  url: string,
  exchange: string,
  routingKey: string,
  persistent: boolean,
  inflight: number,
  payloadBytes?: number,
): Promise<ConfirmedPublisher> {
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  const body = payloadBytes === undefined ? payload : Buffer.from(benchPayload(payloadBytes));
  return {
    slots: inflight,
    publish() {
      return new Promise((resolve, reject) => {
        channel.publish(exchange, routingKey, body, { persistent }, (error) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
        );
      });
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}

export async function openAmqpPublisher(url: string, exchange: string, routingKey = "", persistent = false): Promise<StreamPublisher> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  let writable = true;
  const waiting: Array<() => void> = [];
  channel.on("drain", () => {
    writable = true;
    for (const callback of waiting.splice(0)) callback();
  });
  const options = { persistent };
  return {
    send(count) {
      let sent = 0;
      while (sent < count && writable) {
        writable = channel.publish(exchange, routingKey, payload, options);
        sent += 1;
      }
      return sent;
    },
    whenWritable(callback) {
      if (writable) queueMicrotask(callback);
      else waiting.push(callback);
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}

export async function openAmqpStampedPublisher(url: string, exchange: string, routingKey = ""): Promise<StampedPublisher> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  const offset = stampOffset(payload);
  return {
    send(stamp) {
      const message = Buffer.from(payload);
      writeStamp(message, offset, stamp);
      channel.publish(exchange, routingKey, message);
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}

/** An exclusive, server-named queue bound to the fanout exchange, consumed with auto-ack. */
export async function openAmqpSubscriber(url: string, exchange: string, onPayload?: PayloadListener): Promise<Subscriber> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
  await channel.bindQueue(queue, exchange, "");
  let received = 0;
  let firstDelivery: string | null = null;
  let closed = false;
  connection.on("close", () => (closed = true));
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      received += 1;
      if (firstDelivery === null) firstDelivery = message.content.toString("utf8");
      onPayload?.(message.content);
    },
    { noAck: true },
  );
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
      await connection.close().catch(() => {});
    },
  };
}

/** A consumer on its own connection and channel: basic.qos(prefetch), manual ack of every message. */
export async function openAmqpConsumer(url: string, queue: string, prefetch: number, gate: AckGate = () => true): Promise<Consumer> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  await channel.prefetch(prefetch);
  let acked = 0;
  let redelivered = 0;
  let firstDelivery: string | null = null;
  let firstError: string | null = null;
  let closed = false;
  connection.on("close", () => (closed = true));
  connection.on("error", (error: Error) => (firstError ??= error.message));
  channel.on("error", (error: Error) => (firstError ??= error.message));
  return {
    async start() {
      await channel.consume(
        queue,
        (message) => {
          if (!message || !gate()) return;
          if (firstDelivery === null) firstDelivery = message.content.toString("utf8");
          if (message.fields.redelivered) redelivered++;
          channel.ack(message);
          acked++;
        },
        { noAck: false },
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
      await connection.close().catch(() => {});
    },
  };
}
