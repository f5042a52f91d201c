/** Connections: every WebSocket connection, what it reads, what it holds; close one. */
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, type Connection } from "../api.ts";
import { bytes, count, time } from "../format.ts";
import { html } from "../html.ts";
import { queueHref } from "../router.ts";
import { ErrorNotice, SuccessNotice, useAction } from "../widgets/action.ts";
import { ConfirmButton } from "../widgets/confirm.ts";

const REFRESH_MS = 2_000;

export function ConnectionsPage() {
  const [connections, setConnections] = useState<Connection[] | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const refresh = useCallback(() => {
    api.connections().then((answer) => {
      setConnections(answer.connections);
      setError(undefined);
    }, setError);
  }, []);
  useEffect(() => {
    refresh();
    const timer = setInterval(() => !document.hidden && refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  const close = useAction((id: string) => api.closeConnection(id).then(() => id));

  return html`
    <h1 tabindex="-1">Connections</h1>
    <${ErrorNotice} error=${error ?? close.error} />
    <${SuccessNotice} text=${close.result === undefined ? undefined : `Closed the connection ${close.result}.`} />
    ${connections === undefined
      ? html`<p>Loading…</p>`
      : html`
          <div class="table-wrap">
            <table>
              <caption>WebSocket connections (${count(connections.length)})</caption>
              <thead>
                <tr><th scope="col">Id</th><th scope="col">From</th><th scope="col">Opened</th><th scope="col">Subscriptions</th><th scope="col">Consumers (prefetch, unacked)</th>
                  <th scope="col" class="num">Unacked</th><th scope="col" class="num">Buffered</th><th scope="col">Actions</th></tr>
              </thead>
              <tbody>
                ${connections.length === 0 ? html`<tr><td colspan="8" class="muted">No connections.</td></tr>` : null}
                ${connections.map(
                  (c) => html`<tr key=${c.id}>
                    <td><code>${c.id}</code></td>
                    <td>${c.remote_address ?? html`<span class="muted">unknown</span>`}</td>
                    <td>${time(c.opened_at)}</td>
                    <td>${c.subscriptions.length === 0 ? html`<span class="muted">none</span>` : c.subscriptions.map((s, i) => html`${i > 0 ? ", " : ""}<a href=${queueHref(s.queue)}>${s.queue}</a>`)}</td>
                    <td>${c.consumers.length === 0 ? html`<span class="muted">none</span>` : c.consumers.map((k, i) => html`${i > 0 ? ", " : ""}<a href=${queueHref(k.queue)}>${k.queue}</a> (${k.prefetch}, ${k.unacked})`)}</td>
                    <td class="num">${count(c.unacked)}</td>
                    <td class="num">${bytes(c.buffered_bytes)}</td>
                    <td><${ConfirmButton} label="Close" subject=${c.id} question=${`Close the connection ${c.id} from ${c.remote_address ?? "an unknown address"}? What its consumers hold goes back to their queues.`} confirmLabel="Close"
                      onConfirm=${() => close.run(c.id).then(refresh)} /></td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>
        `}
  `;
}
