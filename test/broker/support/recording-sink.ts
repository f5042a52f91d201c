import type { ConsumerFields, DeliverySink, QueueRef } from "../../../src/broker/delivery-sink.ts";
import type { Entry } from "../../../src/core/queue.ts";

export type SubscriberDelivery = { readonly queue: string; readonly seq: number; readonly body: unknown; readonly headers: Entry["message"]["headers"] };
export type ConsumerDelivery = SubscriberDelivery & { readonly consumer: string } & ConsumerFields;

/**
 * A DeliverySink that records what the broker handed out, as data. `pressured` makes it answer as a
 * transport whose subscriber has unsent data (toSubscribers returns false), while still taking the message.
 */
export class RecordingSink implements DeliverySink {
  readonly toSubscribersOf: SubscriberDelivery[] = [];
  readonly toConsumers: ConsumerDelivery[] = [];
  readonly revoked: { consumer: string; tag: number }[] = [];
  readonly detached: { queue: string; reason: string }[] = [];
  pressured = false;

  toSubscribers(queue: QueueRef, entry: Entry): boolean {
    this.toSubscribersOf.push(delivered(queue, entry));
    return !this.pressured;
  }

  toConsumer(consumer: string, queue: QueueRef, entry: Entry, fields: ConsumerFields): void {
    this.toConsumers.push({ ...delivered(queue, entry), consumer, ...fields });
  }

  revoke(consumer: string, tag: number): void {
    this.revoked.push({ consumer, tag });
  }

  detachAll(queue: string, reason: string): void {
    this.detached.push({ queue, reason });
  }

  /** Bodies the subscribers of `queue` were sent, in order. */
  subscriberBodies(queue: string): unknown[] {
    return this.toSubscribersOf.filter((d) => d.queue === queue).map((d) => d.body);
  }

  /** Bodies consumers of `queue` were sent, in order. */
  consumerBodies(queue: string): unknown[] {
    return this.toConsumers.filter((d) => d.queue === queue).map((d) => d.body);
  }
}

const delivered = (queue: QueueRef, entry: Entry): SubscriberDelivery => ({
  queue: queue.name,
  seq: entry.seq,
  body: JSON.parse(entry.message.body),
  headers: entry.message.headers,
});
