/**
 * Limits against abuse (issue 13, item 7), each with its reason, and the configuration that sets
 * them. `parseLimitsConfig` reads only the env object it is given (config.ts passes process.env).
 */

// ---- refusal codes -------------------------------------------------------------------------------

/**
 * Stable codes of a refusal (tests assert these, not the prose), the same strings as core's
 * ErrorCodes.CONNECTION_LIMIT (503: the broker or this address is full) and RATE_LIMITED (429, with
 * Retry-After from retryAfterMs: a publish over its rate, or an address in its authentication
 * backoff; the refusal's `reason` tells the two apart for logs and metrics).
 */
export const AbuseCodes = {
  CONNECTION_LIMIT: "CONNECTION_LIMIT",
  RATE_LIMITED: "RATE_LIMITED",
} as const;
export type AbuseCode = (typeof AbuseCodes)[keyof typeof AbuseCodes];

// ---- connections ---------------------------------------------------------------------------------

/**
 * Open connections (WebSocket sessions) the broker accepts in all, MAX_CONNECTIONS. Each holds a
 * Bun socket, a session and its send buffer (up to SUBSCRIBER_MAX_BUFFER_BYTES when slow), so
 * the bound is about memory and file descriptors: 10,000 fits the usual `ulimit -n` raised to
 * 65,536 with room for the database and HTTP. NATS defaults to 65,536 (its connections are
 * cheaper), Centrifugo to none; RabbitMQ to none, limited by file descriptors. 0: no limit.
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** MAX_CONNECTIONS from 0 (no limit) to a million (past that, file descriptors run out first). */
export const MAX_CONNECTIONS_BOUNDS = { min: 0, max: 1_000_000 } as const;

/**
 * Open connections from one remote address, MAX_CONNECTIONS_PER_ADDRESS: one host cannot take
 * the whole of MAX_CONNECTIONS. 1,000, not RabbitMQ's or NATS's usual handful per client, because
 * a load test or a gateway on one host (loopback benches open hundreds) is a legitimate single
 * address; behind a proxy every client shares its address, so raise it or set 0 there. 0: no limit.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 1_000;
export const MAX_CONNECTIONS_PER_ADDRESS_BOUNDS = { min: 0, max: 1_000_000 } as const;

// ---- publish rate --------------------------------------------------------------------------------

/**
 * Messages a second one connection may publish, PUBLISH_RATE_PER_CONNECTION (a token bucket). Off
 * by default (0), as in RabbitMQ and NATS, which push back with flow control instead of a rate: the
 * broker's memory and disk alarms already stop a publisher that outruns the store, and a default
 * rate would cap the throughput benches silently. Centrifugo's per-connection limits are opt-in too.
 */
export const DEFAULT_PUBLISH_RATE_PER_CONNECTION = 0;
/** From 0 (no limit) to ten million a second (beyond what one connection can send). */
export const PUBLISH_RATE_BOUNDS = { min: 0, max: 10_000_000 } as const;

/**
 * PUBLISH_BURST: messages a connection may publish at once above its rate (the bucket's size).
 * Unset: one second's worth of the rate, so a client that is idle a second may send that second's
 * messages in one batch, the usual bucket size.
 */
export const PUBLISH_BURST_BOUNDS = { min: 1, max: 10_000_000 } as const;

// ---- authentication backoff ----------------------------------------------------------------------

/**
 * Failed authentications from one address before its attempts are refused for a while,
 * AUTH_FAILURES_FREE: room for a mistyped key or an expired token retried by a client, as
 * OpenSSH's MaxAuthTries (6) and fail2ban's maxretry (5) leave room.
 */
export const DEFAULT_AUTH_FAILURES_FREE = 5;
export const AUTH_FAILURES_FREE_BOUNDS = { min: 0, max: 1_000 } as const;

/**
 * AUTH_BACKOFF_BASE_MS: the first refusal after the free failures lasts this long, and each further
 * failure doubles it: 1 s, 2 s, 4 s … A guesser gets a few dozen tries an hour instead of thousands
 * a second, while someone who mistyped waits seconds.
 */
export const DEFAULT_AUTH_BACKOFF_BASE_MS = 1_000;
export const AUTH_BACKOFF_BASE_MS_BOUNDS = { min: 1, max: 3_600_000 } as const;

/**
 * AUTH_BACKOFF_MAX_MS: the longest refusal. A minute: long enough that guessing is hopeless (an API
 * key has 128+ bits, a JWT secret too), short enough that a legitimate client behind a shared NAT
 * address recovers without an operator (fail2ban's 10-minute ban locks such users out).
 */
export const DEFAULT_AUTH_BACKOFF_MAX_MS = 60_000;
export const AUTH_BACKOFF_MAX_MS_BOUNDS = { min: 1, max: 86_400_000 } as const;

