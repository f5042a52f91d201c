import { afterAll, beforeAll, expect, test } from "bun:test";
import { chromium, type Browser } from "playwright-core";
import { startBroker, type BrokerProcess } from "../support/broker-process.ts";

/** Debian's chromium, never a downloaded browser; these flags keep it off the (closed) network. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let broker: BrokerProcess;
let browser: Browser;

beforeAll(async () => {
  broker = await startBroker();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
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
