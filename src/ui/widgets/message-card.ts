/** One peeked message: its facts, its death history as a table, its headers and its body, pretty-printed. */
import type { Death, PeekedMessage } from "../api.ts";
import { bytes, json, time } from "../format.ts";
import { html } from "../html.ts";
import { queueHref } from "../router.ts";

const deathsOf = (message: PeekedMessage): Death[] => {
  const deaths = message.headers["x-death"];
  return Array.isArray(deaths) ? (deaths as unknown as Death[]) : [];
};

export function MessageCard({ message: m, checked, onToggle, onRepublish }: { message: PeekedMessage; checked: boolean; onToggle: () => void; onRepublish: () => void }) {
  const deaths = deathsOf(m);
  const headers = Object.keys(m.headers).length === 0 ? undefined : m.headers;
  return html`
    <article class="message" aria-labelledby=${`message-${m.seq}`}>
      <header>
        <label class="check"><input type="checkbox" checked=${checked} onChange=${onToggle} /> <span class="visually-hidden">Select message #${m.seq}</span></label>
        <h3 id=${`message-${m.seq}`}>#${m.seq}</h3>
        <span class=${`badge ${m.state}`}>${m.state}</span>
        ${m.redelivered ? html`<span class="badge redelivered">redelivered</span>` : null}
        ${deaths.length > 0 ? html`<span class="badge dead">dead-lettered</span>` : null}
        <span class="muted">${time(m.timestamp)} · ${m.deliveries} ${m.deliveries === 1 ? "delivery" : "deliveries"} · ${bytes(m.bytes)}</span>
        <button type="button" onClick=${onRepublish}>Publish again</button>
      </header>
      <dl class="facts">
        <div><dt>Id</dt><dd><code>${m.id}</code></dd></div>
        <div><dt>Exchange</dt><dd>${m.exchange === "" ? "(default)" : m.exchange}</dd></div>
        <div><dt>Routing key</dt><dd><code>${m.routing_key}</code></dd></div>
        ${m.deliver_at !== null ? html`<div><dt>Deliverable at</dt><dd>${time(m.deliver_at)}</dd></div>` : null}
        ${m.expires_at !== null ? html`<div><dt>Expires at</dt><dd>${time(m.expires_at)}</dd></div>` : null}
      </dl>
      ${deaths.length > 0
        ? html`<table class="compact"><caption>Death history (most recent first)</caption>
            <thead><tr><th scope="col">Queue</th><th scope="col">Reason</th><th scope="col" class="num">Count</th><th scope="col">First at</th><th scope="col">Exchange</th><th scope="col">Routing keys</th></tr></thead>
            <tbody>${deaths.map((d) => html`<tr><td><a href=${queueHref(d.queue)}>${d.queue}</a></td><td>${d.reason}</td><td class="num">${d.count}</td><td>${time(d.time)}</td><td>${d.exchange === "" ? "(default)" : d.exchange}</td><td>${(d["routing-keys"] ?? []).join(", ")}</td></tr>`)}</tbody>
          </table>`
        : null}
      ${headers !== undefined ? html`<details><summary>Headers</summary><pre>${json(headers)}</pre></details>` : null}
      <pre class="payload">${json(m.payload)}</pre>
    </article>
  `;
}
