import type { ClientOptions, PubsubError } from "../client/index.ts";
import { complain } from "./output.ts";

/** subscribe and consume say on stderr when the connection drops and comes back; stdout stays data. */
export const followOptions: ClientOptions = {
  onConnection: (() => {
    let lost = false;
    return (event) => {
      if (event.state === "lost" && event.willRetry && !lost) complain(`${event.error.message}; reconnecting`);
      if (event.state === "open" && lost) complain("reconnected");
      lost = event.state === "lost";
    };
  })(),
};

/**
 * Resolves with the exit status of a command that runs until told to stop: 0 when `done`
 * resolves or on SIGINT/SIGTERM; the ending's error is thrown (exit 1) when the broker ended it.
 */
export async function runUntilStopped(done: Promise<void>, ended: Promise<PubsubError | undefined>): Promise<number> {
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const error = await Promise.race([done.then(() => undefined), stopped.then(() => undefined), ended]);
    if (error !== undefined) throw error;
    return 0;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
