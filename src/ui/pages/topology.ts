/**
 * Topology: exchanges → bindings (key, arguments) → queues, as a graph and as a table. A routing
 * key (and headers) typed in lights up the path a message would take. With many bindings the
 * graph shows one exchange at a time, picked from a filtered, paged list.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type Binding, type Exchange } from "../api.ts";
import { count } from "../format.ts";
import { html } from "../html.ts";
import { parseJsonField } from "../json-input.ts";
import { navigate, topologyHref } from "../router.ts";
import { takesBinding } from "../routing.ts";
import { ErrorNotice } from "../widgets/action.ts";
import { Graph, RouteTable } from "../widgets/topology-graph.ts";

/** The most bindings drawn at once: past it the graph stops being readable, pick an exchange. */
const MAX_DRAWN_BINDINGS = 200;
/** Exchanges offered in the picker per filter: a filter narrows 10,000 down to these. */
const PICKER_SIZE = 50;

type Loaded = { bindings: Binding[]; total: number; exchanges: Map<string, Exchange> };
const label = (name: string) => (name === "" ? "(default)" : name);

export function TopologyPage({ exchange }: { exchange: string | undefined }) {
  const [filter, setFilter] = useState("");
  const [choices, setChoices] = useState<Exchange[]>([]);
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [routingKey, setRoutingKey] = useState("");
  const [headersText, setHeadersText] = useState("");

  useEffect(() => {
    const timer = setTimeout(() => {
      api.exchanges({ page: 1, page_size: PICKER_SIZE, name: filter === "" ? undefined : filter, sort: "name", order: "asc" }).then((p) => setChoices(p.items), setError);
    }, 150);
    return () => clearTimeout(timer);
  }, [filter]);

  useEffect(() => {
    setLoaded(undefined);
    const bindings = api.bindings({ page: 1, page_size: MAX_DRAWN_BINDINGS, sort: "exchange_name", order: "asc", ...(exchange === undefined ? {} : { exchange }) });
    // The exchanges' types decide how a key routes: read those of the bindings drawn.
    bindings
      .then(async (page) => {
        const names = [...new Set(page.items.map((b) => b.exchange_name))];
        const list = await Promise.all(names.map((name) => api.exchange(name)));
        setLoaded({ bindings: page.items, total: page.filtered, exchanges: new Map(list.map((e) => [e.name, e])) });
        setError(undefined);
      })
      .catch(setError);
  }, [exchange]);

  const headers = parseJsonField("Headers", headersText, {});
  const taken = useMemo(() => {
    if (loaded === undefined || (routingKey === "" && headersText.trim() === "") || !headers.ok) return undefined;
    const message = (headers.value ?? {}) as Record<string, never>;
    return new Set(loaded.bindings.filter((b) => takesBinding(loaded.exchanges.get(b.exchange_name)?.type ?? "", b, routingKey, message)));
  }, [loaded, routingKey, headersText]);

  const tooMany = loaded !== undefined && loaded.total > loaded.bindings.length;
  return html`
    <h1 tabindex="-1">Topology</h1>
    <form class="inline-form" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Choose what to draw">
      <label>Filter exchanges <input type="search" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} /></label>
      <label>Exchange
        <select aria-label="Exchange" value=${exchange ?? "\u0000all"} onChange=${(e: Event) => {
          const value = (e.target as HTMLSelectElement).value;
          navigate(value === "\u0000all" ? "#/topology" : topologyHref(value));
        }}>
          <option value=${"\u0000all"}>All exchanges (first ${MAX_DRAWN_BINDINGS} bindings)</option>
          ${exchange !== undefined && !choices.some((c) => c.name === exchange) ? html`<option value=${exchange}>${label(exchange)}</option>` : null}
          ${choices.map((c) => html`<option value=${c.name}>${label(c.name)} (${c.type}, ${count(c.bindings)})</option>`)}
        </select>
      </label>
    </form>
    <form class="inline-form" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Follow a message">
      <label>Follow a routing key <input name="routing_key" value=${routingKey} onInput=${(e: Event) => setRoutingKey((e.target as HTMLInputElement).value)} /></label>
      <label>and headers (JSON) <input name="headers" value=${headersText} placeholder='{"region":"eu"}' onInput=${(e: Event) => setHeadersText((e.target as HTMLInputElement).value)} /></label>
    </form>
    ${!headers.ok ? html`<p class="notice error" role="alert">${headers.message}</p>` : null}
    <${ErrorNotice} error=${error} />
    ${loaded === undefined
      ? html`<p>Loading…</p>`
      : html`
          ${tooMany ? html`<p class="notice" role="status">Drawing ${count(loaded.bindings.length)} of ${count(loaded.total)} bindings: pick an exchange to see all of its own.</p>` : null}
          ${taken !== undefined ? html`<p role="status" data-testid="routed-to">${routedText(loaded.bindings, taken)}</p>` : null}
          ${loaded.bindings.length === 0 ? html`<p>No bindings${exchange === undefined ? "" : ` on ${label(exchange)}`}.</p>` : html`<${Graph} bindings=${loaded.bindings} exchanges=${loaded.exchanges} taken=${taken} />`}
          <${RouteTable} bindings=${loaded.bindings} taken=${taken} />
        `}
  `;
}

function routedText(bindings: Binding[], taken: Set<Binding>): string {
  const queues = [...new Set(bindings.filter((b) => taken.has(b)).map((b) => b.queue_name))];
  return queues.length === 0 ? "A message with this key reaches none of the queues shown." : `A message with this key reaches ${queues.length === 1 ? "the queue" : `${queues.length} queues`}: ${queues.join(", ")}.`;
}
