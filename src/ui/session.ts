/**
 * Who the dashboard is signed in as: the broker's answer to GET or POST /session, held in this
 * signal and nowhere else. Its CSRF token goes on every request that changes state (api.ts). No
 * token, key or CSRF token is written to storage or the URL: a reload asks GET /session again, and
 * the HttpOnly cookie (which the page cannot read) is what carries the login across it.
 */
import type { SessionInfo } from "./api.ts";
import { signal } from "./store.ts";

/** Why the login form shows: first visit, the broker stopped knowing the session (expired, revoked), or "Log out". */
export type SignedOutReason = "not-signed-in" | "ended" | "logged-out";

export type SessionState =
  | { kind: "checking" }
  | { kind: "signed-out"; reason: SignedOutReason }
  | { kind: "signed-in"; info: SessionInfo };

export const session = signal<SessionState>({ kind: "checking" });

/** The CSRF token to send with a request that changes state; none without a session (guest, AUTH=none). */
export const csrfToken = (): string | undefined => (session.value.kind === "signed-in" ? (session.value.info.csrf_token ?? undefined) : undefined);

export function signedIn(info: SessionInfo): void {
  const now = session.value;
  if (now.kind === "signed-in" && sameSession(now.info, info)) return;
  session.set({ kind: "signed-in", info });
}

/**
 * The broker answered 401 to a request sent in `sentIn`. Ignored when the state has changed since
 * (a request that left before a login must not undo it) or when the form shows already.
 */
export function refused(sentIn: SessionState): void {
  const now = session.value;
  if (now !== sentIn || now.kind === "signed-out") return;
  session.set({ kind: "signed-out", reason: now.kind === "signed-in" ? "ended" : "not-signed-in" });
}

export function loggedOut(): void {
  session.set({ kind: "signed-out", reason: "logged-out" });
}

const sameSession = (a: SessionInfo, b: SessionInfo): boolean =>
  a.user === b.user && a.admin === b.admin && a.expires_at === b.expires_at && a.csrf_token === b.csrf_token && a.mode === b.mode;
