import { ClientErrorCodes, PubsubError } from "./errors.ts";

/**
 * The credential the client presents: an API key or a JWT, or a function that gets one (from the
 * application's backend, say). A function is called for each new connection and for each refresh,
 * so a JWT can be renewed before it expires; a string is used as it is, for as long as it lasts.
 */
export type TokenSource = string | (() => string | Promise<string>);

/**
 * A JWT is renewed this long before its exp at the latest. More than the broker's TOKEN_EXPIRING
 * notice (30 s before exp): a client that renews on its own is not asked to.
 */
export const REFRESH_AHEAD_MS = 60_000;

/** Bearer tokens (JWTs, API keys) are visible ASCII; anything else would break the header, or echo the token in fetch's error. */
const TOKEN_TEXT = /^[\x21-\x7e]+$/;

/**
 * The `exp` of a JWT, in milliseconds since the epoch; undefined for anything else (an API key).
 * The payload is decoded, not verified: the client only needs to know when to renew; the broker
 * verifies.
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined || parts[1] === "") return undefined;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const payload: unknown = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")));
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When a token obtained at `obtainedAt` and expiring at `expiresAt` is due for renewal: at
 * REFRESH_AHEAD_MS before exp, but never before half its lifetime, so a source that hands out
 * short tokens is not called in a loop.
 */
export const renewalAt = (obtainedAt: number, expiresAt: number): number =>
  obtainedAt + Math.max((expiresAt - obtainedAt) / 2, expiresAt - obtainedAt - REFRESH_AHEAD_MS);

type Held = { readonly token: string; readonly expiresAt: number | undefined; readonly renewAt: number };

/**
 * The client's tokens: asks the source, keeps the latest for REST calls, knows when it is due.
 * Concurrent asks share one call of the source. The token never goes into a message or a log.
 */
export class Tokens {
  private held: Held | undefined;
  private asking: Promise<string> | undefined;

  constructor(
    private readonly source: TokenSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** A function can hand out a new token; a string is what it is. */
  get renewable(): boolean {
    return typeof this.source === "function";
  }

  /** A token from the source, now: for a new connection or a refresh. Rejects with TOKEN_UNAVAILABLE. */
  fresh(): Promise<string> {
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    return this.asking;
  }

  /** The latest token while it is not due for renewal, else a fresh one: for REST calls. */
  async current(): Promise<string> {
    const held = this.held;
    if (held !== undefined && (held.expiresAt === undefined || !this.renewable || this.now() < held.renewAt)) return held.token;
    return this.fresh();
  }

  private async ask(): Promise<string> {
    let token: unknown;
    try {
      token = typeof this.source === "function" ? await this.source() : this.source;
    } catch (error) {
      throw new PubsubError(ClientErrorCodes.TOKEN_UNAVAILABLE, `the token function failed: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
    }
    if (typeof token !== "string" || !TOKEN_TEXT.test(token)) {
      throw new PubsubError(ClientErrorCodes.TOKEN_UNAVAILABLE, "the token must be a non-empty string of visible ASCII characters (an API key or a JWT)");
    }
    const obtainedAt = this.now();
    const expiresAt = jwtExpiry(token);
    this.held = { token, expiresAt, renewAt: expiresAt === undefined ? Infinity : renewalAt(obtainedAt, expiresAt) };
    return token;
  }
}
