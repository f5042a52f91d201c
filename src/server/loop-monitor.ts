import { COUNTED_STALL_MS, LOOP_TICK_MS, LOOP_WINDOW_SECONDS } from "./limits.ts";

/** Measures event-loop stalls: how late a periodic timer fires beyond its interval. */
export class LoopMonitor {
  maxStallMs = 0;
  stallsOver20ms = 0;
  /** Worst stall of each of the last LOOP_WINDOW_SECONDS seconds, oldest first. */
  private readonly perSecond: number[] = [0];
  private second = Math.floor(performance.now() / 1000);
  private last = performance.now();
  private readonly timer = setInterval(() => {
    const now = performance.now();
    const stall = Math.max(0, now - this.last - LOOP_TICK_MS);
    this.last = now;
    if (stall > this.maxStallMs) this.maxStallMs = stall;
    if (stall > COUNTED_STALL_MS) this.stallsOver20ms++;
    const second = Math.floor(now / 1000);
    for (; this.second < second; this.second++) {
      this.perSecond.push(0);
      if (this.perSecond.length > LOOP_WINDOW_SECONDS) this.perSecond.shift();
    }
    const i = this.perSecond.length - 1;
    if (stall > this.perSecond[i]!) this.perSecond[i] = stall;
  }, LOOP_TICK_MS);

  constructor() {
    this.timer.unref?.();
  }

  /** Worst stall within the last ten seconds. */
  get recentMaxStallMs(): number {
    return Math.max(...this.perSecond);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
