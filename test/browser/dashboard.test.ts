/**
 * The dashboard in headless Chromium against a real broker (`bun src/main.ts`): every page renders
 * with the broker's data, each action works end to end (checked over REST and WebSocket, not only
 * on the page), the page logs no error, asks nothing of any host but the broker, passes axe-core
 * with no serious violation, and leaves a screenshot in test/browser/screenshots/.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { consume, nack, openConsumer, openSubscriber, publish } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";
import { launchChromium } from "./support/chromium.ts";
import { check, openDashboard, screenshot, type Watched } from "./support/dashboard.ts";

let broker: BrokerProcess;
let browser: Browser;
/** Each test drives a browser and a broker: more than bun's default 5 s, far less than this. */
const PAGE_TEST_MS = 20_000;
/** The bar: list pages stay usable with 10,000 queues. */
const BULK_QUEUES = 10_000;
const DECLARE_BATCH = 200;

async function rest(method: string, path: string, body?: unknown): Promise<any> {
  const answer = await api(broker.url, method, path, body);
  if (answer.status !== 200) throw new Error(`${method} ${path} -> ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}
/** The broker's own refusal of a request, to compare with what the page shows. */
async function refusal(method: string, path: string, body: unknown): Promise<{ code: string; message: string }> {
  const answer = await api(broker.url, method, path, body);
  expect(answer.status).toBeGreaterThanOrEqual(400);
  return answer.body.error;
}
const queue = (name: string) => rest("GET", `/queues/${encodeURIComponent(name)}`);
const peek = (name: string) => rest("GET", `/queues/${encodeURIComponent(name)}/messages?after=0&limit=500`);

beforeAll(async () => {
  [broker, browser] = await Promise.all([startBroker(), launchChromium()]);
  for (const [name, type] of [["orders", "direct"], ["events", "topic"], ["dlx", "fanout"]]) await rest("POST", "/exchanges", { name, type });
  for (const name of ["billing", "shipping", "audit", "peeked", "archive", "work.dlq"]) await rest("POST", "/queues", { name, durable: true });
  await rest("POST", "/queues", { name: "work", durable: true, dead_letter_exchange: "", dead_letter_routing_key: "work.dlq" });
  for (let i = 0; i < BULK_QUEUES; i += DECLARE_BATCH) {
    await Promise.all(Array.from({ length: DECLARE_BATCH }, (_, j) => rest("POST", "/queues", { name: `bulk-${String(i + j).padStart(5, "0")}` })));
  }
  for (const [exchange_name, queue_name, key] of [
    ["orders", "billing", "eu"],
    ["orders", "shipping", "eu"],
    ["events", "audit", "order.#"],
    ["events", "billing", "order.*.paid"],
  ]) {
    await rest("POST", "/bindings", { exchange_name, queue_name, key });
  }
}, 30_000);

afterAll(async () => {
  await browser?.close();
  if (broker?.proc.exitCode === null) await broker.stop();
  removeDir(broker?.dataDir ?? "");
});

/**
 * Ends the test: clean console, nothing foreign, no serious axe violation. Chromium logs every
 * answer of 400 and up as a console error; those the test provoked on purpose are named.
 */
async function finish(watched: Watched, name: string, provoked: number[] = []): Promise<void> {
  const { violations, problems, foreign } = await check(watched, name);
  const expected = (problem: string) => provoked.some((status) => problem === `console: Failed to load resource: the server responded with a status of ${status} (${STATUS_TEXT[status]})`);
  expect({ violations, problems: problems.filter((p) => !expected(p)), foreign }).toEqual({ violations: [], problems: [], foreign: [] });
}
const STATUS_TEXT: Record<number, string> = { 404: "Not Found", 422: "Unprocessable Entity" };


/** Numbers as the page writes them (10,000). */
const n = (value: number) => value.toLocaleString("en");
const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
/** Clicks the button that opens a confirmation, then the dialog's own confirm button. */
async function confirm(page: Page, opener: string, confirmLabel: string): Promise<void> {
  await page.getByRole("button", { name: opener, exact: true }).click();
  await page.locator("dialog[open]").getByRole("button", { name: confirmLabel, exact: true }).click();
}

test("overview: the broker's numbers and live charts over one stream, paused while the tab is hidden", async () => {
  const watched = await openDashboard(browser, broker.url, "/");
  const { page, requests } = watched;
  await page.getByText("live", { exact: true }).waitFor();
  // No users configured: no login, the header says who the broker takes this browser for.
  expect(await page.getByTestId("account").innerText()).toBe("guest: full access from this machine (no users configured)");
  expect(await page.getByRole("button", { name: "Log out" }).count()).toBe(0);
  const overview = await rest("GET", "/overview");
  expect(await text(page, ".stats")).toContain(`${n(overview.exchanges)} · ${n(overview.queues)} · ${n(overview.bindings)}`);
  expect(await page.locator("canvas").count()).toBeGreaterThanOrEqual(4);
  const first = await text(page, "[data-testid=last-sample]");
  await page.waitForFunction((before) => document.querySelector("[data-testid=last-sample]")?.textContent !== before, first);

  // Hidden: the stream is closed and nothing is fetched; visible again: history, then one new stream.
  const streams = () => requests.filter((url) => url.endsWith("/overview/stream")).length;
  expect(streams()).toBe(1);
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await page.getByText("paused (tab hidden)").waitFor();
  const whileHidden = requests.length;
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await page.getByText("live", { exact: true }).waitFor();
  expect(requests.slice(whileHidden).some((url) => url.endsWith("/overview/history"))).toBe(true);
  expect(streams()).toBe(2);
  await finish(watched, "overview");
}, PAGE_TEST_MS);

test("exchanges: the list, declare, the broker's validation message, delete", async () => {
  const watched = await openDashboard(browser, broker.url, "/exchanges");
  const { page } = watched;
  const table = page.locator("table#exchanges");
  await table.getByRole("link", { name: "orders", exact: true }).waitFor();
  expect(await table.innerText()).toContain("events");

  await page.getByLabel("Name", { exact: true }).fill("payments");
  await page.getByRole("combobox", { name: "Type", exact: true }).selectOption("topic");
  await page.getByRole("button", { name: "Declare" }).click();
  await table.getByRole("link", { name: "payments", exact: true }).waitFor();
  expect((await rest("GET", "/exchanges/payments")).type).toBe("topic");

  const refused = await refusal("POST", "/exchanges", { name: "", type: "direct", durable: true });
  await page.getByLabel("Name", { exact: true }).fill("");
  await page.getByRole("button", { name: "Declare" }).click();
  await page.getByRole("alert").getByText(refused.message).waitFor();
  expect(await page.getByRole("alert").innerText()).toContain(refused.code);

  await confirm(page, "Delete payments", "Delete");
  await page.getByText("Deleted the exchange “payments”.").waitFor();
  expect((await api(broker.url, "GET", "/exchanges/payments")).status).toBe(404);
  await finish(watched, "exchanges", [422]);
}, PAGE_TEST_MS);

test("queues: paged, filtered and sorted by the broker; declare shows its validation message; delete", async () => {
  const watched = await openDashboard(browser, broker.url, "/queues");
  const { page } = watched;
  const total = n((await rest("GET", "/queues?page=1&page_size=1")).total);
  const counter = page.getByTestId("queues-count");
  await counter.getByText(`Showing 1–50 of ${total}`).waitFor();
  expect(await page.locator("table#queues tbody tr").count()).toBe(50);

  await page.getByLabel("Filter by name").fill("bulk-0001");
  await counter.getByText(`Showing 1–10 of 10 (filtered from ${total})`).waitFor();
  await page.getByRole("button", { name: /^Name/ }).click();
  await page.locator("th[aria-sort=descending]").waitFor();
  await page.locator("table#queues tbody tr").first().getByRole("link", { name: "bulk-00019", exact: true }).waitFor();
  await page.getByLabel("Filter by name").fill("");
  await counter.getByText(`Showing 1–50 of ${total}`).waitFor();
  await page.getByRole("button", { name: "Next" }).click();
  await counter.getByText(`Showing 51–100 of ${total}`).waitFor();

  const refused = await refusal("POST", "/queues", { name: "from-ui", durable: true, max_length: -1 });
  await page.getByLabel("Name", { exact: true }).fill("from-ui");
  await page.getByText("Arguments").click();
  await page.getByLabel("Max length (messages)").fill("-1");
  await page.getByRole("button", { name: "Declare" }).click();
  await page.getByRole("alert").getByText(refused.message).waitFor();

  await page.getByLabel("Max length (messages)").fill("10");
  await page.getByRole("button", { name: "Declare" }).click();
  await page.getByText("Declared the queue “from-ui”.").waitFor();
  expect((await queue("from-ui")).arguments.max_length).toBe(10);

  await page.getByLabel("Filter by name").fill("from-ui");
  await counter.getByText(/Showing 1–1 of 1 /).waitFor();
  // By keyboard: Enter opens the confirmation with focus on Cancel, Escape backs out and returns focus.
  await page.getByRole("button", { name: "Delete from-ui", exact: true }).focus();
  await page.keyboard.press("Enter");
  await page.locator("dialog[open]").waitFor();
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
  await page.keyboard.press("Escape");
  await page.locator("dialog").waitFor({ state: "detached" });
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Delete from-ui");
  expect((await api(broker.url, "GET", "/queues/from-ui")).status).toBe(200);
  await confirm(page, "Delete from-ui", "Delete");
  await page.getByText("Deleted the queue “from-ui” and 0 messages.").waitFor();
  expect((await api(broker.url, "GET", "/queues/from-ui")).status).toBe(404);
  await finish(watched, "queues", [422]);
}, PAGE_TEST_MS);

test("bindings: the list, bind (and the broker's refusal), unbind", async () => {
  const watched = await openDashboard(browser, broker.url, "/bindings");
  const { page } = watched;
  await page.locator("table#bindings code", { hasText: "order.*.paid" }).waitFor();
  await page.getByLabel("Filter by exchange or queue name").fill("SHIPP");
  await page.getByTestId("bindings-count").getByText("Showing 1–1 of 1 (filtered from 4)").waitFor();
  await page.getByLabel("Filter by exchange or queue name").fill("");

  const refused = await refusal("POST", "/bindings", { exchange_name: "nope", queue_name: "audit", key: "x" });
  await page.getByRole("textbox", { name: "Exchange", exact: true }).fill("nope");
  await page.getByRole("textbox", { name: "Queue", exact: true }).fill("audit");
  await page.getByLabel("Key or pattern").fill("x");
  await page.getByRole("button", { name: "Bind", exact: true }).click();
  await page.getByRole("alert").getByText(refused.message).waitFor();

  await page.getByRole("textbox", { name: "Exchange", exact: true }).fill("events");
  await page.getByLabel("Key or pattern").fill("audit.#");
  await page.getByRole("button", { name: "Bind", exact: true }).click();
  await page.locator("table#bindings code", { hasText: "audit.#" }).waitFor();
  const bound = () => rest("GET", "/bindings?exchange=events&queue=audit");
  expect((await bound()).map((b: { key: string }) => b.key).sort()).toEqual(["audit.#", "order.#"]);

  await confirm(page, "Unbind events → audit (key “audit.#”)", "Unbind");
  await page.getByText("Removed the binding events → audit (key “audit.#”).").waitFor();
  expect((await bound()).map((b: { key: string }) => b.key)).toEqual(["order.#"]);
  await finish(watched, "bindings", [404]);
}, PAGE_TEST_MS);

test("topology: exchanges → bindings → queues; pick an exchange, follow a routing key", async () => {
  const watched = await openDashboard(browser, broker.url, "/topology");
  const { page } = watched;
  const graph = page.getByTestId("topology-graph");
  await graph.getByText("orders · direct").waitFor();
  expect(await graph.innerHTML()).toContain("order.*.paid");

  await page.getByRole("combobox", { name: "Exchange", exact: true }).selectOption("events");
  await page.waitForFunction(() => location.hash === "#/topology?exchange=events");
  await graph.getByText("events · topic").waitFor();
  await until(async () => (await page.locator("table tbody tr").count()) === 2, 5_000, "the two bindings of events");

  await page.getByLabel("Follow a routing key").fill("order.eu.paid");
  await page.getByTestId("routed-to").getByText("reaches 2 queues").waitFor();
  expect(await text(page, "[data-testid=routed-to]")).toMatch(/audit, billing|billing, audit/);
  await page.getByLabel("Follow a routing key").fill("order.eu");
  await page.getByTestId("routed-to").getByText("reaches the queue: audit.").waitFor();
  expect(await page.locator("svg .edge.lit").count()).toBe(1);
  await finish(watched, "topology");
}, PAGE_TEST_MS);

test("queue page: peek shows what was published and changes nothing; publish, publish again, move selected to a chosen queue, purge", async () => {
  const payloads = [1, 2, 3].map((n) => ({ n, nested: { list: [n, n * 2], text: `message ${n}` } }));
  for (const payload of payloads) await publish(broker.url, "peeked", payload, { headers: { tenant: "acme" } });
  const [before, peekedBefore] = [await queue("peeked"), await peek("peeked")];

  const watched = await openDashboard(browser, broker.url, "/queues/peeked");
  const { page } = watched;
  const bodies = page.locator("ol.messages pre.payload");
  await until(async () => (await bodies.count()) === 3, 5_000, "three peeked messages");
  expect(await bodies.allInnerTexts()).toEqual(payloads.map((p) => JSON.stringify(p, null, 2)));
  expect(await page.getByTestId("ready").innerText()).toBe("3");

  // Peeking changed nothing: not the counts, not the order, not a delivery count.
  const after = await queue("peeked");
  expect({ messages: after.messages, delivered: after.delivered, unacked: after.unacked }).toEqual({ messages: 3, delivered: before.delivered, unacked: 0 });
  expect(await peek("peeked")).toEqual(peekedBefore);

  await page.getByLabel("Body (JSON)").fill('{"from":"the form"}');
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await page.getByText(/routed to 1 queue\./).waitFor();
  await until(async () => (await bodies.count()) === 4, 5_000, "the published message on the page");

  await page.getByRole("button", { name: "Publish again" }).first().click();
  await page.getByText("Filled in from message #1.").waitFor();
  expect(JSON.parse(await page.getByLabel("Body (JSON)").inputValue())).toEqual(payloads[0]);
  expect(JSON.parse(await page.getByLabel("Headers (JSON object)").inputValue())).toEqual({ tenant: "acme" });
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await until(async () => (await bodies.count()) === 5, 5_000, "the message published again");
  expect((await peek("peeked")).messages.map((m: { payload: unknown }) => m.payload)).toEqual([...payloads, { from: "the form" }, payloads[0]]);
  await screenshot(page, "queue");

  // Two selected ones moved to a chosen queue, in their order; the rest stay.
  await page.getByLabel("Select message #2").check();
  await page.getByLabel("Select message #3").check();
  await page.getByLabel("The queue", { exact: true }).check();
  await page.getByLabel("Destination queue").fill("archive");
  await page.getByRole("button", { name: "Move", exact: true }).click();
  await page.getByText("Moved 2 messages.").waitFor();
  expect((await peek("archive")).messages.map((m: { payload: unknown }) => m.payload)).toEqual([payloads[1], payloads[2]]);
  await until(async () => (await bodies.count()) === 3, 5_000, "the three messages left");

  await confirm(page, "Purge", "Purge");
  await page.getByText("Purged 3 messages.").waitFor();
  expect((await queue("peeked")).messages).toBe(0);
  await page.getByText("No messages here.").waitFor();
  await finish(watched, "queue-purged");
}, PAGE_TEST_MS);

test("queue page: redrive sends a dead-lettered message back where it died, and a consumer gets it", async () => {
  await publish(broker.url, "work", { job: 7 });
  const worker = await openConsumer(broker.wsUrl, "work");
  await worker.untilMessages(1);
  nack(worker, worker.messages()[0], false);
  await until(async () => (await queue("work.dlq")).messages === 1, 5_000, "the rejected message in work.dlq");
  worker.close();
  await worker.untilClosed();

  const watched = await openDashboard(browser, broker.url, "/queues/work.dlq");
  const { page } = watched;
  const deaths = page.locator("ol.messages table");
  await deaths.getByText("rejected").waitFor();
  expect(await deaths.innerText()).toContain("work");
  await screenshot(page, "queue-dead-letter");
  await page.getByLabel("Select message #1").check();
  await page.getByRole("button", { name: "Move", exact: true }).click();
  await page.getByText("Moved 1 message.").waitFor();
  expect((await queue("work.dlq")).messages).toBe(0);
  expect((await queue("work")).messages).toBe(1);

  const again = await TestSocket.open(broker.wsUrl);
  await consume(again, "work");
  await again.untilMessages(1);
  const delivered = again.messages()[0];
  expect(delivered.body).toEqual({ job: 7 });
  expect(delivered.headers["x-death"][0]).toMatchObject({ queue: "work", reason: "rejected" });
  again.close();
  await finish(watched, "queue-redrive");
}, PAGE_TEST_MS);

test("a queue named with /, ?, #, % and non-ASCII letters opens from the list, and its page works on it", async () => {
  const name = "odd/name ?#%é";
  await rest("POST", "/queues", { name });
  await publish(broker.url, name, { odd: true });
  const watched = await openDashboard(browser, broker.url, "/queues");
  const { page } = watched;
  await page.getByLabel("Filter by name").fill("odd/");
  await page.getByRole("link", { name, exact: true }).click();
  await page.locator("main h1", { hasText: name }).waitFor();
  expect(await page.evaluate(() => location.hash)).toBe(`#/queues/${encodeURIComponent(name)}`);
  await page.locator("ol.messages pre.payload", { hasText: '"odd": true' }).waitFor();
  await confirm(page, "Purge", "Purge");
  await page.getByText("Purged 1 message.").waitFor();
  expect((await queue(name)).messages).toBe(0);
  await finish(watched, "queue-odd-name");
}, PAGE_TEST_MS);

