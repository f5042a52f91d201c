import { positionalsOf, wholeFlag } from "./args.ts";
import type { ClientCommand } from "./client-command.ts";
import { runUntilStopped } from "./follow.ts";
import { printLine } from "./output.ts";

/** `pubsub subscribe <queue>`: every message as a JSON line, resuming by itself after a dropped connection. */
export const subscribeCommand: ClientCommand = {
  flags: { since: { type: "string" }, count: { type: "string" } },
  async run(client, args) {
    const [queue] = positionalsOf(args, ["queue"]) as [string];
    const since = wholeFlag(args.flags, "since");
    const count = wholeFlag(args.flags, "count", 1);
    // Over HTTP first: an unreachable broker is reported with its reason (refused, unknown host).
    await client.ping();
    let printed = 0;
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const subscription = await client.subscribe(
      queue,
      async (message) => {
        if (count !== undefined && printed >= count) return;
        await printLine(message);
        if (++printed === count) finish();
      },
      since === undefined ? {} : { since },
    );
    return runUntilStopped(done, subscription.closed);
  },
};
