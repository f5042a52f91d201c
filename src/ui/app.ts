/**
 * The shell: a skip link, the navigation, who is signed in, and the page the route names — or,
 * while the broker does not know this browser, the login form (the route waits in the URL).
 */
import { Fragment } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { html } from "./html.ts";
import { BindingsPage } from "./pages/bindings.ts";
import { LoginPage } from "./pages/login.ts";
import { ConnectionsPage } from "./pages/connections.ts";
import { ExchangesPage } from "./pages/exchanges.ts";
import { OverviewPage } from "./pages/overview.ts";
import { QueuePage } from "./pages/queue.ts";
import { QueuesPage } from "./pages/queues.ts";
import { TopologyPage } from "./pages/topology.ts";
import { route as currentRoute, type Route } from "./router.ts";
import type { SessionState } from "./session.ts";
import { useSessionSync } from "./session-sync.ts";
import { useSignal } from "./store.ts";
import { Account } from "./widgets/account.ts";
import { ErrorNotice } from "./widgets/action.ts";

const NAV: { href: string; label: string; pages: Route["page"][] }[] = [
  { href: "#/", label: "Overview", pages: ["overview"] },
  { href: "#/exchanges", label: "Exchanges", pages: ["exchanges"] },
  { href: "#/queues", label: "Queues", pages: ["queues", "queue"] },
  { href: "#/bindings", label: "Bindings", pages: ["bindings"] },
  { href: "#/topology", label: "Topology", pages: ["topology"] },
  { href: "#/connections", label: "Connections", pages: ["connections"] },
];

function page(route: Route) {
  switch (route.page) {
    case "overview":
      return html`<${OverviewPage} />`;
    case "exchanges":
      return html`<${ExchangesPage} />`;
    case "queues":
      return html`<${QueuesPage} />`;
    case "bindings":
      return html`<${BindingsPage} />`;
    case "topology":
      return html`<${TopologyPage} exchange=${route.exchange} />`;
    case "connections":
      return html`<${ConnectionsPage} />`;
    case "queue":
      return html`<${QueuePage} key=${route.name} name=${route.name} />`;
    case "missing":
      return html`<h1 tabindex="-1">Not found</h1><p>No page at <code>${route.path}</code>. <a href="#/">Go to the overview</a>.</p>`;
  }
}

const titleOf = (route: Route) => (route.page === "queue" ? `Queue ${route.name}` : (NAV.find((n) => n.pages.includes(route.page))?.label ?? "Not found"));

/** What the main area shows: the route's page when signed in, else the login form (or the wait for the broker's answer). */
type View = Route | "checking" | "signed-out";
const viewOf = (state: SessionState, route: Route): View => (state.kind === "signed-in" ? route : state.kind);

export function App() {
  const route = useSignal(currentRoute);
  const { state, unreachable, retry } = useSessionSync();
  const main = useRef<HTMLElement>(null);
  const view = viewOf(state, route);
  const shown = useRef<View | undefined>(undefined);
  useEffect(() => {
    document.title = `${view === "checking" ? "Loading" : view === "signed-out" ? "Sign in" : titleOf(view)} · pubsub`;
    // A new page (or the login form) is announced by moving focus to its heading, as a page load would.
    const before = shown.current;
    shown.current = view;
    if (before !== undefined && before !== "checking") main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [view]);
  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => { e.preventDefault(); main.current?.querySelector<HTMLElement>("h1")?.focus(); }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">pubsub</a>
      ${state.kind === "signed-in"
        ? html`<nav aria-label="Main">
            <ul>
              ${NAV.map((n) => html`<li><a href=${n.href} aria-current=${n.pages.includes(route.page) ? "page" : undefined}>${n.label}</a></li>`)}
            </ul>
          </nav>`
        : null}
      <a class="api-link" href="/swagger">API</a>
      ${state.kind === "signed-in" ? html`<${Account} info=${state.info} />` : null}
    </header>
    <main id="main" ref=${main}>
      ${state.kind === "signed-in"
        ? // Keyed by the session: another user (logged in from another tab) sees pages loaded afresh for them.
          html`<${Fragment} key=${`${state.info.user} ${state.info.csrf_token}`}>${page(route)}</${Fragment}>`
        : state.kind === "signed-out"
          ? html`<${LoginPage} key=${state.reason} reason=${state.reason} />`
          : unreachable !== undefined
            ? html`<h1 tabindex="-1">No answer from the broker</h1><p>It did not say who this browser is.</p><${ErrorNotice} error=${unreachable} /><button type="button" onClick=${retry}>Try again</button>`
            : html`<p class="muted">Loading…</p>`}
    </main>
  `;
}
