import type { Identified } from "./auth-edge.ts";

/** The dashboard's login: a session per browser, held in memory (a restart logs everyone out). */
export const SESSION_COOKIE = "pubsub_session";
export const CSRF_HEADER = "x-csrf-token";
/** A session lasts this long at most (and no longer than its token). */
export const SESSION_TTL_MS = 8 * 3600_000;
/** Sessions held at most; past it the oldest goes (bounded memory against a login flood). */
export const MAX_SESSIONS = 10_000;

export type Session = { readonly caller: Identified; readonly csrf: string; readonly expiresAt: number };

const randomToken = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

/**
 * Sessions by an unguessable id (the HttpOnly, SameSite=Strict cookie), each with its CSRF token:
 * a request that changes state with the cookie must also carry the token in X-CSRF-Token, which a
 * page on another site cannot read (double submit, bound to the session).
 */
export class Sessions {
  private readonly sessions = new Map<string, Session>();
  /** [SESSION-1] Told when a session is ended before its time (logout): its sockets close. */
  private readonly endListeners: ((id: string) => void)[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  onEnd(listener: (id: string) => void): void {
    this.endListeners.push(listener);
  }

  create(caller: Identified): { id: string; session: Session } {
    const id = randomToken();
    const expiresAt = Math.min(this.now() + SESSION_TTL_MS, caller.expiresAt ?? Number.POSITIVE_INFINITY);
    const session = { caller, csrf: randomToken(), expiresAt };
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(id, session);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** Ends the session (logout): the sockets it opened are closed too [SESSION-1]. */
  delete(id: string | undefined): void {
    if (id === undefined || !this.sessions.delete(id)) return;
    for (const listener of this.endListeners) listener(id);
  }

  /** A user or its permissions changed: sessions take the new identity, or end. */
  recheck(recheck: (caller: Identified) => Identified | undefined): void {
    for (const [id, session] of this.sessions) {
      const again = recheck(session.caller);
      if (again === undefined) this.sessions.delete(id);
      else this.sessions.set(id, { ...session, caller: again });
    }
  }
}

/** The session id in a Cookie header, if any. */
export function sessionIdOf(cookieHeader: string | null): string | undefined {
  if (cookieHeader === null) return undefined;
  for (const part of cookieHeader.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === SESSION_COOKIE) return value.join("=");
  }
  return undefined;
}

/** Constant-time string equality (CSRF tokens). */
export function sameToken(a: string | null, b: string): boolean {
  if (a === null || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