test("connections: each connection with its subscriptions and consumers; close one", async () => {
  const subscriber = await openSubscriber(broker.wsUrl, "billing");
  const worker = await openConsumer(broker.wsUrl, "shipping", 5);
  const listed = (await rest("GET", "/connections")).connections as { id: string; subscriptions: { queue: string }[] }[];
  const id = listed.find((c) => c.subscriptions.some((s) => s.queue === "billing"))?.id;
  if (id === undefined) throw new Error(`no subscriber in ${JSON.stringify(listed)}`);

  const watched = await openDashboard(browser, broker.url, "/connections");
  const { page } = watched;
  const row = page.locator("tr", { hasText: id });
  await row.getByRole("link", { name: "billing" }).waitFor();
  await page.locator("tr", { hasText: "shipping (5, 0)" }).waitFor();

  // The queue's page names its readers too.
  await page.evaluate(() => (location.hash = "#/queues/billing"));
  await page.locator("table", { hasText: "Connections reading this queue" }).getByText(id).waitFor();
  await page.evaluate(() => (location.hash = "#/connections"));

  await confirm(page, `Close ${id}`, "Close");
  await page.getByText(`Closed the connection ${id}.`).waitFor();
  await subscriber.untilClosed();
  expect((await rest("GET", "/connections")).connections.map((c: { id: string }) => c.id)).not.toContain(id);
  await row.waitFor({ state: "detached" });
  worker.close();
  await finish(watched, "connections");
}, PAGE_TEST_MS);
