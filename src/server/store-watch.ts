import { STORE_PING_EVERY_MS, STORE_PING_TIMEOUT_MS } from "./limits.ts";

export type StoreStatus = { ok: boolean; lastError?: string };

/**
 * Whether the database answers: pinged every STORE_PING_EVERY_MS for the overview, and on demand
 * for GET /readyz. A ping that takes longer than STORE_PING_TIMEOUT_MS counts as a failure.
 */
export class StoreWatch {
  status: StoreStatus = { ok: true };
  private inFlight: Promise<StoreStatus> | undefined;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly ping: () => Promise<void>) {
    this.timer = setInterval(() => void this.check(), STORE_PING_EVERY_MS);
    this.timer.unref?.();
  }

  /** Pings now (one ping at a time: concurrent callers share it) and records the answer. */
  check(): Promise<StoreStatus> {
    this.inFlight ??= this.pingOnce().then((status) => {
      this.status = status;
      this.inFlight = undefined;
      return status;
    });
    return this.inFlight;
  }

  private async pingOnce(): Promise<StoreStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PING_TIMEOUT_MS} ms`)), STORE_PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.ping(), timeout]);
      return { ok: true };
    } catch (error) {
      return { ok: false, lastError: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
