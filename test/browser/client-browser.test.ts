/**
 * The client in a browser: bundled by `bun build --target browser`, loaded by a page from a tiny
 * Bun.serve (another origin than the broker's, as in real use), driven in headless Chromium. The
 * page subscribes and shows what it receives; it publishes with confirms; it gets the broker's
 * error codes; and it carries on by itself through a broker kill -9 and restart.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { connect, type PubsubClient } from "../../src/client/index.ts";
import { BUN, removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";
import { launchChromium } from "./support/chromium.ts";

const ROOT = resolve(import.meta.dir, "../..");
let broker: BrokerProcess;
let admin: PubsubClient;
let browser: Browser;
let site: ReturnType<typeof Bun.serve>;
let bundleDir = "";

/** The page: plain HTML and a module script importing the bundle, as an application would. */
const page = (brokerUrl: string) => `<!doctype html>
<html><body>
  <p id="status">loading</p><p id="connection"></p><p id="confirm"></p><p id="error"></p>
  <ol id="messages"></ol>
  <script type="module">
    import { connect, PubsubError } from "/pubsub-client.js";
    const $ = (id) => document.getElementById(id);
    const client = connect(${JSON.stringify(brokerUrl)}, {
      reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
      onConnection: (event) => { $("connection").textContent = event.state; },
    });
    await client.subscribe("browser-feed", (message) => {
      const item = document.createElement("li");
      item.dataset.seq = String(message.seq);
      item.textContent = JSON.stringify(message.body);
      $("messages").append(item);
    });
    $("confirm").textContent = JSON.stringify(await client.publish("", "browser-feed", { from: "the page" }));
    try {
      await client.publish("no-such-exchange", "key", 1);
    } catch (error) {
      $("error").textContent = (error instanceof PubsubError) + " " + error.code;
    }
    $("status").textContent = "subscribed";
  </script>
</body></html>`;

beforeAll(async () => {
  broker = await startBroker();
  admin = connect(broker.url);
  await admin.queues.declare({ name: "browser-feed", durable: true, history_size: 100 });

  bundleDir = tempDir("pubsub-browser-bundle-");
  const built = Bun.spawnSync([BUN, "build", join(ROOT, "src/client/index.ts"), "--target", "browser", "--format", "esm", "--outfile", join(bundleDir, "pubsub-client.js")], {
    stderr: "pipe",
  });
  if (built.exitCode !== 0) throw new Error(`bun build failed: ${built.stderr.toString()}`);
  const html = page(broker.url);
  site = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      const { pathname } = new URL(request.url);
      if (pathname === "/") return new Response(html, { headers: { "content-type": "text/html" } });
      if (pathname === "/pubsub-client.js") return new Response(Bun.file(join(bundleDir, "pubsub-client.js")), { headers: { "content-type": "text/javascript" } });
      return new Response("not found", { status: 404 });
    },
  });
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  site?.stop(true);
  await admin?.close();
  if (broker?.proc.exitCode === null) await broker.stop();
  removeDir(broker?.dataDir ?? "");
  removeDir(bundleDir);
});

const shown = (p: Page) => p.$$eval("#messages li", (items) => items.map((li) => [Number((li as HTMLElement).dataset.seq), li.textContent]));

test("subscribes and shows what it receives, publishes with a confirm, gets typed errors, survives a broker restart", async () => {
  const tab = await browser.newPage();
  const problems: string[] = [];
  tab.on("pageerror", (error) => problems.push(error.message));
  await tab.goto(site.url.href);
  await tab.waitForFunction(() => document.getElementById("status")?.textContent === "subscribed", undefined, { timeout: 10_000 });
  expect(await tab.textContent("#confirm")).toBe('{"routed":1,"duplicate":false}');
  expect(await tab.textContent("#error")).toBe("true E002");

  for (let n = 1; n <= 5; n++) await admin.publish("", "browser-feed", { n });
  await until(async () => (await shown(tab)).length === 6, 5_000, "six messages on the page");
  expect(await shown(tab)).toEqual([
    [1, '{"from":"the page"}'],
    ...[1, 2, 3, 4, 5].map((n) => [n + 1, JSON.stringify({ n })]),
  ]);

  // kill -9 and a restart on the same port: the page's client reconnects and subscribes again.
  await broker.kill9();
  await until(async () => (await tab.textContent("#connection")) === "lost", 5_000, "the page to notice");
  broker = await startBroker({ dataDir: broker.dataDir, port: broker.port });
  await until(async () => (await admin.queues.get("browser-feed").catch(() => undefined))?.subscribers === 1, 10_000, "the page back");
  expect(await tab.textContent("#connection")).toBe("open");
  for (let n = 6; n <= 8; n++) await admin.publish("", "browser-feed", { n });
  await until(async () => (await shown(tab)).length >= 9, 5_000, "the messages after the restart");
  await Bun.sleep(100);

  // Whatever the broker sent again after the crash (not yet checkpointed) was not shown twice.
  const after = await shown(tab);
  expect(after.map(([seq]) => seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(after.slice(6).map(([, body]) => body)).toEqual([6, 7, 8].map((n) => JSON.stringify({ n })));
  expect(problems).toEqual([]);
  await tab.close();
}, 30_000);
