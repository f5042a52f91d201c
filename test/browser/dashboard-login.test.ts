/**
 * The dashboard's login against a broker with users (a USERS_FILE written here, and a JWT secret):
 * the form, the broker's refusal on it, the HttpOnly SameSite=Strict cookie, the CSRF token on
 * every change (and a request without it refused), a limited user's filtered lists and 403s, the
 * session ending (its key removed; a JWT expiring), logout in one tab reaching the others. No
 * token or key lands in storage, the URL or a request the page makes but POST /session.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { generateKey, hashKey } from "../../src/auth/api-keys.ts";
import { mintToken } from "../../src/cli/token.ts";
import { api, removeDir, startBroker, tempDir, type BrokerProcess } from "../support/broker-process.ts";
import { launchChromium } from "./support/chromium.ts";
import { check, newDashboardContext, openDashboard, screenshot, seriousViolations, type Watched } from "./support/dashboard.ts";

/** Argon2id at its cheapest: the test pays microseconds per key, not the production cost. */
const CHEAP = { memoryCost: 64, timeCost: 1 };
const JWT_SECRET = "a test secret of thirty-two bytes or more, for HS256";
const PAGE_TEST_MS = 20_000;
const SESSION_COOKIE = "pubsub_session";

type Key = { id: string; key: string };
let broker: BrokerProcess;
let browser: Browser;
let usersDir = "";
const keys: Record<"admin" | "alice" | "aliceSpare", Key> = { admin: generateKey(), alice: generateKey(), aliceSpare: generateKey() };

