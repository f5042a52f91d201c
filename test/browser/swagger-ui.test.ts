import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { launchChromium } from "./support/chromium.ts";

let broker: BrokerProcess;
let browser: Browser;

beforeAll(async () => {
  broker = await startBroker();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await broker?.stop();
});

test("Swagger UI renders every operation with no network beyond the broker", async () => {
  const page = await browser.newPage();
  const foreign: string[] = [];
  // Anything not served by the broker itself is refused, as it would be on an offline machine.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(broker.url)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  await page.goto(`${broker.url}/swagger`);
  await page.waitForSelector(".opblock", { timeout: 15_000 });
  const paths = await page.$$eval(".opblock-summary-path", (nodes) => nodes.map((n) => n.textContent?.trim()));
  expect(paths).toContain("/publish");
  expect(paths).toContain("/queues/{name}");
  expect(await page.locator(".models, #model-PublishRequest, section.models").count()).toBeGreaterThan(0);
  expect(foreign).toEqual([]);
  await page.close();
});

test("Swagger UI's Authorize: a bearer API key entered there is sent with Try it out, and the broker answers 200", async () => {
  const { writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { generateKey, hashKey } = await import("../../src/auth/api-keys.ts");
  const { removeDir, tempDir } = await import("../support/broker-process.ts");
  const dir = tempDir();
  const key = generateKey();
  const users = [{ name: "admin", admin: true, permissions: { configure: ".*", write: ".*", read: ".*" }, keys: [{ id: key.id, hash: await hashKey(key.key, { memoryCost: 64, timeCost: 1 }), created_at: new Date(0).toISOString() }] }];
  writeFileSync(join(dir, "users.json"), JSON.stringify({ users }));
  const secured = await startBroker({ dataDir: dir, env: { USERS_FILE: join(dir, "users.json") } });
  const page = await browser.newPage();
  try {
    await page.goto(`${secured.url}/swagger`);
    await page.waitForSelector(".opblock", { timeout: 15_000 });
    await page.click("button.authorize");
    // The bearer scheme's value field, then Authorize and Close.
    const bearer = page.locator(".auth-container").filter({ hasText: "bearer" }).first();
    await bearer.locator("input").fill(key.key);
    await bearer.locator("button.authorize").click();
    await page.click("button.btn-done");
    const list = page.locator(".opblock-get").filter({ has: page.locator('.opblock-summary-path[data-path="/queues"]') }).first();
    await list.locator(".opblock-summary").click();
    await list.locator("button.try-out__btn").click();
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === "/queues" && r.request().method() === "GET");
    await list.locator("button.execute").click();
    const response = await answer;
    expect(response.request().headers().authorization).toBe(`Bearer ${key.key}`);
    expect(response.status()).toBe(200);
  } finally {
    await page.close();
    await secured.stop();
    removeDir(dir);
  }
});
