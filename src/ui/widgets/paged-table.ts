/**
 * A table paged, filtered and sorted by the broker (`?page&page_size&name&sort&order`): the page
 * holds one page of rows, however many the broker has, so 10,000 queues cost what 50 do.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Page, PageQuery } from "../api.ts";
import { count } from "../format.ts";
import { html } from "../html.ts";
import { ErrorNotice } from "./action.ts";

export type Column<T> = {
  /** The item's field the broker sorts by; no key, no sorting. */
  sort?: string;
  label: string;
  numeric?: boolean;
  render: (item: T) => ComponentChildren;
};

type Props<T> = {
  caption: string;
  columns: Column<T>[];
  load: (query: PageQuery) => Promise<Page<T>>;
  rowKey: (item: T) => string;
  /** Changes when the rows may have changed (after a declare or a delete): reloads the page. */
  version?: number;
  initialSort?: string;
  /** What the broker's `name` filter matches, in the filter's label. */
  filterLabel?: string;
};

const PAGE_SIZES = [20, 50, 100, 200];
/** Typing a filter waits this long for the next key before asking the broker. */
const FILTER_DEBOUNCE_MS = 200;

export function PagedTable<T>({ caption, columns, load, rowKey, version = 0, initialSort = "name", filterLabel = "Filter by name" }: Props<T>) {
  const [filterText, setFilterText] = useState("");
  const [name, setName] = useState("");
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(50);
  const [sort, setSort] = useState(initialSort);
  const [order, setOrder] = useState<"asc" | "desc">("asc");
  const [rows, setRows] = useState<Page<T> | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const latest = useRef(0);

  useEffect(() => {
    const timer = setTimeout(() => {
      setName(filterText);
      setPage(1);
    }, FILTER_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [filterText]);

  useEffect(() => {
    // Answers can arrive out of order: only the last request's is shown.
    const request = ++latest.current;
    load({ page, page_size: pageSize, name: name === "" ? undefined : name, sort, order })
      .then((answer) => {
        if (request !== latest.current) return;
        setRows(answer);
        setError(undefined);
        const last = Math.max(1, Math.ceil(answer.filtered / answer.page_size));
        if (page > last) setPage(last);
      })
      .catch((failure: Error) => request === latest.current && setError(failure));
  }, [load, page, pageSize, name, sort, order, version]);

  const sortBy = (field: string) => {
    if (field === sort) setOrder(order === "asc" ? "desc" : "asc");
    else {
      setSort(field);
      setOrder("asc");
    }
  };
  const pages = rows === undefined ? 1 : Math.max(1, Math.ceil(rows.filtered / rows.page_size));
  const first = rows === undefined || rows.filtered === 0 ? 0 : (rows.page - 1) * rows.page_size + 1;
  const last = rows === undefined ? 0 : first === 0 ? 0 : first + rows.items.length - 1;
  const id = caption.toLowerCase().replace(/[^a-z0-9]+/g, "-");

  return html`
    <div class="table-tools">
      <label>${filterLabel} <input type="search" value=${filterText} onInput=${(e: Event) => setFilterText((e.target as HTMLInputElement).value)} /></label>
      <span role="status" aria-live="polite" class="muted" data-testid=${`${id}-count`}>
        ${rows === undefined ? "Loading…" : `Showing ${count(first)}–${count(last)} of ${count(rows.filtered)}${rows.filtered !== rows.total ? ` (filtered from ${count(rows.total)})` : ""}`}
      </span>
    </div>
    <${ErrorNotice} error=${error} />
    <div class="table-wrap">
      <table id=${id}>
        <caption>${caption}</caption>
        <thead>
          <tr>
            ${columns.map(
              (column) => html`<th scope="col" class=${column.numeric ? "num" : ""} aria-sort=${column.sort !== undefined && column.sort === sort ? (order === "asc" ? "ascending" : "descending") : undefined}>
                ${column.sort === undefined
                  ? column.label
                  : html`<button type="button" class="sort" onClick=${() => sortBy(column.sort as string)}>
                      ${column.label}<span aria-hidden="true">${column.sort === sort ? (order === "asc" ? " ▲" : " ▼") : ""}</span>
                    </button>`}
              </th>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${rows?.items.map((item) => html`<tr key=${rowKey(item)}>${columns.map((column) => html`<td class=${column.numeric ? "num" : ""}>${column.render(item)}</td>`)}</tr>`)}
          ${rows !== undefined && rows.items.length === 0 ? html`<tr><td colspan=${columns.length} class="muted">None${name !== "" ? ` matching “${name}”` : ""}.</td></tr>` : null}
        </tbody>
      </table>
    </div>
    <nav class="pager" aria-label=${`Pages of ${caption}`}>
      <button type="button" disabled=${page <= 1} onClick=${() => setPage(1)}>First</button>
      <button type="button" disabled=${page <= 1} onClick=${() => setPage(page - 1)}>Previous</button>
      <span>Page ${count(page)} of ${count(pages)}</span>
      <button type="button" disabled=${page >= pages} onClick=${() => setPage(page + 1)}>Next</button>
      <button type="button" disabled=${page >= pages} onClick=${() => setPage(pages)}>Last</button>
      <label>Rows per page
        <select aria-label="Rows per page" value=${pageSize} onChange=${(e: Event) => { setPageSize(Number((e.target as HTMLSelectElement).value)); setPage(1); }}>
          ${PAGE_SIZES.map((size) => html`<option value=${size}>${size}</option>`)}
        </select>
      </label>
    </nav>
  `;
}
