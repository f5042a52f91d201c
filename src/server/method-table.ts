/**
 * Which methods a path has, from the app's route table: a wrong method is a 405 with Allow
 * [METHOD-1], not a 404 that reads as "no such thing".
 */
type Route = { method: string; path: string };

const compiled = new WeakMap<readonly Route[], Array<{ method: string; pattern: RegExp }>>();

export function methodsAllowed(routes: readonly Route[], path: string): string[] {
  let table = compiled.get(routes);
  if (table === undefined) {
    table = routes.map((r) => ({ method: r.method, pattern: patternOf(r.path) }));
    compiled.set(routes, table);
  }
  const methods = new Set<string>();
  for (const { method, pattern } of table) if (pattern.test(path)) methods.add(method);
  return [...methods].sort();
}

const patternOf = (path: string): RegExp =>
  new RegExp(`^${path.split("/").map((part) => (part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : escape(part))).join("/")}/?$`);

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
