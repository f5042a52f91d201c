/**
 * The header's "Signed in as … / Log out". Without a session (the loopback guest, AUTH=none) it
 * says who the broker takes this browser for, and there is nothing to log out of.
 */
import { api, type SessionInfo } from "../api.ts";
import { html } from "../html.ts";
import { loggedOut } from "../session.ts";
import { announceSessionChange } from "../session-sync.ts";
import { ErrorNotice, useAction } from "./action.ts";

const guestLabel = (info: SessionInfo): string =>
  info.mode === "none" ? "No login (AUTH=none): full access for everyone" : `${info.user}: full access from this machine (no users configured)`;

export function Account({ info }: { info: SessionInfo }) {
  const logout = useAction(async () => {
    await api.logout();
    loggedOut();
    announceSessionChange();
  });
  if (info.csrf_token === null) return html`<p class="account muted" data-testid="account">${guestLabel(info)}</p>`;
  return html`
    <div class="account" data-testid="account">
      <span>Signed in as <strong>${info.user}</strong>${info.admin ? " (administrator)" : ""}</span>
      <button type="button" onClick=${() => void logout.run()} disabled=${logout.busy}>Log out</button>
      <${ErrorNotice} error=${logout.error} />
    </div>
  `;
}
