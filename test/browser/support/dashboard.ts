/**
 * One dashboard page in headless Chromium, watched: console errors and page errors are collected,
 * and every request that is not for the broker under test is refused and recorded (as on an
 * offline machine). `check` ends a test: an axe-core pass and a screenshot.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";

const ROOT = resolve(import.meta.dir, "../../..");
export const SCREENSHOTS = join(ROOT, "test/browser/screenshots");
const AXE_SOURCE = readFileSync(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");
/** axe's impacts that fail the test; "moderate" and "minor" are reported by axe but allowed. */
const WAIT_MS = 8_000;
const FAILING_IMPACTS = new Set(["serious", "critical"]);

export type Watched = { page: Page; problems: string[]; foreign: string[]; requests: string[] };

const VIEWPORT = { width: 1280, height: 900 };

/** A browser context of the dashboard's size: pages opened in it share its cookies (the tabs of one browser). */
export const newDashboardContext = (browser: Browser): Promise<BrowserContext> => browser.newContext({ viewport: VIEWPORT });

/** A new page (in a context of its own, unless one is given) on `hash`, once its main heading shows. */
export async function openDashboard(browser: Browser | BrowserContext, brokerUrl: string, hash: string): Promise<Watched> {
  const page = "contexts" in browser ? await browser.newPage({ viewport: VIEWPORT }) : await browser.newPage();
  // Well inside a test's own timeout: a missing element fails with its locator, not with a test timeout.
  page.setDefaultTimeout(WAIT_MS);
  const problems: string[] = [];
  const foreign: string[] = [];
  const requests: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${brokerUrl}/`)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  await page.goto(`${brokerUrl}/ui/#${hash}`);
  await page.waitForSelector("main h1");
  return { page, problems, foreign, requests };
}

type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] };

/** Violations of WCAG 2 A/AA and axe's best practices that are serious or critical. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated over the DevTools protocol: the page's CSP (script-src 'self') allows no injected <script>.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return result.violations;
  });
  return violations
    .filter((v) => FAILING_IMPACTS.has(v.impact ?? ""))
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Ends a page's test: no serious accessibility violation, a screenshot, no console error, nothing foreign. */
export async function check(watched: Watched, name: string): Promise<{ violations: string[]; problems: string[]; foreign: string[] }> {
  const violations = await seriousViolations(watched.page);
  await screenshot(watched.page, name);
  await watched.page.close();
  return { violations, problems: watched.problems, foreign: watched.foreign };
}
