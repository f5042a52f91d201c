/**
 * API docs: Swagger UI at /swagger, OpenAPI 3 JSON at /swagger/json. Renders with no network.
 *
 * @elysiajs/swagger 1.3.1 builds its page with a hard-coded
 * `<script src="https://unpkg.com/swagger-ui-dist@${version}/swagger-ui-bundle.js">` (only the CSS
 * URL, `theme`, is configurable), so offline the page is blank. We keep the plugin for the spec and
 * replace its page with our own, whose assets come from swagger-ui-dist embedded in the executable.
 */
import { Elysia } from "elysia";
import { swagger } from "@elysiajs/swagger";
import swaggerUiDist from "swagger-ui-dist/package.json";
// `type: "file"` makes `bun build --compile` embed the file; the value is its path (on /$bunfs
// inside the executable). TypeScript has no declarations for these paths, hence the ts-ignores.
// @ts-ignore TS7016: plain JS, no types
import bundleJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
// @ts-ignore TS2307: no declarations for CSS
import uiCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };

const DOCS_PATH = "/swagger";
const SPEC_PATH = `${DOCS_PATH}/json`;
/** The swagger-ui version is in the URL, so a year of `immutable` caching is safe across upgrades. */
const ASSETS_PATH = `${DOCS_PATH}/assets/${swaggerUiDist.version}`;
const ASSET_CACHE = "public, max-age=31536000, immutable";

/** Content-type set explicitly: the embedded file's name is hashed, don't rely on sniffing it. */
const asset = (path: string, type: string) => () =>
  new Response(Bun.file(path), { headers: { "content-type": type, "cache-control": ASSET_CACHE } });

// Same-origin absolute paths: a relative URL would resolve differently under `/swagger/`.
const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>pubsub API</title>
  <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "${SPEC_PATH}", dom_id: "#swagger-ui", deepLinking: true });
  </script>
</body>
</html>`;

/** Mount with `app.use(swaggerDocs(version))`; documents every route of the app it is used in. */
export function swaggerDocs(version: string) {
  const hidden = { detail: { hide: true } }; // keeps our own routes out of the spec
  return (
    new Elysia()
      .use(
        swagger({
          provider: "swagger-ui",
          path: DOCS_PATH,
          specPath: SPEC_PATH,
          documentation: {
            info: { title: "pubsub", version, description: "pubsub message broker. The WebSocket protocol at /ws: [AsyncAPI document](/asyncapi.json). The dashboard: [/ui/](/ui/)." },
            // Swagger UI's "Authorize": an API key or a JWT as a bearer token, or Basic user:key.
            components: {
              securitySchemes: {
                bearer: { type: "http", scheme: "bearer", description: "An API key (pk_…) or a JWT" },
                basic: { type: "http", scheme: "basic", description: "User name and one of its API keys" },
              },
            },
            security: [{ bearer: [] }, { basic: [] }],
          },
        }),
      )
      // Registered after the plugin's own GET /swagger: Elysia lets the later route win. The
      // integration test fails if the CDN page ever comes back.
      .get(DOCS_PATH, () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }), hidden)
      .get(`${ASSETS_PATH}/swagger-ui-bundle.js`, asset(bundleJs, "text/javascript; charset=utf-8"), hidden)
      .get(`${ASSETS_PATH}/swagger-ui.css`, asset(uiCss, "text/css; charset=utf-8"), hidden)
  );
}
