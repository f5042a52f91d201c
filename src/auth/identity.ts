/**
 * Who a connection or request is, once authenticated: what the transport keeps per connection and
 * asks `permissions` on every operation. Its own module, so users.ts and jwt.ts can build one
 * without importing the Authenticator that uses them.
 */
import { FULL_ACCESS, type Permissions } from "./permissions.ts";

export type Identity = Readonly<{
  user: string;
  /** May manage users, keys and connections (the REST admin routes). Resource access is `permissions` all the same. */
  admin: boolean;
  permissions: Permissions;
  /** Milliseconds since the Unix epoch when the credential stops being valid (a JWT's `exp`); none for API keys. */
  expiresAt?: number;
  via: "api_key" | "jwt" | "loopback" | "none";
  /** The API key it authenticated with (`via: "api_key"`): deleting that key ends its connections. */
  keyId?: string;
  /** A JWT's permission claim alone, before narrowing by the user's: what `Authenticator.recheck` narrows again. */
  tokenPermissions?: Permissions;
  /** [AUTH-7] A JWT whose sub was a user when it authenticated: if that user goes, so does its access (the claim alone would widen it). */
  ofUser?: boolean;
}>;

/**
 * RabbitMQ's `guest`: with no users configured, a client on loopback has full access (and may
 * create the first users). The transport decides what "loopback" is; this is only the identity.
 */
export const LOOPBACK_GUEST: Identity = Object.freeze({ user: "guest", admin: true, permissions: FULL_ACCESS, via: "loopback" });

/** AUTH=none, documented as unsafe: every client has full access, from anywhere. */
export const UNAUTHENTICATED: Identity = Object.freeze({ user: "anonymous", admin: true, permissions: FULL_ACCESS, via: "none" });
