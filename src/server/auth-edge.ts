import { hostname } from "node:os";
import { ErrorCodes, fail, ok, type ErrorCode, type Result } from "../core/errors.ts";
import { LOOPBACK_GUEST, UNAUTHENTICATED, type Identity } from "../auth/identity.ts";
import { VerifyGate } from "./abuse/verify-gate.ts";
import { CSRF_HEADER, sameToken, sessionIdOf, type Sessions } from "./sessions.ts";

/** A credential as a client presents it: a bearer token (an API key or a JWT), or Basic user and API key. */
export type Credential = { readonly bearer: string } | { readonly basic: { readonly user: string; readonly password: string } };

/** A caller found from a credential (src/auth's Identity): a JWT's has its expiry (ms since the epoch). */
export type Identified = Identity;

/** src/auth's Authenticator, as the edge uses it. */
export type Identify = (credential: Credential) => Promise<Result<Identified>>;

/** Failed authentications per remote address (AuthBackoff), as the edge uses them. */
export type Backoff = {
  check(address: string): true | { retryAfterMs: number };
  failed(address: string): void;
  succeeded(address: string): void;
};

/**
 * - `none`: AUTH=none, everyone has full access (unsafe; documented as such).
 * - `guest`: no users or token keys configured: RabbitMQ's guest, full access from loopback only.
 * - `users`: every request but the public ones needs a credential.
 */
export type AuthMode = "none" | "guest" | "users";

export const GUEST: Identity = LOOPBACK_GUEST;
export const ANONYMOUS: Identity = UNAUTHENTICATED;

/** A browser request from another origin: its Origin is not the host it was sent to (an opaque "null" origin counts). */
export function crossOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return false;
  try {
    return new URL(origin).host !== (request.headers.get("host") ?? "").toLowerCase();
  } catch {
    return true;
  }
}

/** A page served from this machine's loopback (a dev server on localhost:3000): a client of this machine, as the guest rule means. */
export function loopbackOrigin(origin: string | null): boolean {
  if (origin === null) return false;
  try {
    const host = new URL(origin).hostname;
    return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || isLoopback(host);
  } catch {
    return false;
  }
}

/** A Host header that names this machine: localhost, a loopback address, or its own host name. */
export function loopbackHost(host: string): boolean {
  let name: string;
  try {
    name = new URL(`http://${host}`).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return false;
  }
  // The URL parser writes any IPv4 form as a dotted quad; "127.0.0.1.evil.example" is a name.
  return name === "localhost" || name.endsWith(".localhost") || name === "[::1]" || /^127(\.\d{1,3}){3}$/.test(name) || name === hostname().toLowerCase();
}

/** 127.0.0.0/8, ::1, and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined | null): boolean {
  if (address === undefined || address === null) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}

/** `Authorization: Bearer <token>` or `Basic base64(user:key)`; undefined when absent, an error when malformed. */
export function credentialOf(header: string | null): Result<Credential | undefined> {
  if (header === null || header.trim() === "") return ok(undefined);
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const value = rest.join(" ");
  switch (scheme?.toLowerCase()) {
    case "bearer":
      return value === "" ? fail(ErrorCodes.UNAUTHORIZED, "Authorization: Bearer needs a token") : ok({ bearer: value });
    case "basic": {
      let decoded: string;
      try {
        decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
      } catch {
        return fail(ErrorCodes.UNAUTHORIZED, "Authorization: Basic needs base64 of user:key");
      }
      const colon = decoded.indexOf(":");
      if (colon < 0) return fail(ErrorCodes.UNAUTHORIZED, "Authorization: Basic needs base64 of user:key");
      return ok({ basic: { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) } });
    }
    default:
      return fail(ErrorCodes.UNAUTHORIZED, "Authorization must be Bearer <token> or Basic <base64 user:key>");
  }
}

/** The subprotocol a browser offers to carry its token (it cannot set headers): `["pubsub", "bearer.<token>"]`; the broker answers `pubsub`. */
export const WS_PROTOCOL = "pubsub";
const BEARER_PROTOCOL = "bearer.";

export function protocolToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(",")) {
    const p = part.trim();
    if (p.startsWith(BEARER_PROTOCOL) && p.length > BEARER_PROTOCOL.length) return p.slice(BEARER_PROTOCOL.length);
  }
  return undefined;
}

/** `credential`: the one that identified the caller, to check again when users change. */
/** `csrf`: a session cookie on a state-changing request without its X-CSRF-Token (403). */
/** `session`: the dashboard session a cookie upgrade was let in by; its socket ends with it [SESSION-1]. */
export type EdgeAnswer = { caller?: Identified; credential?: Credential; problem?: string; code?: ErrorCode; retryAfterMs?: number; failed?: boolean; csrf?: boolean; session?: string };

/** Finds who is calling, once per request or connection, at the edge (serve.ts). */
export class AuthEdge {
  private readonly gate = new VerifyGate();

  constructor(
    readonly mode: AuthMode,
    private readonly identify: Identify | undefined,
    private readonly backoff: Backoff | undefined,
    /** A USERS_FILE with no users yet and no token keys: loopback is the guest until the first user is made (RabbitMQ's bootstrap). */
    private readonly bootstrapping: () => boolean = () => false,
    /** The dashboard's logins (cookie sessions). */
    readonly sessions?: Sessions,
    /** Origins ALLOWED_HOSTS names explicitly (not `*`): the operator's own pages, which may use the guest. */
    private readonly originListed: (origin: string | null) => boolean = () => false,
  ) {}

  /** Whether a WebSocket must send AUTH first (it brought no credential and is not let in by the mode). */
  get required(): boolean {
    return this.mode === "users" && !this.bootstrapping();
  }

