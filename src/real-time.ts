import type { Clock, Scheduler } from "./broker/scheduler.ts";

/** The process's real time, given to the broker by run.ts: the broker itself reads no clock and starts no timer. */
export const systemClock: Clock = { now: Date.now };

export const realScheduler: Scheduler = {
  every(ms, task) {
    const timer = setInterval(task, ms);
    timer.unref?.();
    return () => clearInterval(timer);
  },
  after(ms, task) {
    const timer = setTimeout(task, ms);
    return () => clearTimeout(timer);
  },
  soon(task) {
    const immediate = setImmediate(task);
    return () => clearImmediate(immediate);
  },
};
