/**
 * The topology drawn: three columns (exchanges, bindings, queues), each binding on its own row and
 * its exchange level with its bindings; and the same routes as a table, for readers and keyboards.
 */
import type { Binding, Exchange } from "../api.ts";
import { html } from "../html.ts";
import { navigate, queueHref, topologyHref } from "../router.ts";

const ROW = 30;
const COLUMNS = { exchange: 10, binding: 270, queue: 540 };
const NODE_WIDTH = 210;
const NODE_HEIGHT = 24;
/** Longer names are cut in the drawing (the full one is in its tooltip and in the table). */
const MAX_LABEL = 28;

const label = (name: string) => (name === "" ? "(default)" : name);

/** Three columns; each binding has its own row, its exchange sits level with its bindings. */
export function Graph({ bindings, exchanges, taken }: { bindings: Binding[]; exchanges: Map<string, Exchange>; taken: Set<Binding> | undefined }) {
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
  const text = (s: string) => (s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s);
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
export function RouteTable({ bindings, taken }: { bindings: Binding[]; taken: Set<Binding> | undefined }) {
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
