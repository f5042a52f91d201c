/**
 * A backoff after failed authentications, per remote address: the first `freeFailures` cost
 * nothing, each one after them refuses that address's attempts for baseDelayMs, then twice that,
 * and so on up to maxDelayMs. An address with no failure for forgetAfterMs is forgotten, and at
 * most maxEntries addresses are remembered (the one failing least recently goes first), so an
 * attacker spraying addresses cannot grow memory. Time comes from the clock; no timers.
 */
import type { Clock } from "../../broker/scheduler.ts";
import { addressKey } from "./address.ts";
import { AbuseCodes, AUTH_BACKOFF_IPV6_PREFIX_BITS, DEFAULT_AUTH_BACKOFF_MAX_ADDRESSES } from "./limits.ts";

export type AuthBackoffOptions = {
  readonly clock: Clock;
  /** Failures from an address before it is refused at all. */
  readonly freeFailures: number;
  /** The first refusal's length; each further failure doubles it. */
  readonly baseDelayMs: number;
  /** The longest refusal. */
  readonly maxDelayMs: number;
  /** An address with no failure for this long starts over. */
  readonly forgetAfterMs: number;
  /** Addresses remembered at most (default DEFAULT_AUTH_BACKOFF_MAX_ADDRESSES). */
  readonly maxEntries?: number;
  /** IPv6 addresses are counted by this prefix (default AUTH_BACKOFF_IPV6_PREFIX_BITS, 64). */
  readonly ipv6PrefixBits?: number;
};

export type AuthBackoffRefusal = {
  readonly code: typeof AbuseCodes.RATE_LIMITED;
  readonly reason: "auth_backoff";
  readonly retryAfterMs: number;
};

export type AuthBackoffStats = {
  /** Addresses remembered now (bounded by maxEntries). */
  readonly tracked: number;
  /** Failed authentications reported, since start. */
  readonly failures_total: number;
  /** Attempts refused by check(), since start. */
  readonly refused_total: number;
  /** Addresses forgotten because maxEntries was reached (not those forgotten by age), since start. */
  readonly evicted_total: number;
};

type Entry = { failures: number; lastFailureAt: number; blockedUntil: number };

export class AuthBackoff {
  /** In order of last failure, oldest first: eviction and expiry take from the front. */
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly ipv6PrefixBits: number;
  private failures = 0;
  private refused = 0;
  private evicted = 0;

  constructor(private readonly options: AuthBackoffOptions) {
    this.maxEntries = options.maxEntries ?? DEFAULT_AUTH_BACKOFF_MAX_ADDRESSES;
    this.ipv6PrefixBits = options.ipv6PrefixBits ?? AUTH_BACKOFF_IPV6_PREFIX_BITS;
    if (this.maxEntries < 1) throw new RangeError(`maxEntries must be at least 1, got ${this.maxEntries}`);
    if (options.maxDelayMs < options.baseDelayMs) throw new RangeError("maxDelayMs must not be less than baseDelayMs");
  }

  /** Whether an attempt from this address may be checked now: true, or how long until it may. */
  check(address: string | null | undefined): true | AuthBackoffRefusal {
    const key = addressKey(address, this.ipv6PrefixBits);
    if (key === undefined) return true;
    const entry = this.entries.get(key);
    if (entry === undefined) return true;
    const now = this.options.clock.now();
    if (now - entry.lastFailureAt >= this.options.forgetAfterMs) {
      this.entries.delete(key);
      return true;
    }
    if (now >= entry.blockedUntil) return true;
    this.refused++;
    return { code: AbuseCodes.RATE_LIMITED, reason: "auth_backoff", retryAfterMs: entry.blockedUntil - now };
  }

  /** An attempt from this address failed; returns how long it is refused now (0: not refused). */
  failed(address: string | null | undefined): number {
    const key = addressKey(address, this.ipv6PrefixBits);
    if (key === undefined) return 0;
    this.failures++;
    const now = this.options.clock.now();
    this.forgetOld(now);
    const known = this.entries.get(key);
    const entry = known ?? { failures: 0, lastFailureAt: now, blockedUntil: now };
    if (known !== undefined) this.entries.delete(key); // re-inserted at the back: the newest failure
    entry.failures++;
    entry.lastFailureAt = now;
    const delay = this.delayAfter(entry.failures);
    entry.blockedUntil = now + delay;
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
      this.evicted++;
    }
    return delay;
  }

  /** An attempt from this address succeeded: it starts over with its free failures. */
  succeeded(address: string | null | undefined): void {
    const key = addressKey(address, this.ipv6PrefixBits);
    if (key !== undefined) this.entries.delete(key);
  }

  /** The refusal after the `failures`-th failure: 0 within the free ones, then base × 2^k up to the cap. */
  delayAfter(failures: number): number {
    const { freeFailures, baseDelayMs, maxDelayMs } = this.options;
    const over = failures - freeFailures;
    if (over <= 0) return 0;
    // 2^over overflows nothing before it passes any cap: stop doubling at 52
    return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(over - 1, 52));
  }

  stats(): AuthBackoffStats {
    return { tracked: this.entries.size, failures_total: this.failures, refused_total: this.refused, evicted_total: this.evicted };
  }

  /** Drops entries from the front whose last failure is older than forgetAfterMs (amortised O(1)). */
  private forgetOld(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.lastFailureAt < this.options.forgetAfterMs) return;
      this.entries.delete(key);
    }
  }
}
