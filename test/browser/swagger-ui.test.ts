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
