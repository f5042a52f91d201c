/** How the client retries a dropped connection. */
export type ReconnectPolicy = {
  /** The first retry waits up to this long. */
  initialDelayMs: number;
  /** No retry waits longer than this. */
  maxDelayMs: number;
  /** Attempts after a drop before giving up; Infinity (the default) never gives up. */
  maxAttempts: number;
};

/** A broker restart takes about a second: the first retries come quickly, then back off to a few seconds. */
export const DEFAULT_RECONNECT: ReconnectPolicy = { initialDelayMs: 100, maxDelayMs: 5_000, maxAttempts: Infinity };

/**
 * The wait before retry number `attempt` (0 for the first): exponential, capped, with "equal
 * jitter" — half fixed, half random — so a broker restart is not met by every client at once,
 * and no retry comes sooner than half its step. `random` is passed in so tests need no luck.
 */
export function backoffDelay(attempt: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}