  /** The caller of a request or upgrade without credentials, by the mode alone. */
  implicit(remote: string | undefined, request?: Request): EdgeAnswer {
    if (this.mode === "none") return { caller: ANONYMOUS };
    if (this.mode === "guest" || (this.mode === "users" && this.bootstrapping())) {
      // [AUTH-8] A page on another site runs in a browser on this machine too: its requests come
      // from loopback, but it is not the guest.
      const origin = request?.headers.get("origin") ?? null;
      if (request !== undefined && crossOrigin(request) && !loopbackOrigin(origin) && !this.originListed(origin)) {
        return { problem: "a cross-origin browser request is not the loopback guest: configure users (USERS_FILE or JWT keys), or AUTH=none" };
      }
      // [AUTH-9] DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 is
      // same-origin to the browser, but its requests name evil.example in Host. The guest is
      // only who names this machine (or a host ALLOWED_HOSTS lists).
      const host = request?.headers.get("host") ?? null;
      if (host !== null && !loopbackHost(host) && !this.originListed(`http://${host}`)) {
        return { problem: `Host "${host}" is not this machine: the loopback guest is served only as localhost, a loopback address or this host's name (or a host ALLOWED_HOSTS lists); configure users, or ALLOWED_HOSTS` };
      }
      return isLoopback(remote)
        ? { caller: GUEST }
        : { problem: "no users are configured: only clients on this machine (loopback) are served, as RabbitMQ's guest; configure USERS_FILE or JWT keys" };
    }
    return {};
  }

  /** Checks a credential; counts failures per address (after a few, that address waits: 429). */
  async verify(credential: Credential, remote: string | undefined, request?: Request): Promise<EdgeAnswer> {
    const address = remote ?? "unknown";
    const refused = this.refusedByBackoff(address);
    if (refused !== undefined) return refused;
    if (this.mode !== "users" || this.identify === undefined || this.bootstrapping()) {
      // Credentials where none are configured: the mode decides (a loopback guest needs none).
      return this.implicit(remote, request);
    }
    if (this.backoff === undefined) return this.check(credential, address);
    // [AUTH-11] A few checks at a time per host, each after the backoff as the ones before left it.
    const answer = await this.gate.run(address, async () => this.refusedByBackoff(address) ?? this.check(credential, address));
    return answer ?? { problem: `too many authentications in progress from ${address}`, code: ErrorCodes.RATE_LIMITED, retryAfterMs: 1_000 };
  }

  private refusedByBackoff(address: string): EdgeAnswer | undefined {
    const allowed = this.backoff?.check(address);
    if (allowed === undefined || allowed === true) return undefined;
    return { problem: `too many failed authentications from ${address}; retry in ${Math.ceil(allowed.retryAfterMs / 1000)} s`, code: ErrorCodes.RATE_LIMITED, retryAfterMs: allowed.retryAfterMs };
  }

  private async check(credential: Credential, address: string): Promise<EdgeAnswer> {
    const found = await this.identify!(credential);
    if (!found.ok) {
      this.backoff?.failed(address);
      return { problem: found.error.message, code: found.error.code, failed: true };
    }
    this.backoff?.succeeded(address);
    return { caller: found.value, credential };
  }

  /** A request: its Authorization header, else what the mode allows. Without a credential to verify, answered at once (no promise). */
  forRequest(request: Request, remote: string | undefined): EdgeAnswer | Promise<EdgeAnswer> {
    const credential = credentialOf(request.headers.get("authorization"));
    if (!credential.ok) return { problem: credential.error.message, failed: true };
    if (credential.value !== undefined) return this.verify(credential.value, remote, request);
    const session = this.sessions?.get(sessionIdOf(request.headers.get("cookie")));
    // A guest's session is the guest's only from loopback, and only while the guest rule holds.
    if (session !== undefined && (session.caller.via !== "loopback" || (isLoopback(remote) && !this.required))) {
      // [CSRF-1] A cookie comes with any request the browser makes, a cross-site one too: changing state also needs the token only our page can read.
      // A login is exempt (it only replaces the session; a cross-site answer's cookie is never stored).
      const method = request.method;
      const login = method === "POST" && new URL(request.url).pathname === "/session";
      if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS" && !login && !sameToken(request.headers.get(CSRF_HEADER), session.csrf)) {
        return { problem: `a session's request that changes state needs its ${CSRF_HEADER} header`, csrf: true };
      }
      return { caller: session.caller };
    }
    return this.implicit(remote, request);
  }

  /** A WebSocket upgrade: a bearer subprotocol, `?token=` when AUTH_URL_TOKEN allows it, an Authorization header; else the AUTH frame must come. */
  async forUpgrade(request: Request, remote: string | undefined, urlToken: boolean): Promise<EdgeAnswer> {
    const fromProtocol = protocolToken(request.headers.get("sec-websocket-protocol"));
    const fromUrl = urlToken ? new URL(request.url).searchParams.get("token") ?? undefined : undefined;
    const token = fromProtocol ?? fromUrl;
    if (token !== undefined) return this.verify({ bearer: token }, remote, request);
    if (request.headers.get("authorization") === null && sessionIdOf(request.headers.get("cookie")) !== undefined) {
      // [AUTH-8] A session cookie opens a socket only for our own page (a sibling site shares SameSite), and only for the session's life.
      if (crossOrigin(request)) return this.implicit(remote, request);
      const id = sessionIdOf(request.headers.get("cookie"));
      const session = this.sessions?.get(id);
      if (session !== undefined && session.caller.via !== "loopback") {
        return { caller: { ...session.caller, expiresAt: Math.min(session.caller.expiresAt ?? Number.POSITIVE_INFINITY, session.expiresAt) }, session: id };
      }
    }
    return this.forRequest(request, remote);
  }
}
