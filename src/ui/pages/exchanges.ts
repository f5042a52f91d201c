/** Exchanges: the paged list, declare and delete. */
import { useCallback, useState } from "preact/hooks";
import { api, type Exchange, type PageQuery } from "../api.ts";
import { count } from "../format.ts";
import { html } from "../html.ts";
import { topologyHref } from "../router.ts";
import { ErrorNotice, SuccessNotice, useAction } from "../widgets/action.ts";
import { ConfirmButton } from "../widgets/confirm.ts";
import { PagedTable, type Column } from "../widgets/paged-table.ts";

const TYPES = ["direct", "fanout", "topic", "headers"];
const shown = (name: string) => (name === "" ? "(default exchange)" : name);

export function ExchangesPage() {
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  const remove = useAction((name: string) => api.deleteExchange(name).then(() => name));
  const load = useCallback((q: PageQuery) => api.exchanges(q), []);
  const columns: Column<Exchange>[] = [
    { sort: "name", label: "Name", render: (e) => html`<a href=${topologyHref(e.name)} title="Show its bindings in the topology">${shown(e.name)}</a>` },
    { sort: "type", label: "Type", render: (e) => e.type },
    { sort: "durable", label: "Durable", render: (e) => (e.durable ? "yes" : "no") },
    { sort: "bindings", label: "Bindings", numeric: true, render: (e) => count(e.bindings) },
    {
      label: "Actions",
      render: (e) =>
        e.name === "" || e.name.startsWith("amq.")
          ? html`<span class="muted">built in</span>`
          : html`<${ConfirmButton} label="Delete" subject=${e.name} question=${`Delete the exchange “${e.name}” and its ${e.bindings} bindings? Messages published to it afterwards are refused.`} confirmLabel="Delete"
              onConfirm=${() => remove.run(e.name).then((done) => done !== undefined && changed())} />`,
    },
  ];
  return html`
    <h1 tabindex="-1">Exchanges</h1>
    <${DeclareExchange} onDeclared=${changed} />
    <section aria-labelledby="exchange-list">
      <h2 id="exchange-list">All exchanges</h2>
      <${ErrorNotice} error=${remove.error} />
      <${SuccessNotice} text=${remove.result === undefined ? undefined : `Deleted the exchange “${remove.result}”.`} />
      <${PagedTable} caption="Exchanges" columns=${columns} load=${load} rowKey=${(e: Exchange) => e.name} version=${version} />
    </section>
  `;
}

function DeclareExchange({ onDeclared }: { onDeclared: () => void }) {
  const [name, setName] = useState("");
  const [type, setType] = useState("direct");
  const [durable, setDurable] = useState(true);
  const declare = useAction(() => api.declareExchange({ name, type, durable }));
  const submit = async (event: Event) => {
    event.preventDefault();
    const answer = await declare.run();
    if (answer !== undefined) onDeclared();
  };
  return html`
    <section aria-labelledby="declare-exchange">
      <h2 id="declare-exchange">Declare an exchange</h2>
      <form class="inline-form" onSubmit=${submit}>
        <label>Name <input name="name" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
        <label>Type
          <select aria-label="Type" name="type" value=${type} onChange=${(e: Event) => setType((e.target as HTMLSelectElement).value)}>
            ${TYPES.map((t) => html`<option value=${t}>${t}</option>`)}
          </select>
        </label>
        <label class="check"><input type="checkbox" name="durable" checked=${durable} onChange=${(e: Event) => setDurable((e.target as HTMLInputElement).checked)} /> Durable</label>
        <button type="submit" class="primary" disabled=${declare.busy}>Declare</button>
      </form>
      <${ErrorNotice} error=${declare.error} />
      <${SuccessNotice} text=${declare.result === undefined ? undefined : declare.result.created ? `Declared the exchange “${name}”.` : `The exchange “${name}” exists already, with these properties.`} />
    </section>
  `;
}
