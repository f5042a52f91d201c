/**
 * Consumers, acks and publishes as the delivery-guarantee tests use them: real sockets against a
 * real broker, and a PING round trip as the barrier that makes "nothing more arrived" checkable
 * without sleeping.
 */
import { api } from "./broker-process.ts";
import { TestSocket } from "./ws-client.ts";

let pings = 0;

/** Opens a socket, sends CONSUME and waits for CONSUMING. */
export async function openConsumer(wsUrl: string, queue: string, prefetch?: number): Promise<TestSocket> {
  const socket = await TestSocket.open(wsUrl);
  await consume(socket, queue, prefetch);
  return socket;
}

export async function consume(socket: TestSocket, queue: string, prefetch?: number): Promise<void> {
  const id = `consume-${queue}-${++pings}`;
  socket.send({ type: "CONSUME", payload: { queue_name: queue, id, ...(prefetch === undefined ? {} : { prefetch }) } });
  await socket.until((frames) => frames.some((f) => f.payload?.id === id));
  const answer = socket.frames.find((f) => f.payload?.id === id);
  if (answer.type !== "CONSUMING") throw new Error(`CONSUME ${queue}: ${JSON.stringify(answer)}`);
}

/** Opens a socket, sends SUBSCRIBE (with `since` if given) and waits for SUBSCRIBED. */
export async function openSubscriber(wsUrl: string, queue: string, since?: number): Promise<TestSocket> {
  const socket = await TestSocket.open(wsUrl);
  const id = `subscribe-${queue}-${++pings}`;
  socket.send({ type: "SUBSCRIBE", payload: { queue_name: queue, id, ...(since === undefined ? {} : { since }) } });
  await socket.until((frames) => frames.some((f) => f.payload?.id === id));
  return socket;
}

/**
 * PING and wait for its PONG. The broker sends a socket's frames in order, so every delivery it had
 * sent this socket before handling the PING is in `socket.frames` when this returns.
 */
export async function roundTrip(socket: TestSocket): Promise<void> {
  const id = `ping-${++pings}`;
  socket.send({ type: "PING", id });
  await socket.until((frames) => frames.some((f) => f.type === "PONG" && f.payload?.id === id));
}

export const ack = (socket: TestSocket, delivery: { delivery_tag: number }, id?: string): void =>
  socket.send({ type: "ACK", payload: { delivery_tag: delivery.delivery_tag, ...(id === undefined ? {} : { id }) } });

export const nack = (socket: TestSocket, delivery: { delivery_tag: number }, requeue: boolean): void =>
  socket.send({ type: "NACK", payload: { delivery_tag: delivery.delivery_tag, requeue } });

/** Acks every delivery as it arrives, like a worker that always succeeds. */
export function ackEverything(socket: TestSocket): void {
  socket.ws.addEventListener("message", (event) => {
    const frame = JSON.parse(String(event.data));
    if (frame.type === "MESSAGE" && frame.delivery_tag !== undefined) ack(socket, frame);
  });
}

/** Publishes through the default exchange over HTTP; fails the test unless the broker answers 200. */
export async function publish(url: string, queue: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await api(url, "POST", "/publish", { exchange_name: "", key: queue, payload, ...extra });
  if (res.status !== 200) throw new Error(`publish to ${queue} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export const queueInfo = async (url: string, name: string): Promise<any> => (await api(url, "GET", `/queues/${encodeURIComponent(name)}`)).body;

/** Declares a queue over HTTP; fails the test unless the broker answers 200. */
export async function declareQueue(url: string, name: string, args: Record<string, unknown> = {}): Promise<void> {
  const res = await api(url, "POST", "/queues", { name, ...args });
  if (res.status !== 200) throw new Error(`declare ${name} -> ${res.status} ${JSON.stringify(res.body)}`);
}

export const bodies = (deliveries: any[]): unknown[] => deliveries.map((m) => m.body);
