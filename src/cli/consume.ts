import { positionalsOf, wholeFlag } from "./args.ts";
import type { ClientCommand } from "./client-command.ts";
import { runUntilStopped } from "./follow.ts";
import { printLine } from "./output.ts";

/** `pubsub consume <queue>`: takes messages as a competing consumer, prints each as a JSON line, then acks it. */
export const consumeCommand: ClientCommand = {
  flags: { prefetch: { type: "string" }, count: { type: "string" } },
  async run(client, args) {
    const [queue] = positionalsOf(args, ["queue"]) as [string];
    const count = wholeFlag(args.flags, "count", 1);
    const prefetch = wholeFlag(args.flags, "prefetch", 1);
    await client.ping();
    let taken = 0;
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const consumer = await client.consume(
      queue,
      async (delivery) => {
        // Past --count: left unacked, and handed back to the queue when the consumer closes.
        if (count !== undefined && taken >= count) return;
        taken++;
        await printLine(delivery);
        await delivery.ack();
        if (taken === count) finish();
      },
      // No more unacked at once than are wanted: the rest stay in the queue for others.
      { prefetch: Math.min(prefetch ?? 10, count ?? Infinity) },
    );
    const status = await runUntilStopped(done, consumer.closed);
    await consumer.close();
    return status;
  },
};
