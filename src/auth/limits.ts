/** The auth layer's limits, each with its reason (as core/limits.ts). */

/**
 * Permission answers kept per compiled Permissions, per kind (names, routing keys). A connection
 * checks the same few names on every publish and subscribe; a bound keeps a client that walks
 * through a million names from growing the map without limit.
 */
export const PERMISSION_CACHE_ENTRIES = 1_024;

/**
 * Argon2id cost for API key hashes: OWASP's minimum (19 MiB, 2 passes, 1 lane). A key holds 256
 * random bits, so the hash does not need to slow down guessing; a higher cost would only give a
 * client with bad keys a cheaper way to burn the broker's CPU (~50 ms per failed attempt here).
 */
export const KEY_HASH_COST = { memoryCost: 19_456, timeCost: 2 } as const;

/** How long a verified API key skips argon2 (by its SHA-256 digest): a revoked key is refused at once anyway. */
export const VERIFIED_KEY_TTL_MS = 5 * 60_000;
/** Verified keys remembered at most; past it the oldest goes first. */
export const VERIFIED_KEY_ENTRIES = 10_000;

/** Random bytes in a key's secret: 256 bits, twice the 128 the issue asks for. */
export const KEY_SECRET_BYTES = 32;
/** Random bytes in a key's id: 64 bits, enough that two keys never collide; the id is not secret. */
export const KEY_ID_BYTES = 8;

/**
 * Verified JWTs remembered until they expire: a client that sends its token on every HTTP request
 * pays jose's verify once. Bounded (the oldest goes first) like the verified API keys.
 */
export const VERIFIED_JWT_ENTRIES = 10_000;

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output, 256 bits. */
export const MIN_HS256_SECRET_BYTES = 32;

/** A user name: short enough for a log line and a Basic header, long enough for an e-mail address. */
export const MAX_USER_NAME_LENGTH = 128;

/** A bearer credential longer than this is refused before it is parsed: a JWT with permissions is a few KB. */
export const MAX_BEARER_BYTES = 16 * 1024;
