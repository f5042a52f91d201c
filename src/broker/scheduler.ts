/** Stops a scheduled task; calling it again, or after the task ran, does nothing. */
export type Cancel = () => void;

/**
 * Where the broker's timers come from: periodic work (checkpoints, ticks, delivery counts), a paused
 * backlog's retry, and the next turn of the event loop for a backlog that drains in slices. The
 * broker never calls setInterval/setTimeout/setImmediate itself, so a test can run it on a fake clock
 * (test/broker/support/manual-scheduler.ts); the process's real ones are in src/real-time.ts.
 */
export interface Scheduler {
  /** Runs `task` every `ms` until cancelled; never keeps the process alive by itself. */
  every(ms: number, task: () => void): Cancel;
  /** Runs `task` once, `ms` from now. */
  after(ms: number, task: () => void): Cancel;
  /** Runs `task` once, after the I/O of this turn of the event loop (setImmediate). */
  soon(task: () => void): Cancel;
}

/** The broker's only clock: milliseconds since the epoch. */
export type Clock = { now(): number };
