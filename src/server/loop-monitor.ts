/** How often the monitor looks: finer would cost CPU, coarser would hide short stalls. */
const TICK_MS = 5;
/** The recent window: long enough to span a benchmark step, short enough to forget start-up. */
const WINDOW_SECONDS = 10;

/** Measures event-loop stalls: how late a periodic timer fires beyond its interval. */
export class LoopMonitor {
  maxStallMs = 0;
  stallsOver20ms = 0;
  /** Worst stall of each of the last WINDOW_SECONDS seconds, oldest first. */
  private readonly perSecond: number[] = [0];
  private second = Math.floor(performance.now() / 1000);
  private last = performance.now();
  private readonly timer = setInterval(() => {
    const now = performance.now();
    const stall = Math.max(0, now - this.last - TICK_MS);
    this.last = now;
    if (stall > this.maxStallMs) this.maxStallMs = stall;
    if (stall > 20) this.stallsOver20ms++;
    const second = Math.floor(now / 1000);
    for (; this.second < second; this.second++) {
      this.perSecond.push(0);
      if (this.perSecond.length > WINDOW_SECONDS) this.perSecond.shift();
    }
    const i = this.perSecond.length - 1;
    if (stall > this.perSecond[i]!) this.perSecond[i] = stall;
  }, TICK_MS);

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