/**
 * AUTH_BACKOFF_FORGET_MS: an address with no failure for this long starts again with its free
 * failures (fail2ban's findtime is 10 min). 15 minutes: longer than the longest refusal, so an
 * address does not escape its backoff by waiting it out once.
 */
export const DEFAULT_AUTH_BACKOFF_FORGET_MS = 15 * 60_000;
export const AUTH_BACKOFF_FORGET_MS_BOUNDS = { min: 1, max: 7 * 86_400_000 } as const;

/**
 * AUTH_BACKOFF_MAX_ADDRESSES: addresses the backoff remembers at most; past it the one whose last
 * failure is oldest is forgotten. An entry costs ~150 bytes, so 65,536 is ~10 MiB: an attacker
 * spraying addresses (IPv6 gives plenty) cannot grow memory past that.
 */
export const DEFAULT_AUTH_BACKOFF_MAX_ADDRESSES = 65_536;
export const AUTH_BACKOFF_MAX_ADDRESSES_BOUNDS = { min: 1, max: 10_000_000 } as const;

/**
 * The backoff counts IPv6 peers by their /64: one host or home network is handed a whole /64 and can
 * pick any address in it, so counting each /128 would let it skip the backoff with every attempt.
 * Connections are counted per full address (a /64 may be a whole office behind one router).
 */
export const AUTH_BACKOFF_IPV6_PREFIX_BITS = 64;

// ---- configuration -------------------------------------------------------------------------------

export type LimitsConfig = Readonly<{
  /** MAX_CONNECTIONS; 0: no limit. */
  maxConnections: number;
  /** MAX_CONNECTIONS_PER_ADDRESS; 0: no limit. */
  maxConnectionsPerAddress: number;
  /** PUBLISH_RATE_PER_CONNECTION, messages a second; 0: no limit. */
  publishRatePerConnection: number;
  /** PUBLISH_BURST; defaults to the rate (at least 1). */
  publishBurst: number;
  authFailuresFree: number;
  authBackoffBaseMs: number;
  authBackoffMaxMs: number;
  authBackoffForgetMs: number;
  authBackoffMaxAddresses: number;
}>;

/** A bad value; the message names the variable (config.ts may rethrow it as its ConfigError). */
export class LimitsConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

type Env = Readonly<Record<string, string | undefined>>;
type Bounds = { readonly min: number; readonly max: number };

export function parseLimitsConfig(env: Env): LimitsConfig {
  const publishRatePerConnection = int(env, "PUBLISH_RATE_PER_CONNECTION", DEFAULT_PUBLISH_RATE_PER_CONNECTION, PUBLISH_RATE_BOUNDS);
  const authBackoffBaseMs = int(env, "AUTH_BACKOFF_BASE_MS", DEFAULT_AUTH_BACKOFF_BASE_MS, AUTH_BACKOFF_BASE_MS_BOUNDS);
  const authBackoffMaxMs = int(env, "AUTH_BACKOFF_MAX_MS", Math.max(DEFAULT_AUTH_BACKOFF_MAX_MS, authBackoffBaseMs), AUTH_BACKOFF_MAX_MS_BOUNDS);
  if (authBackoffMaxMs < authBackoffBaseMs) {
    throw new LimitsConfigError(
      "AUTH_BACKOFF_MAX_MS",
      `AUTH_BACKOFF_MAX_MS (${authBackoffMaxMs}) must not be less than AUTH_BACKOFF_BASE_MS (${authBackoffBaseMs})`,
    );
  }
  return Object.freeze({
    maxConnections: int(env, "MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, MAX_CONNECTIONS_BOUNDS),
    maxConnectionsPerAddress: int(env, "MAX_CONNECTIONS_PER_ADDRESS", DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, MAX_CONNECTIONS_PER_ADDRESS_BOUNDS),
    publishRatePerConnection,
    publishBurst: int(env, "PUBLISH_BURST", Math.max(1, publishRatePerConnection), PUBLISH_BURST_BOUNDS),
    authFailuresFree: int(env, "AUTH_FAILURES_FREE", DEFAULT_AUTH_FAILURES_FREE, AUTH_FAILURES_FREE_BOUNDS),
    authBackoffBaseMs,
    authBackoffMaxMs,
    authBackoffForgetMs: int(env, "AUTH_BACKOFF_FORGET_MS", DEFAULT_AUTH_BACKOFF_FORGET_MS, AUTH_BACKOFF_FORGET_MS_BOUNDS),
    authBackoffMaxAddresses: int(env, "AUTH_BACKOFF_MAX_ADDRESSES", DEFAULT_AUTH_BACKOFF_MAX_ADDRESSES, AUTH_BACKOFF_MAX_ADDRESSES_BOUNDS),
  });
}

/** A whole number within bounds; unset or blank is the default. `1e3` and `0x10` are refused: digits only. */
function int(env: Env, name: string, fallback: number, { min, max }: Bounds): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const text = raw.trim();
  const v = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new LimitsConfigError(name, `${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return v;
}
