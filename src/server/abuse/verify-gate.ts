/**
 * [AUTH-11] At most a few credential checks at a time per remote host; the rest wait their turn.
 * The auth backoff counts a failure once its check is done, so guesses sent all at once were all
 * checked before the first one counted: a burst of 1,000 guesses got past a backoff meant to allow
 * 5. Waiting, not refusing: a burst of valid credentials from one host (clients behind one NAT, a
 * pool reconnecting) gets through, a little later, and each guess meets the backoff as it stands.
 * Pure apart from promises; keys as the backoff counts hosts (addressKey).
 */
import { addressKey } from "./address.ts";
import { AUTH_BACKOFF_IPV6_PREFIX_BITS } from "./limits.ts";

/** Credential checks run at once per host. */
export const VERIFYING_PER_ADDRESS = 2;
/** Checks waiting per host before more are refused outright (each is an open request or socket). */
export const WAITING_PER_ADDRESS = 1_000;

type Slot = { running: number; waiting: (() => void)[] };

export class VerifyGate {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly perAddress = VERIFYING_PER_ADDRESS,
    private readonly maxWaiting = WAITING_PER_ADDRESS,
  ) {}

  /**
   * Runs `check` when this host's turn comes; undefined (run nothing) when too many already wait.
   * A check that throws frees its turn too.
   */
  async run<T>(address: string | undefined, check: () => Promise<T>): Promise<T | undefined> {
    const key = addressKey(address, AUTH_BACKOFF_IPV6_PREFIX_BITS);
    if (key === undefined) return check();
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { running: 0, waiting: [] };
      this.slots.set(key, slot);
    }
    if (slot.running >= this.perAddress) {
      if (slot.waiting.length >= this.maxWaiting) return undefined;
      await new Promise<void>((resolve) => slot!.waiting.push(resolve));
    } else slot.running++;
    try {
      return await check();
    } finally {
      const next = slot.waiting.shift();
      // The turn passes straight to the next waiter (running stays counted for it).
      if (next !== undefined) next();
      else if (--slot.running === 0) this.slots.delete(key);
    }
  }

  /** Hosts with a check running now (for tests and metrics). */
  get hosts(): number {
    return this.slots.size;
  }
}
