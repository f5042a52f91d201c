/**
 * The docs must render with no network: the page may only load same-origin assets, each served
 * from the build with a JS/CSS content-type, and the spec must document the app's routes and models.
 * Served the way the real app is: Bun.serve with `fetch: app.fetch`, not `app.listen`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import type { Server } from "bun";
import { swaggerDocs } from "../../src/server/swagger.ts";

const app = new Elysia()
  .use(swaggerDocs("9.8.7"))
  .model({ PublishRequest: t.Object({ routingKey: t.String(), payload: t.String() }) })
  .post("/exchanges/:name/publish", ({ body }) => ({ routed: body.routingKey.length }), {
    body: "PublishRequest",
  });

let server: Server<undefined>;
let base: string;
beforeAll(() => {
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

/** Every `src="…"` / `href="…"` in the page. */
const assetUrls = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);

describe("swagger UI", () => {
  test("page references only same-origin assets", async () => {
    const res = await fetch(`${base}/swagger`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    const urls = assetUrls(html);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    for (const url of urls) expect(new URL(url, res.url).origin).toBe(base);
    expect(html).not.toMatch(/https?:\/\/|unpkg|jsdelivr|cdn/i);
  });

  test("each referenced asset is served with a JS/CSS type and a long cache", async () => {
    const html = await (await fetch(`${base}/swagger`)).text();
    const types = new Set<string>();
    for (const url of assetUrls(html)) {
      const res = await fetch(new URL(url, `${base}/swagger`));
      expect(res.status).toBe(200);
      const type = res.headers.get("content-type") ?? "";
      expect(type).toMatch(/^(text\/javascript|application\/javascript|text\/css)/);
      types.add(type.split(";")[0]!);
      expect(res.headers.get("cache-control")).toContain("max-age=31536000");
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
    expect(types.size).toBe(2); // one script, one stylesheet
  });
});

describe("openapi json", () => {
  test("documents the app's routes and named models, not the docs' own routes", async () => {
    const res = await fetch(`${base}/swagger/json`);
    expect(res.status).toBe(200);
    const spec = (await res.json()) as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
      components: { schemas: Record<string, { type?: string; properties?: Record<string, unknown> }> };
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.info).toMatchObject({ title: "pubsub", version: "9.8.7" });

    const publish = spec.paths["/exchanges/{name}/publish"]?.post;
    expect(publish?.requestBody?.content["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/PublishRequest",
    });
    expect(Object.keys(spec.components.schemas.PublishRequest?.properties ?? {})).toEqual(["routingKey", "payload"]);

    expect(Object.keys(spec.paths).filter((p) => p.startsWith("/swagger"))).toEqual([]);
  });
});
