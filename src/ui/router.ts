/**
 * Routes live in the URL's fragment (`/ui/#/queues/orders`): the server serves one page, and a
 * queue name holding "/" or "?" stays one encoded segment.
 */
import { signal } from "./store.ts";

export type Route =
  | { page: "overview" }
  | { page: "exchanges" }
  | { page: "queues" }
  | { page: "bindings" }
  | { page: "topology"; exchange?: string }
  | { page: "connections" }
  | { page: "queue"; name: string }
  | { page: "missing"; path: string };

const LIST_PAGES = ["exchanges", "queues", "bindings", "connections"] as const;

export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?", 2);
  if (path === "" || path === "/") return { page: "overview" };
  if (path === "/topology") {
    const exchange = new URLSearchParams(search).get("exchange");
    return exchange === null ? { page: "topology" } : { page: "topology", exchange };
  }
  const [first, second, ...rest] = path.replace(/^\//, "").split("/");
  if (first === "queues" && second !== undefined && second !== "" && rest.length === 0) {
    try {
      return { page: "queue", name: decodeURIComponent(second) };
    } catch {
      return { page: "missing", path };
    }
  }
  const page = LIST_PAGES.find((p) => p === first);
  return page !== undefined && second === undefined ? { page } : { page: "missing", path };
}

export const queueHref = (name: string): string => `#/queues/${encodeURIComponent(name)}`;
export const topologyHref = (exchange: string): string => `#/topology?${new URLSearchParams({ exchange })}`;

export const route = signal<Route>(parseRoute(location.hash));
addEventListener("hashchange", () => route.set(parseRoute(location.hash)));

export const navigate = (hash: string): void => {
  location.hash = hash;
};
