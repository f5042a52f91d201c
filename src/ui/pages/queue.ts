/** One queue: its numbers and rates, who reads it, its messages (peek, move), publish, purge, delete. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, type Connection, type Queue } from "../api.ts";
import { bytes, count, rate, time } from "../format.ts";
import { html } from "../html.ts";
import { navigate } from "../router.ts";
import { ErrorNotice, SuccessNotice, useAction } from "../widgets/action.ts";
import { ConfirmButton } from "../widgets/confirm.ts";
import { PeekPanel } from "../widgets/peek.ts";
import { PublishForm, type Draft } from "../widgets/publish-form.ts";

/** The queue's numbers are read again this often while the tab is visible (never while hidden). */
const REFRESH_MS = 2_000;

type Rates = { published: number; delivered: number; acked: number };
type Reading = { queue: Queue; at: number };

export function QueuePage({ name }: { name: string }) {
  const [reading, setReading] = useState<Reading | undefined>(undefined);
  const [rates, setRates] = useState<Rates | undefined>(undefined);
  const [readers, setReaders] = useState<Connection[] | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [version, setVersion] = useState(0);
  // Each draft is numbered: the publish form is keyed by it, so "publish again" makes a fresh form.
  const [draft, setNumberedDraft] = useState<{ draft: Draft; n: number }>({ draft: { exchange_name: "", key: name, payload: { hello: "world" } }, n: 0 });
  const setDraft = (next: Draft) => setNumberedDraft((now) => ({ draft: next, n: now.n + 1 }));
  const previous = useRef<Reading | undefined>(undefined);

  const refresh = useCallback(() => {
    api.queue(name).then((queue) => {
      const now: Reading = { queue, at: performance.now() };
      const before = previous.current;
      if (before !== undefined && before.queue.name === queue.name) {
        const seconds = (now.at - before.at) / 1000;
        const per = (a: number, b: number) => Math.max(0, (a - b) / seconds);
        setRates({ published: per(queue.published, before.queue.published), delivered: per(queue.delivered, before.queue.delivered), acked: per(queue.acked, before.queue.acked) });
      }
      previous.current = now;
      setReading(now);
      setError(undefined);
    }, setError);
    api.connections(name).then((answer) => setReaders(answer.connections), setError);
  }, [name]);

  useEffect(() => {
    previous.current = undefined;
    setRates(undefined);
    refresh();
    const timer = setInterval(() => !document.hidden && refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [name, refresh]);

  const changed = () => {
    setVersion((v) => v + 1);
    refresh();
  };
  const purge = useAction(() => api.purgeQueue(name));
  const remove = useAction(() => api.deleteQueue(name));
  const queue = reading?.queue;

  return html`
    <p><a href="#/queues">← Queues</a></p>
    <h1 tabindex="-1">Queue <q>${name}</q></h1>
    <${ErrorNotice} error=${error} />
    ${queue === undefined
      ? error === undefined ? html`<p>Loading…</p>` : null
      : html`
          <dl class="stats">
            <div><dt>Ready</dt><dd data-testid="ready">${count(queue.messages)}</dd></div>
            <div><dt>Of those delayed</dt><dd>${count(queue.delayed)}</dd></div>
            <div><dt>Unacked (held by consumers)</dt><dd>${count(queue.unacked)}</dd></div>
            <div><dt>Bytes</dt><dd>${bytes(queue.bytes)}</dd></div>
            <div><dt>In memory · on disk</dt><dd>${count(queue.messages_in_memory)} · ${count(queue.messages_on_disk)}</dd></div>
            <div><dt>Consumers · subscribers</dt><dd>${count(queue.consumers)} · ${count(queue.subscribers)}</dd></div>
            <div><dt>Rates (published · delivered · acked)</dt><dd>${rates === undefined ? "measuring…" : `${rate(rates.published)} · ${rate(rates.delivered)} · ${rate(rates.acked)}`}</dd></div>
            <div><dt>Totals (published · delivered · acked · dead-lettered)</dt><dd>${count(queue.published)} · ${count(queue.delivered)} · ${count(queue.acked)} · ${count(queue.dead_lettered)}</dd></div>
          </dl>
          <dl class="facts">
            <div><dt>Durable</dt><dd>${queue.durable ? "yes" : "no"}</dd></div>
            ${queue.owner === undefined ? null : html`<div><dt>Owner (cluster node)</dt><dd data-testid="owner">${queue.owner}</dd></div>`}
            ${Object.entries(queue.arguments).map(([key, value]) => html`<div><dt>${key}</dt><dd><code>${String(value)}</code></dd></div>`)}
          </dl>
        `}
    <section aria-labelledby="readers-heading">
      <h2 id="readers-heading">Subscribers and consumers</h2>
      <${Readers} queue=${name} connections=${readers} />
    </section>
    <section aria-labelledby="peek-heading">
      <h2 id="peek-heading">Messages</h2>
      <p class="muted">Peeking changes nothing: not the queue, its order, nor any delivery count.</p>
      <${PeekPanel} queue=${name} version=${version} onChanged=${changed} onRepublish=${setDraft} />
    </section>
    <section aria-labelledby="publish-heading">
      <h2 id="publish-heading">Publish a message</h2>
      <${PublishForm} key=${draft.n} draft=${draft.draft} onPublished=${changed} />
    </section>
    <section aria-labelledby="danger-heading">
      <h2 id="danger-heading">Purge or delete</h2>
      <div class="actions">
        <${ConfirmButton} label="Purge" question=${`Drop every waiting message of “${name}”${queue === undefined ? "" : ` (${count(queue.messages)} now)`}? Messages out with consumers stay theirs.`} confirmLabel="Purge"
          onConfirm=${() => purge.run().then((done) => done !== undefined && changed())} />
        <${ConfirmButton} label="Delete the queue" question=${`Delete “${name}”, its messages and its bindings?`} confirmLabel="Delete"
          onConfirm=${() => remove.run().then((done) => done !== undefined && navigate("#/queues"))} />
      </div>
      <${ErrorNotice} error=${purge.error ?? remove.error} />
      <${SuccessNotice} text=${purge.result === undefined ? undefined : `Purged ${count(purge.result.messages)} ${purge.result.messages === 1 ? "message" : "messages"}.`} />
    </section>
  `;
}

function Readers({ queue, connections }: { queue: string; connections: Connection[] | undefined }) {
  if (connections === undefined) return html`<p>Loading…</p>`;
  if (connections.length === 0) return html`<p class="muted">Nobody is subscribed to or consuming this queue.</p>`;
  return html`
    <div class="table-wrap">
      <table class="compact">
        <caption>Connections reading this queue</caption>
        <thead><tr><th scope="col">Connection</th><th scope="col">From</th><th scope="col">Since</th><th scope="col">Subscribed</th><th scope="col">Consumers (prefetch, unacked)</th></tr></thead>
        <tbody>
          ${connections.map(
            (c) => html`<tr>
              <td><a href="#/connections"><code>${c.id}</code></a></td>
              <td>${c.remote_address ?? html`<span class="muted">unknown</span>`}</td>
              <td>${time(c.opened_at)}</td>
              <td>${c.subscriptions.some((s) => s.queue === queue) ? "yes" : "no"}</td>
              <td>${c.consumers.filter((k) => k.queue === queue).map((k) => `${k.id} (${k.prefetch}, ${k.unacked})`).join("; ") || "none"}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  `;
}
