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
import { navigate, queueHref, topologyHref } from "../router.ts";
import { takesBinding } from "../routing.ts";
import { ErrorNotice } from "../widgets/action.ts";

/** The most bindings drawn at once: past it the graph stops being readable, pick an exchange. */
const MAX_DRAWN_BINDINGS = 200;
/** Exchanges offered in the picker per filter: a filter narrows 10,000 down to these. */
const PICKER_SIZE = 50;
const ROW = 30;
const COLUMNS = { exchange: 10, binding: 270, queue: 540 };
const NODE_WIDTH = 210;
const NODE_HEIGHT = 24;

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

/** Three columns; each binding has its own row, its exchange sits level with its bindings. */
function Graph({ bindings, exchanges, taken }: { bindings: Binding[]; exchanges: Map<string, Exchange>; taken: Set<Binding> | undefined }) {
  const rowY = (i: number) => 10 + i * ROW;
  const exchangeRows = new Map<string, number[]>();
  bindings.forEach((b, i) => exchangeRows.set(b.exchange_name, [...(exchangeRows.get(b.exchange_name) ?? []), i]));
  const queues = [...new Set(bindings.map((b) => b.queue_name))];
  const spread = bindings.length / Math.max(1, queues.length);
  const queueY = new Map(queues.map((q, i) => [q, rowY((i + 0.5) * spread - 0.5)]));
  const exchangeY = new Map([...exchangeRows].map(([name, rows]) => [name, rowY(((rows[0] ?? 0) + (rows[rows.length - 1] ?? 0)) / 2)]));
  const height = rowY(bindings.length) + 10;
  const lit = (b: Binding) => (taken === undefined ? "" : taken.has(b) ? "lit" : "dim");
  const litQueue = (q: string) => (taken === undefined ? "" : bindings.some((b) => b.queue_name === q && taken.has(b)) ? "lit" : "dim");
  const curve = (x1: number, y1: number, x2: number, y2: number) => `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`;
  const mid = NODE_HEIGHT / 2;
  const text = (s: string) => (s.length > 28 ? `${s.slice(0, 27)}…` : s);
  return html`
    <div class="graph-wrap">
      <svg class="graph" viewBox=${`0 0 ${COLUMNS.queue + NODE_WIDTH + 10} ${height}`} width=${COLUMNS.queue + NODE_WIDTH + 10} height=${height} aria-hidden="true" data-testid="topology-graph">
        ${bindings.map((b, i) => {
          const ey = exchangeY.get(b.exchange_name) ?? 0;
          const qy = queueY.get(b.queue_name) ?? 0;
          return html`<g class=${`edge ${lit(b)}`}>
            <path d=${curve(COLUMNS.exchange + NODE_WIDTH, ey + mid, COLUMNS.binding, rowY(i) + mid)} />
            <path d=${curve(COLUMNS.binding + NODE_WIDTH, rowY(i) + mid, COLUMNS.queue, qy + mid)} />
          </g>`;
        })}
        ${[...exchangeY].map(([name, y]) => html`<g class="node exchange"><rect x=${COLUMNS.exchange} y=${y} width=${NODE_WIDTH} height=${NODE_HEIGHT} rx="4" />
          <text x=${COLUMNS.exchange + 8} y=${y + 16}>${text(`${label(name)} · ${exchanges.get(name)?.type ?? "?"}`)}</text><title>${label(name)}</title></g>`)}
        ${bindings.map((b, i) => html`<g class=${`node binding ${lit(b)}`}><rect x=${COLUMNS.binding} y=${rowY(i)} width=${NODE_WIDTH} height=${NODE_HEIGHT} rx="12" />
          <text x=${COLUMNS.binding + 10} y=${rowY(i) + 16}>${text(bindingLabel(b))}</text><title>${bindingLabel(b)}</title></g>`)}
        ${queues.map((q) => html`<g class=${`node queue ${litQueue(q)}`} onClick=${() => navigate(queueHref(q))}><rect x=${COLUMNS.queue} y=${queueY.get(q)} width=${NODE_WIDTH} height=${NODE_HEIGHT} rx="4" />
          <text x=${COLUMNS.queue + 8} y=${(queueY.get(q) ?? 0) + 16}>${text(q)}</text><title>${q}</title></g>`)}
      </svg>
    </div>
  `;
}

const bindingLabel = (b: Binding) => {
  const args = Object.keys(b.arguments).length === 0 ? "" : ` ${JSON.stringify(b.arguments)}`;
  return `${b.key === "" ? "(any key)" : b.key}${args}`;
};

/** The same routes as text: what screen readers and keyboard users follow. */
function RouteTable({ bindings, taken }: { bindings: Binding[]; taken: Set<Binding> | undefined }) {
  return html`
    <div class="table-wrap">
      <table class="compact">
        <caption>Routes shown</caption>
        <thead><tr><th scope="col">Exchange</th><th scope="col">Binding key and arguments</th><th scope="col">Queue</th>${taken === undefined ? null : html`<th scope="col">Taken</th>`}</tr></thead>
        <tbody>
          ${bindings.map(
            (b) => html`<tr class=${taken?.has(b) ? "lit" : ""}>
              <td><a href=${topologyHref(b.exchange_name)}>${label(b.exchange_name)}</a></td>
              <td><code>${bindingLabel(b)}</code></td>
              <td><a href=${queueHref(b.queue_name)}>${b.queue_name}</a></td>
              ${taken === undefined ? null : html`<td>${taken.has(b) ? "yes" : "no"}</td>`}
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  `;
}
