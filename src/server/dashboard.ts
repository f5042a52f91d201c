/**
 * The web dashboard (src/ui), served at /ui through the app, so every request passes serve.ts's
 * host and origin guards like the API's. The page and its assets come from ../ui/bundle.ts,
 * imported on the first request: a broker nobody opens the dashboard of never loads (or, from
 * source, builds) it.
 */
import { Elysia } from "elysia";
import { ErrorCodes } from "../core/errors.ts";
import type { DashboardAssets } from "../ui/build.ts";
import { errorResponse } from "./http-errors.ts";

const UI_PATH = "/ui";
const ASSETS_PATH = `${UI_PATH}/assets`;
/** Asset URLs carry the bundle's content hash: cached for a year, never stale. */
const ASSET_CACHE = "public, max-age=31536000, immutable";
/** The page names the current hashes, so it is revalidated every time. */
const PAGE_CACHE = "no-cache";
/**
 * Everything from our own origin, nothing inline but styles (uPlot and Preact set style
 * properties): the dashboard works offline, and an injected script has nowhere to load from.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

type Served = { body: Uint8Array<ArrayBuffer>; gzipped: Uint8Array<ArrayBuffer>; type: string };
type Site = { page: Served; assets: Map<string, Served> };

const served = (text: string, type: string): Served => {
  const body = new TextEncoder().encode(text);
  return { body, gzipped: Bun.gzipSync(body), type };
};

const pageHtml = (version: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>pubsub dashboard</title>
  <link rel="icon" href="data:," />
  <link rel="stylesheet" href="${ASSETS_PATH}/dashboard-${version}.css" />
  <script type="module" src="${ASSETS_PATH}/dashboard-${version}.js"></script>
</head>
<body>
  <div id="app"><p>Loading the dashboard…</p></div>
  <noscript>The dashboard needs JavaScript; the API is at <a href="/swagger">/swagger</a>.</noscript>
</body>
</html>`;

function siteOf({ version, js, css }: DashboardAssets): Site {
  return {
    page: served(pageHtml(version), "text/html; charset=utf-8"),
    assets: new Map([
      [`dashboard-${version}.js`, served(js, "text/javascript; charset=utf-8")],
      [`dashboard-${version}.css`, served(css, "text/css; charset=utf-8")],
    ]),
  };
}

let site: Promise<Site> | undefined;
// A failed build (from source) is not kept: the next request tries again.
const loadSite = (): Promise<Site> =>
  (site ??= import("../ui/bundle.ts").then(({ assets }) => siteOf(assets)).catch((error: unknown) => {
    site = undefined;
    throw error;
  }));

function respond(request: Request, file: Served, cache: string, extra: Record<string, string> = {}): Response {
  const gzip = /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
  const headers: Record<string, string> = { "content-type": file.type, "cache-control": cache, vary: "accept-encoding", "x-content-type-options": "nosniff", ...extra };
  if (gzip) headers["content-encoding"] = "gzip";
  return new Response(gzip ? file.gzipped : file.body, { headers });
}

const redirect = (to: string) => () => new Response(null, { status: 302, headers: { location: to } });

/** Mount with `app.use(dashboard())`. Kept out of the OpenAPI document: these are pages, not API. */
export function dashboard() {
  const hidden = { detail: { hide: true } };
  return new Elysia()
    .get("/", redirect(`${UI_PATH}/`), hidden)
    // Elysia matches /ui and /ui/ alike; only /ui/ is the page, so that relative links resolve inside it.
    .get(UI_PATH, async ({ request }) =>
      new URL(request.url).pathname.endsWith("/")
        ? respond(request, (await loadSite()).page, PAGE_CACHE, { "content-security-policy": CSP })
        : redirect(`${UI_PATH}/`)(),
    hidden)
    .get(`${ASSETS_PATH}/:file`, async ({ request, params }) => {
      const file = (await loadSite()).assets.get(params.file);
      if (file === undefined) return errorResponse({ code: ErrorCodes.NOT_FOUND, message: "no such dashboard asset (the page names the current ones)" });
      return respond(request, file, ASSET_CACHE);
    }, hidden);
}
