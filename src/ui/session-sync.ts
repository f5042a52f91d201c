/**
 * Keeps the session signal true to the broker: GET /session on start, again when the session is
 * due to expire, and whenever another tab of this dashboard logs in or out (a BroadcastChannel
 * carries the word "changed", never a token). Any 401 on the way shows the login form (api.ts).
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, api } from "./api.ts";
import { session, signedIn, type SessionState } from "./session.ts";
import { useSignal } from "./store.ts";

const CHANNEL = "pubsub-dashboard-session";
/** After its expiry the broker has forgotten the session; ask a little later than the clock says (clocks drift). */
const EXPIRY_GRACE_MS = 1_000;
/** setTimeout's limit (a 32-bit signed delay); a longer session is asked about again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const channel = typeof BroadcastChannel === "undefined" ? undefined : new BroadcastChannel(CHANNEL);

/** Tells the dashboard's other tabs that this one logged in or out: they ask the broker who they are now. */
export const announceSessionChange = (): void => channel?.postMessage("changed");

/** Asks the broker who this browser is; an answer that arrives after the state moved on is dropped. */
function check(): Promise<void> {
  const sentIn = session.value;
  return api.session().then((info) => {
    if (session.value === sentIn) signedIn(info);
  });
}

/** The session state, and the broker's error when it could not be asked at all (the page offers to retry). */
export function useSessionSync(): { state: SessionState; unreachable: Error | undefined; retry: () => void } {
  const state = useSignal(session);
  const [unreachable, setUnreachable] = useState<Error | undefined>(undefined);
  const retry = () => {
    setUnreachable(undefined);
    // A 401 is an answer (the login form shows); anything else means the broker was not asked.
    check().catch((error: Error) => !(error instanceof ApiError && error.status === 401) && setUnreachable(error));
  };
  useEffect(() => {
    retry();
    const onMessage = () => void check().catch(() => undefined);
    channel?.addEventListener("message", onMessage);
    return () => channel?.removeEventListener("message", onMessage);
  }, []);
  useEffect(() => {
    if (state.kind !== "signed-in" || state.info.expires_at === null) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, state.info.expires_at - Date.now()) + EXPIRY_GRACE_MS);
    const timer = setTimeout(() => void check().catch(() => undefined), delay);
    return () => clearTimeout(timer);
  }, [state]);
  return { state, unreachable, retry };
}
