/** RabbitMQ over AMQP 0-9-1 (amqplib): the three roles. */
import amqp from "amqplib";
import { benchPayload } from "../specs.ts";
import type { ConfirmedPublisher, StreamPublisher, Subscriber } from "./roles.ts";

const payload = Buffer.from(benchPayload());

export async function openAmqpConfirmedPublisher(
  url: string,
  exchange: string,
  routingKey: string,
  persistent: boolean,
  inflight: number,
): Promise<ConfirmedPublisher> {
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  return {
    slots: inflight,
    publish() {
      return new Promise((resolve, reject) => {
        channel.publish(exchange, routingKey, payload, { persistent }, (error) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
        );
      });
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}

export async function openAmqpPublisher(url: string, exchange: string): Promise<StreamPublisher> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  let writable = true;
  const waiting: Array<() => void> = [];
  channel.on("drain", () => {
    writable = true;
    for (const callback of waiting.splice(0)) callback();
  });
  return {
    send(count) {
      let sent = 0;
      while (sent < count && writable) {
        writable = channel.publish(exchange, "", payload);
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

/** An exclusive, server-named queue bound to the fanout exchange, consumed with auto-ack. */
export async function openAmqpSubscriber(url: string, exchange: string): Promise<Subscriber> {
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