const asAdmin = { authorization: `Bearer ${keys.admin.key}` };
async function rest(method: string, path: string, body?: unknown): Promise<any> {
  const answer = await api(broker.url, method, path, body, asAdmin);
  if (answer.status !== 200) throw new Error(`${method} ${path} -> ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

beforeAll(async () => {
  usersDir = tempDir("pubsub-login-users-");
  const entry = async (k: Key) => ({ id: k.id, hash: await hashKey(k.key, CHEAP) });
  const users = [
    { name: "admin", admin: true, permissions: { configure: ".*", write: ".*", read: ".*" }, keys: [await entry(keys.admin)] },
    // RabbitMQ's usual pattern for a tenant: everything under its own prefix, nothing else.
    { name: "alice", admin: false, permissions: { configure: "^alice\\.", write: "^alice\\.", read: "^alice\\." }, keys: [await entry(keys.alice), await entry(keys.aliceSpare)] },
  ];
  const usersFile = join(usersDir, "users.json");
  writeFileSync(usersFile, JSON.stringify({ users }));
  [broker, browser] = await Promise.all([startBroker({ env: { USERS_FILE: usersFile, JWT_SECRET } }), launchChromium()]);
  for (const name of ["alice.inbox", "alice.outbox", "billing", "shipping"]) await rest("POST", "/queues", { name, durable: true });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  if (broker?.proc.exitCode === null) await broker.stop();
  removeDir(broker?.dataDir ?? "");
  removeDir(usersDir);
});

const STATUS_TEXT: Record<number, string> = { 401: "Unauthorized", 403: "Forbidden", 422: "Unprocessable Entity", 429: "Too Many Requests" };

/**
 * Ends the test as the guest-mode tests do (clean console, nothing foreign, no serious axe
 * violation), and checks that no key or token went anywhere but the body of POST /session.
 */
async function finish(watched: Watched, name: string, provoked: number[] = [], otherProvoked: string[] = []): Promise<void> {
  const leaked = await secretsOnPage(watched);
  const { violations, problems, foreign } = await check(watched, name);
  const expected = (problem: string) =>
    otherProvoked.includes(problem) || provoked.some((status) => problem === `console: Failed to load resource: the server responded with a status of ${status} (${STATUS_TEXT[status]})`);
  expect({ violations, problems: problems.filter((p) => !expected(p)), foreign, leaked }).toEqual({ violations: [], problems: [], foreign: [], leaked: [] });
}

/** Every secret this file knows, wherever the page could have kept or sent it: storage, cookies readable by script, the URL, request URLs. */
async function secretsOnPage({ page, requests }: Watched): Promise<string[]> {
  const kept = await page.evaluate(() => ({
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    cookie: document.cookie,
    url: location.href,
  }));
  const places = { ...kept, requests: requests.join(" ") };
  return Object.entries(places).flatMap(([where, text]) => Object.values(keys).filter((k) => text.includes(k.key) || text.includes(k.id)).map((k) => `${where}: ${k.id}`));
}

const heading = (page: Page) => page.locator("main h1").first();
const account = (page: Page) => page.getByTestId("account");

/** Fills the form and signs in with a token (an API key or a JWT). */
async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel("API key or JWT").fill(token);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** The page's own view of its session (GET /session, as the dashboard asks it). */
const sessionSeenByPage = (page: Page) => page.evaluate(async () => {
  const answer = await fetch("/session");
  return { status: answer.status, body: await answer.json() };
});

test("the login form: shown for every route, accessible, and it shows the broker's refusal of a wrong key", async () => {
  const watched = await openDashboard(browser, broker.url, "/queues");
  const { page } = watched;
  expect(await heading(page).innerText()).toBe("Sign in");
  expect(await page.title()).toBe("Sign in · pubsub");
  // Nothing of the broker is shown or asked for before a login: no navigation, no list.
  expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
  expect(watched.requests.filter((url) => !url.includes("/ui/")).map((url) => new URL(url).pathname)).toEqual(["/session"]);
  expect(await page.getByLabel("API key or JWT").getAttribute("type")).toBe("password");
  expect(await seriousViolations(page)).toEqual([]);
  await screenshot(page, "login");

  const wrong = `pk_${"0".repeat(16)}_${"x".repeat(43)}`;
  const refused = (await api(broker.url, "POST", "/session", { token: wrong })).body.error;
  expect(refused.code).toBe("UNAUTHORIZED");
  await signIn(page, wrong);
  const alert = page.getByRole("alert");
  await alert.getByText(refused.message).waitFor();
  expect(await alert.innerText()).toContain(refused.code);
  expect(await heading(page).innerText()).toBe("Sign in");

  // The user-and-key form, with a key of another user: refused the same way.
  await page.getByLabel("A user name and API key").check();
  await page.getByLabel("User", { exact: true }).fill("alice");
  await page.getByLabel("API key", { exact: true }).fill(keys.admin.key);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await alert.getByText("UNAUTHORIZED").waitFor();
  expect(await seriousViolations(page)).toEqual([]);
  await finish(watched, "login-refused", [401]);
}, PAGE_TEST_MS);

test("an administrator signs in: HttpOnly SameSite=Strict cookie, pages render, a declare carries the CSRF token, a request without it is refused, logout", async () => {
  const watched = await openDashboard(browser, broker.url, "/queues");
  const { page } = watched;
  // By keyboard: Enter in the field signs in.
  await page.getByLabel("API key or JWT").fill(keys.admin.key);
  await page.keyboard.press("Enter");
  await page.locator("main h1", { hasText: "Queues" }).waitFor();
  expect(await account(page).innerText()).toContain("Signed in as admin (administrator)");
  // Focus moves to the page's heading, as after any page change.
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Queues");
  await page.getByRole("link", { name: "billing", exact: true }).waitFor();

  const cookies = (await page.context().cookies()).filter((c) => c.name === SESSION_COOKIE);
  expect(cookies.map(({ httpOnly, sameSite, path, secure }) => ({ httpOnly, sameSite, path, secure }))).toEqual([{ httpOnly: true, sameSite: "Strict", path: "/", secure: false }]);
  // HttpOnly: the page's own script cannot read it.
  expect(await page.evaluate(() => document.cookie)).toBe("");

  const { body: session } = await sessionSeenByPage(page);
  expect(session).toMatchObject({ user: "admin", admin: true, mode: "users" });
  const declared = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/queues");
  await page.getByLabel("Name", { exact: true }).fill("from-login");
  await page.getByRole("button", { name: "Declare" }).click();
  await page.getByText("Declared the queue “from-login”.").waitFor();
  expect((await declared).headers()["x-csrf-token"]).toBe(session.csrf_token);
  expect((await rest("GET", "/queues/from-login")).name).toBe("from-login");

  // What a forged request can do with the cookie alone: nothing.
  const forged = await page.evaluate(async () => {
    const answer = await fetch("/queues", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "forged" }) });
    return { status: answer.status, code: (await answer.json()).error?.code };
  });
  expect(forged).toEqual({ status: 403, code: "FORBIDDEN" });
  expect((await api(broker.url, "GET", "/queues/forged", undefined, asAdmin)).status).toBe(404);

  // The overview's stream comes with the cookie by itself.
  await page.getByRole("link", { name: "Overview" }).click();
  await page.getByText("live", { exact: true }).waitFor();
  await page.getByTestId("last-sample").waitFor();

  await account(page).getByRole("button", { name: "Log out" }).click();
  await page.locator("main h1", { hasText: "Sign in" }).waitFor();
  await page.getByRole("status").getByText("You are logged out.").waitFor();
  expect((await page.context().cookies()).filter((c) => c.name === SESSION_COOKIE)).toEqual([]);
  expect((await sessionSeenByPage(page)).status).toBe(401);
  await finish(watched, "logged-out", [401, 403]);
}, PAGE_TEST_MS);

test("a user with limited permissions sees only its queues, and what it may not do shows the broker's 403", async () => {
  const watched = await openDashboard(browser, broker.url, "/queues");
  const { page } = watched;
  await page.getByLabel("A user name and API key").check();
  await page.getByLabel("User", { exact: true }).fill("alice");
  await page.getByLabel("API key", { exact: true }).fill(keys.alice.key);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.locator("main h1", { hasText: "Queues" }).waitFor();
  expect(await account(page).innerText()).toContain("Signed in as alice");
  expect(await account(page).innerText()).not.toContain("administrator");

  const counter = page.getByTestId("queues-count");
  await counter.getByText("Showing 1–2 of 2").waitFor();
  expect(await page.locator("table#queues tbody a").allInnerTexts()).toEqual(["alice.inbox", "alice.outbox"]);

  const refused = (await api(broker.url, "POST", "/queues", { name: "billing.copy", durable: true }, { authorization: `Bearer ${keys.alice.key}` })).body.error;
  expect(refused.code).toBe("FORBIDDEN");
  await page.getByLabel("Name", { exact: true }).fill("billing.copy");
  await page.getByRole("button", { name: "Declare" }).click();
  await page.getByRole("alert").getByText(refused.message).waitFor();

  await page.getByLabel("Name", { exact: true }).fill("alice.new");
  await page.getByRole("button", { name: "Declare" }).click();
  await page.getByText("Declared the queue “alice.new”.").waitFor();
  await counter.getByText("Showing 1–3 of 3").waitFor();
  await screenshot(page, "login-limited-queues");

  // A queue outside its permissions, opened by its URL: the broker's refusal, not an empty page.
  await page.evaluate(() => (location.hash = "#/queues/billing"));
  await page.getByRole("alert").first().getByText("FORBIDDEN").waitFor();
  await finish(watched, "login-limited-forbidden", [401, 403]);
}, PAGE_TEST_MS);

test("a session that ends (its key deleted by an admin) brings back the form at the next request, saying why; signing in again returns to the page", async () => {
  const watched = await openDashboard(browser, broker.url, "/queues");
  const { page } = watched;
  await signIn(page, keys.aliceSpare.key);
  await page.getByRole("link", { name: "alice.inbox", exact: true }).waitFor();

  await rest("DELETE", `/users/alice/keys/${keys.aliceSpare.id}`);
  await page.getByRole("link", { name: "Exchanges" }).click();
  await page.locator("main h1", { hasText: "Sign in" }).waitFor();
  await page.getByRole("status").getByText(/Your session has ended/).waitFor();
  expect(await page.evaluate(() => location.hash)).toBe("#/exchanges");

  await signIn(page, keys.alice.key);
  await page.locator("main h1", { hasText: "Exchanges" }).waitFor();
  await finish(watched, "login-session-ended", [401]);
}, PAGE_TEST_MS);

test("a JWT signs in for its own lifetime: when it expires, the form comes back by itself", async () => {
  // Exchanges: a page that asks nothing once shown (the overview would, every few seconds).
  const watched = await openDashboard(browser, broker.url, "/exchanges");
  const { page } = watched;
  const token = await mintToken(["--sub", "alice", "--secret", JWT_SECRET, "--ttl", "3s"]);
  await signIn(page, token);
  await page.locator("main h1", { hasText: "Exchanges" }).waitFor();
  const { body: session } = await sessionSeenByPage(page);
  expect(session.user).toBe("alice");
  expect(session.expires_at).toBeLessThanOrEqual(Date.now() + 3_000);
  // No click, no request of the page's own making: its clock asks the broker once the session is due.
  await page.locator("main h1", { hasText: "Sign in" }).waitFor({ timeout: 10_000 });
  await page.getByRole("status").getByText(/Your session has ended/).waitFor();
  expect(watched.requests.some((url) => url.includes(token))).toBe(false);
  await finish(watched, "login-jwt-expired", [401]);
}, PAGE_TEST_MS);

test("tabs of one browser share the login: one logs out, the other shows the form; one signs in, the other follows", async () => {
  const context = await newDashboardContext(browser);
  try {
    const first = await openDashboard(context, broker.url, "/queues");
    await signIn(first.page, keys.admin.key);
    await first.page.locator("main h1", { hasText: "Queues" }).waitFor();

    // The cookie comes with the second tab: signed in from the start, no form.
    const second = await openDashboard(context, broker.url, "/exchanges");
    await second.page.locator("main h1", { hasText: "Exchanges" }).waitFor();
    expect(await account(second.page).innerText()).toContain("Signed in as admin");

    await account(second.page).getByRole("button", { name: "Log out" }).click();
    await second.page.locator("main h1", { hasText: "Sign in" }).waitFor();
    await first.page.locator("main h1", { hasText: "Sign in" }).waitFor();

    await signIn(second.page, keys.alice.key);
    await second.page.locator("main h1", { hasText: "Exchanges" }).waitFor();
    await first.page.locator("main h1", { hasText: "Queues" }).waitFor();
    expect(await account(first.page).innerText()).toContain("Signed in as alice");
    await first.page.getByRole("link", { name: "alice.inbox", exact: true }).waitFor();
    expect(await first.page.getByRole("link", { name: "billing", exact: true }).count()).toBe(0);
    await finish(first, "login-tab-first", [401]);
    await finish(second, "login-tab-second", [401]);
  } finally {
    await context.close();
  }
}, PAGE_TEST_MS);

test("after repeated failures the broker answers 429 with Retry-After, and the form shows its RATE_LIMITED message", async () => {
  // A broker of its own: it refuses 127.0.0.1 after one failure, which would lock the other tests out.
  const strict = await startBroker({ env: { USERS_FILE: join(usersDir, "users.json"), AUTH_FAILURES_FREE: "0", AUTH_BACKOFF_BASE_MS: "60000" } });
  try {
    const watched = await openDashboard(browser, strict.url, "/");
    const { page } = watched;
    const wrong = `pk_${"1".repeat(16)}_${"y".repeat(43)}`;
    await signIn(page, wrong);
    await page.getByRole("alert").getByText("UNAUTHORIZED").waitFor();
    const answer = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/session");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    const limited = await answer;
    expect(limited.status()).toBe(429);
    expect(Number(limited.headers()["retry-after"])).toBeGreaterThan(0);
    const message = (await limited.json()).error.message as string;
    await page.getByRole("alert").getByText(message).waitFor();
    expect(await page.getByRole("alert").innerText()).toContain("RATE_LIMITED");
    await finish(watched, "login-rate-limited", [401, 429]);
  } finally {
    await strict.stop();
    removeDir(strict.dataDir);
  }
}, PAGE_TEST_MS);

test("a broker restart forgets its sessions: the overview's stream is refused on reconnect, and the form comes back", async () => {
  const env = { USERS_FILE: join(usersDir, "users.json") };
  let restartable = await startBroker({ env });
  const { port, dataDir } = restartable;
  try {
    const watched = await openDashboard(browser, restartable.url, "/");
    const { page } = watched;
    await signIn(page, keys.admin.key);
    await page.getByText("live", { exact: true }).waitFor();
    await restartable.stop();
    restartable = await startBroker({ env, port, dataDir });
    // Nothing but the EventSource asks the broker now (the overview reads its counts on samples only).
    await page.locator("main h1", { hasText: "Sign in" }).waitFor({ timeout: 15_000 });
    await page.getByRole("status").getByText(/Your session has ended/).waitFor();
    await signIn(page, keys.admin.key);
    await page.getByText("live", { exact: true }).waitFor();
    // The broker stopping cuts the stream mid-chunk: Chromium logs that.
    await finish(watched, "login-after-restart", [401], ["console: Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING"]);
  } finally {
    await restartable.stop();
    removeDir(dataDir);
  }
}, 30_000);
