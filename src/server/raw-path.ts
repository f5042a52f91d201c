import { MAX_PATH_SEGMENTS } from "./limits.ts";

/**
 * The path a client sent, against the one Bun hands us [PATH-2]. Bun builds `request.url` with the
 * URL parser, which resolves `.`/`..` (and `%2e` spellings) and reads a raw `\` as `/`, so
 * `DELETE /queues/x\..\victim` arrived as `DELETE /queues/victim` and deleted that queue. Bun's
 * `routes`, though, match the raw request target: routes of 1 to MAX_PATH_SEGMENTS parameters
 * give us the segments as sent, and a request whose URL the parser changed is refused.
 */

export type RawSegments = Readonly<Record<string, string>> | undefined;

/** The BAD_PATH message for a path isAsSent refuses. */
export const NOT_AS_SENT = "path has dot segments or a raw backslash: percent-encode names (%2E, %5C)";

/** `{"/:s0": h, "/:s0/:s1": h, …}`, and `/*` for what no segment route matched (empty segments, longer paths). */
export function segmentRoutes<H>(segmented: H, unmatched: H): Record<string, H> {
  const routes: Record<string, H> = {};
  for (let n = 1; n <= MAX_PATH_SEGMENTS; n++) {
    routes[`/${Array.from({ length: n }, (_, i) => `:s${i}`).join("/")}`] = segmented;
  }
  routes["/*"] = unmatched;
  return routes;
}

/**
 * True when `path` (from request.url, still percent-encoded) is the path that was sent: the same
 * segments as the raw ones the route captured (Bun decodes those), or, for a request no segment
 * route matched, a path that could not have come from a longer one.
 */
export function isAsSent(path: string, raw: RawSegments): boolean {
  const segments = path.slice(1).split("/");
  if (raw === undefined) {
    // Matched only by /*: it had an empty segment or more than MAX_PATH_SEGMENTS. The parser keeps
    // empty segments, so a path without one, this short, was shortened by dot segments.
    return segments.length > MAX_PATH_SEGMENTS || segments.includes("");
  }
  for (let i = 0; ; i++) {
    const sent = raw[`s${i}`];
    if (sent === undefined) return i === segments.length;
    const got = segments[i];
    if (got === undefined) return false;
    if (got === sent) continue;
    try {
      if (decodeURIComponent(got) !== sent) return false;
    } catch {
      return false;
    }
  }
}
