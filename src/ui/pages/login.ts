/**
 * The login form (POST /session): an API key or a JWT, or a user and one of its API keys. What is
 * typed lives in this form's state until the broker answers, and goes nowhere else: the form is
 * never submitted by the browser itself (that could put it in a URL or history), the fields ask
 * password managers not to keep it, and the answer's CSRF token goes to the session signal only.
 */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { signedIn, type SignedOutReason } from "../session.ts";
import { announceSessionChange } from "../session-sync.ts";
import { ErrorNotice, useAction } from "../widgets/action.ts";

type Method = "token" | "user";

const WHY: Record<SignedOutReason, string | undefined> = {
  "not-signed-in": undefined,
  ended: "Your session has ended: it expired, another tab logged out, or its key or user was removed. Sign in again.",
  "logged-out": "You are logged out.",
};

/** Fields for secrets: not remembered, not autocorrected, never spell-checked (that may leave the machine). */
const SECRET = { type: "password", autocomplete: "off", autocapitalize: "off", spellcheck: false } as const;

export function LoginPage({ reason }: { reason: SignedOutReason }) {
  const [method, setMethod] = useState<Method>("token");
  const [token, setToken] = useState("");
  const [user, setUser] = useState("");
  const [key, setKey] = useState("");
  const login = useAction(() => api.login(method === "token" ? { token: token.trim() } : { user: user.trim(), key: key.trim() }));
  const submit = async (event: Event) => {
    event.preventDefault();
    const info = await login.run();
    if (info === undefined) return;
    signedIn(info);
    announceSessionChange();
  };
  const text = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  const why = WHY[reason];
  return html`
    <h1 tabindex="-1">Sign in</h1>
    ${why === undefined ? null : html`<p class="notice" role="status">${why}</p>`}
    <p>This broker has users: sign in with one of your API keys, or with a token your application issued.</p>
    <form class="stack-form login-form" method="post" onSubmit=${submit} aria-label="Sign in">
      <fieldset>
        <legend>Sign in with</legend>
        <label class="check"><input type="radio" name="method" checked=${method === "token"} onChange=${() => setMethod("token")} /> An API key or a JWT</label>
        <label class="check"><input type="radio" name="method" checked=${method === "user"} onChange=${() => setMethod("user")} /> A user name and API key</label>
      </fieldset>
      ${method === "token"
        ? html`<label>API key or JWT <input name="token" ...${SECRET} required value=${token} onInput=${text(setToken)} /></label>`
        : html`
            <label>User <input name="user" autocomplete="username" autocapitalize="off" spellcheck=${false} required value=${user} onInput=${text(setUser)} /></label>
            <label>API key <input name="key" ...${SECRET} required value=${key} onInput=${text(setKey)} /></label>
          `}
      <div><button type="submit" class="primary" disabled=${login.busy}>${login.busy ? "Signing in…" : "Sign in"}</button></div>
      <${ErrorNotice} error=${login.error} />
    </form>
  `;
}
