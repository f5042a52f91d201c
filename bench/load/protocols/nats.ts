/** NATS (the `nats` client): core publish/subscribe, and JetStream for confirmed publishing. */
import { connect } from "nats";
import { benchPayload } from "../specs.ts";
import type { ConfirmedPublisher, StreamPublisher, Subscriber } from "./roles.ts";

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

export async function openNatsSubscriber(servers: string, subject: string): Promise<Subscriber> {
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
