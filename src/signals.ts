/**
 * SIGTERM and SIGINT are caught from the first line of `serve`, before the store opens
 * [SIGNAL-1]: a signal that arrived before the handlers existed killed the process unflushed
 * (exit 143). Until the broker serves, a signal is only recorded; start-up finishes the step it
 * is in (migrating, restoring) and then stops cleanly instead of listening.
 */
export type Signals = {
  /** The first signal received before a handler was set, if any. */
  readonly received: string | undefined;
  /** From now on signals go to `handler`; one already received is handed over at once. */
  handle(handler: (signal: string) => void): void;
};

export function catchSignals(): Signals {
  let received: string | undefined;
  let handler: ((signal: string) => void) | undefined;
  const deliver = (signal: string) => {
    if (handler) handler(signal);
    else received ??= signal;
  };
  process.on("SIGTERM", () => deliver("SIGTERM"));
  process.on("SIGINT", () => deliver("SIGINT"));
  return {
    get received() {
      return received;
    },
    handle(next) {
      handler = next;
      if (received !== undefined) next(received);
    },
  };
}
