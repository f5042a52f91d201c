/** How often the monitor looks: finer would cost CPU, coarser would hide short stalls. */
const TICK_MS = 5;

/** Measures event-loop stalls: how late a periodic timer fires beyond its interval. */
export class LoopMonitor {
  maxStallMs = 0;
  stallsOver20ms = 0;
  private last = performance.now();
  private readonly timer = setInterval(() => {
    const now = performance.now();
    const stall = now - this.last - TICK_MS;
    this.last = now;
    if (stall > this.maxStallMs) this.maxStallMs = stall;
    if (stall > 20) this.stallsOver20ms++;
  }, TICK_MS);

  constructor() {
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
