/**
 * The dashboard from the compiled executable, built with `npm run build`'s flags and run from
 * another directory: its bundle is inside the file (no sources, no network), and it renders live.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { buildExecutable, type Built } from "../support/executable.ts";
import { launchChromium } from "./support/chromium.ts";
import { check, openDashboard } from "./support/dashboard.ts";

let built: Built;
let broker: BrokerProcess;
let browser: Browser;
let elsewhere = "";

beforeAll(async () => {
  built = buildExecutable();
  elsewhere = tempDir("pubsub-dashboard-exe-");
  [broker, browser] = await Promise.all([startBroker({ executable: built.binary, cwd: elsewhere }), launchChromium()]);
  const declared = await fetch(`${broker.url}/queues`, { method: "POST", body: JSON.stringify({ name: "from-the-binary", durable: true }) });
  expect(declared.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (broker?.proc.exitCode === null) await broker.stop();
  removeDir(broker?.dataDir ?? "");
  removeDir(elsewhere);
  built?.remove();
});

test("the executable serves the dashboard from inside itself: / redirects, assets are immutable, pages render live", async () => {
  const root = await fetch(`${broker.url}/`, { redirect: "manual" });
  expect([root.status, root.headers.get("location")]).toEqual([302, "/ui/"]);
  const html = await (await fetch(`${broker.url}/ui/`)).text();
  const script = /src="(\/ui\/assets\/dashboard-[0-9a-f]{16}\.js)"/.exec(html)?.[1];
  if (script === undefined) throw new Error(`no hashed script in ${html}`);
  const asset = await fetch(`${broker.url}${script}`);
  expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");

  const overview = await openDashboard(browser, broker.url, "/");
  await overview.page.getByText("live", { exact: true }).waitFor();
  await overview.page.getByTestId("last-sample").waitFor();
  const seen = await check(overview, "executable-overview");
  expect(seen).toEqual({ violations: [], problems: [], foreign: [] });

  const queues = await openDashboard(browser, broker.url, "/queues");
  await queues.page.getByRole("link", { name: "from-the-binary", exact: true }).waitFor();
  expect(await check(queues, "executable-queues")).toEqual({ violations: [], problems: [], foreign: [] });
}, 30_000);
