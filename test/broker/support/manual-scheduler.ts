import type { Cancel, Clock, Scheduler } from "../../../src/broker/scheduler.ts";

/** A clock that moves only when the test says so. */
export class FakeClock implements Clock {
  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  /** Only forward: a broker's clock never goes back. */
  set(time: number): void {
    if (time < this.time) throw new Error(`the fake clock cannot go back from ${this.time} to ${time}`);
    this.time = time;
  }
}

type Timer = { at: number; readonly period: number | undefined; readonly task: () => void; readonly order: number };

/** Past this many `soon` tasks in one runSoon(), something reschedules itself forever: a bug in the test or the broker. */
const MAX_SOON_TASKS = 100_000;

/**
 * A Scheduler driven by the test: timers run when advance() moves the fake clock past them, each
 * at its own time and in time order (then in the order they were made); `soon` tasks run in
 * runSoon(), and after every timer, as the event loop would run them before the next timer.
 */
export class ManualScheduler implements Scheduler {
  private readonly timers = new Set<Timer>();
  private readonly soonTasks: (() => void)[] = [];
  private made = 0;

  constructor(readonly clock: FakeClock) {}

  every(ms: number, task: () => void): Cancel {
    return this.add({ at: this.clock.now() + ms, period: ms, task, order: this.made++ });
  }

  after(ms: number, task: () => void): Cancel {
    return this.add({ at: this.clock.now() + ms, period: undefined, task, order: this.made++ });
  }

  soon(task: () => void): Cancel {
    let cancelled = false;
    this.soonTasks.push(() => {
      if (!cancelled) task();
    });
    return () => {
      cancelled = true;
    };
  }

  /** Timers still scheduled, periodic ones included. */
  get pending(): number {
    return this.timers.size;
  }

  /** Runs the `soon` tasks, and those they schedule, until none is left; returns how many ran. */
  runSoon(): number {
    let ran = 0;
    for (let task = this.soonTasks.shift(); task !== undefined; task = this.soonTasks.shift()) {
      if (++ran > MAX_SOON_TASKS) throw new Error("soon tasks keep scheduling soon tasks");
      task();
    }
    return ran;
  }

  /** Moves the clock `ms` forward, stopping at each due timer to run it (and the soon tasks after it). */
  advance(ms: number): void {
    const until = this.clock.now() + ms;
    this.runSoon();
    for (let next = this.nextDue(until); next !== undefined; next = this.nextDue(until)) {
      this.clock.set(Math.max(this.clock.now(), next.at));
      if (next.period === undefined) this.timers.delete(next);
      else next.at += next.period;
      next.task();
      this.runSoon();
    }
    this.clock.set(until);
  }

  private nextDue(until: number): Timer | undefined {
    let due: Timer | undefined;
    for (const timer of this.timers) {
      if (timer.at > until) continue;
      if (due === undefined || timer.at < due.at || (timer.at === due.at && timer.order < due.order)) due = timer;
    }
    return due;
  }

  private add(timer: Timer): Cancel {
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  }
}
