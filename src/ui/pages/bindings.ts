/** Bindings: the paged list, bind and unbind. */
import { useCallback, useState } from "preact/hooks";
import { api, type Binding, type PageQuery } from "../api.ts";
import { html } from "../html.ts";
import { parseJsonField } from "../json-input.ts";
import { queueHref, topologyHref } from "../router.ts";
import { ErrorNotice, SuccessNotice, useAction } from "../widgets/action.ts";
import { ConfirmButton } from "../widgets/confirm.ts";
import { PagedTable, type Column } from "../widgets/paged-table.ts";

const describe = (b: Binding) => `${b.exchange_name === "" ? "(default)" : b.exchange_name} → ${b.queue_name}${b.key === "" ? "" : ` (key “${b.key}”)`}`;
const argumentsText = (b: Binding) => (Object.keys(b.arguments).length === 0 ? "" : JSON.stringify(b.arguments));

export function BindingsPage() {
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  const unbind = useAction((b: Binding) => api.unbind({ exchange_name: b.exchange_name, queue_name: b.queue_name, key: b.key, arguments: b.arguments }).then(() => b));
  const load = useCallback((q: PageQuery) => api.bindings(q), []);
  const columns: Column<Binding>[] = [
    { sort: "exchange_name", label: "Exchange", render: (b) => html`<a href=${topologyHref(b.exchange_name)}>${b.exchange_name === "" ? "(default)" : b.exchange_name}</a>` },
    { sort: "key", label: "Key", render: (b) => html`<code>${b.key}</code>` },
    { label: "Arguments", render: (b) => html`<code>${argumentsText(b)}</code>` },
    { sort: "queue_name", label: "Queue", render: (b) => html`<a href=${queueHref(b.queue_name)}>${b.queue_name}</a>` },
    { label: "Actions", render: (b) => html`<${ConfirmButton} label="Unbind" subject=${describe(b)} question=${`Remove the binding ${describe(b)}?`} confirmLabel="Unbind" onConfirm=${() => unbind.run(b).then((done) => done !== undefined && changed())} />` },
  ];
  return html`
    <h1 tabindex="-1">Bindings</h1>
    <${Bind} onBound=${changed} />
    <section aria-labelledby="binding-list">
      <h2 id="binding-list">All bindings</h2>
      <${ErrorNotice} error=${unbind.error} />
      <${SuccessNotice} text=${unbind.result === undefined ? undefined : `Removed the binding ${describe(unbind.result)}.`} />
      <${PagedTable} caption="Bindings" columns=${columns} load=${load} rowKey=${(b: Binding) => `${b.exchange_name}\u0000${b.queue_name}\u0000${b.key}\u0000${argumentsText(b)}`} version=${version} initialSort="exchange_name" filterLabel="Filter by exchange or queue name" />
    </section>
  `;
}

function Bind({ onBound }: { onBound: () => void }) {
  const [exchange, setExchange] = useState("");
  const [queue, setQueue] = useState("");
  const [key, setKey] = useState("");
  const [args, setArgs] = useState("");
  const bind = useAction(async () => {
    const parsed = parseJsonField("Arguments", args, undefined);
    if (!parsed.ok) throw new Error(parsed.message);
    return api.bind({ exchange_name: exchange, queue_name: queue, key, ...(parsed.value === undefined ? {} : { arguments: parsed.value as Binding["arguments"] }) });
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    if ((await bind.run()) !== undefined) onBound();
  };
  const text = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return html`
    <section aria-labelledby="bind-heading">
      <h2 id="bind-heading">Bind a queue to an exchange</h2>
      <form class="inline-form" onSubmit=${submit}>
        <label>Exchange <input name="exchange_name" value=${exchange} onInput=${text(setExchange)} /></label>
        <label>Queue <input name="queue_name" value=${queue} onInput=${text(setQueue)} /></label>
        <label>Key or pattern <input name="key" value=${key} onInput=${text(setKey)} /></label>
        <label>Arguments (JSON, headers exchanges) <input name="arguments" value=${args} placeholder='{"x-match":"all","region":"eu"}' onInput=${text(setArgs)} /></label>
        <button type="submit" class="primary" disabled=${bind.busy}>Bind</button>
      </form>
      <${ErrorNotice} error=${bind.error} />
      <${SuccessNotice} text=${bind.result === undefined ? undefined : bind.result.created ? "Bound." : "That binding exists already."} />
    </section>
  `;
}
