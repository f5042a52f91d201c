/**
 * The browser live feed across a broker restart, as its README says: the status goes
 * "connection lost, reconnecting…", then "live", and ticks carry on. Its queue is transient, so
 * the restart loses it: the server's client declares it and its binding again (`redeclare`), the
 * page declares the queue before it subscribes again.
 */
import { afterAll, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "../browser/support/chromium.ts";
import { BUN, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";

const ROOT = resolve(import.meta.dir, "../..");
const brokers: BrokerProcess[] = [];
let browser: Browser | undefined;
let server: ReturnType<typeof Bun.spawn> | undefined;

afterAll(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  await server?.exited;
  for (const b of brokers) {
    if (b.proc.exitCode === null) await b.stop();
    removeDir(b.dataDir);
  }
});

test("[CLIENT-5] the live feed keeps ticking after a broker restart (it stopped for good while saying \"live\")", async () => {
  const first = await startBroker();
  brokers.push(first);
  server = Bun.spawn([BUN, "run", "examples/browser-live-feed/server.ts", "--url", first.url, "--port", "0", "--every", "50"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  let banner = "";
  for await (const chunk of server.stdout as ReadableStream<Uint8Array>) {
    banner += new TextDecoder().decode(chunk);
    if (banner.includes("\n")) break;
  }
  const pageUrl = /live feed on (http:\/\/\S+)/.exec(banner)?.[1];
  expect(pageUrl).toBeDefined();

  browser = await launchChromium();
  const page = await browser.newPage();
  const ticksShown = () => page.$$eval("#ticks li", (items) => items.length);
  const status = () => page.textContent("#status");
  await page.goto(pageUrl!);
  await until(async () => (await ticksShown()) >= 5, 10_000, "five ticks on the page");
  expect(await status()).toBe("live");

  expect(await first.stop()).toBe(0);
  await until(async () => (await status())?.startsWith("connection lost") === true, 5_000, "the page to say the connection is lost");
  const second = await startBroker({ dataDir: first.dataDir, port: first.port });
  brokers.push(second);

  // Back: the queue and its binding exist again and ticks reach the page.
  await until(async () => (await status()) === "live", 10_000, "the page to say live again");
  const queue = async () => (await fetch(`${second.url}/queues/live-feed`)).json() as Promise<{ subscribers?: number; published?: number }>;
  await until(async () => ((await queue()).published ?? 0) >= 5, 10_000, "ticks routed to the queue again");
  // "live" is said when the socket opens; its re-subscription follows a moment later (ticks may reach
  // the queue first): wait for it rather than read the count at one instant (it raced once in CI).
  await until(async () => (await queue()).subscribers === 1, 10_000, "the page subscribed again");
  const firstNewTick = await page.$eval("#ticks li", (li) => li.textContent);
  await until(async () => (await page.$eval("#ticks li", (li) => li.textContent)) !== firstNewTick, 10_000, "new ticks on the page");
  expect(await status()).toBe("live");
  await page.close();
}, 60_000);
