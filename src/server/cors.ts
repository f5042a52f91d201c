import { CORS_MAX_AGE_SECONDS } from "./limits.ts";

/**
 * CORS for the origins ALLOWED_HOSTS admits [CORS-1]. A browser sends simple requests (POST with
 * text/plain) cross-site without asking, so the origin check itself is in serve.ts and refuses
 * every state-changing request from an origin that is not allowed; this only tells browsers what
 * an allowed origin may do.
 */
const ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS";
const ALLOWED_HEADERS = "content-type, authorization";

/** Methods that change state: refused outright from an origin that is not allowed. */
export const isStateChanging = (method: string): boolean => method !== "GET" && method !== "HEAD" && method !== "OPTIONS";

export const isPreflight = (request: Request): boolean =>
  request.method === "OPTIONS" && request.headers.has("access-control-request-method");

export function preflightResponse(origin: string): Response {
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": String(CORS_MAX_AGE_SECONDS),
      vary: "Origin",
    },
  });
}

/** Adds the headers that let an allowed origin's page read the answer. */
export function withCors(response: Response, origin: string): Response {
  const headers = new Headers(response.headers);
  headers.set("access-control-allow-origin", origin);
  headers.append("vary", "Origin");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
