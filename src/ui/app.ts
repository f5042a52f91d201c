/** The shell: a skip link, the navigation, and the page the route names. */
import { useEffect, useRef } from "preact/hooks";
import { html } from "./html.ts";
import { BindingsPage } from "./pages/bindings.ts";
import { ConnectionsPage } from "./pages/connections.ts";
import { ExchangesPage } from "./pages/exchanges.ts";
import { OverviewPage } from "./pages/overview.ts";
import { QueuePage } from "./pages/queue.ts";
import { QueuesPage } from "./pages/queues.ts";
import { TopologyPage } from "./pages/topology.ts";
import { route as currentRoute, type Route } from "./router.ts";
import { useSignal } from "./store.ts";

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

export function App() {
  const route = useSignal(currentRoute);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    document.title = `${titleOf(route)} · pubsub`;
    // A new page is announced by moving focus to its heading, as a page load would.
    if (first.current) first.current = false;
    else main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [route]);
  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => { e.preventDefault(); main.current?.querySelector<HTMLElement>("h1")?.focus(); }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">pubsub</a>
      <nav aria-label="Main">
        <ul>
          ${NAV.map((n) => html`<li><a href=${n.href} aria-current=${n.pages.includes(route.page) ? "page" : undefined}>${n.label}</a></li>`)}
        </ul>
      </nav>
      <a class="api-link" href="/swagger">API</a>
    </header>
    <main id="main" ref=${main}>${page(route)}</main>
  `;
}
