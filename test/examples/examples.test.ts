/** Each example runs exactly as its README says, against a real broker. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { BUN, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/until.ts";
import { launchChromium } from "../browser/support/chromium.ts";

const ROOT = resolve(import.meta.dir, "../..");
let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
}, 30_000);
afterAll(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

/** `bun run examples/<path> --url <broker> …` from the repository root, as the READMEs say. */
async function runExample(path: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BUN, "run", `examples/${path}`, "--url", broker.url, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

test("the examples type-check", () => {
  const tsc = Bun.spawnSync([resolve(ROOT, "node_modules/.bin/tsc"), "--noEmit", "-p", "examples"], { cwd: ROOT });
  expect(tsc.stdout.toString()).toBe("");
  expect(tsc.exitCode).toBe(0);
}, 30_000);

describe("worker-pool", () => {
  test("every job done once, by several workers; the poison and the malformed job dead-lettered", async () => {
    const run = await runExample("worker-pool/main.ts");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("dead letter: job malformed (rejected)");
    expect(run.stdout).toContain("dead letter: job poison (delivery_limit)");
    expect(run.stdout.match(/failed on job poison/g)?.length).toBe(3);
    expect(run.stdout).toMatch(/done: 20 of 20 jobs by 3 workers \(\d+, \d+, \d+\); dead-lettered: malformed, poison/);
    const resized = [...run.stdout.matchAll(/resized photo-(\d+)\.jpg/g)].map((m) => Number(m[1]));
    expect(resized.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Run again: it cleans up after itself.
    expect((await runExample("worker-pool/main.ts", "--workers", "2", "--jobs", "6")).code).toBe(0);
  }, 30_000);
});

describe("event-fanout", () => {
  test("each service gets exactly the events its patterns match", async () => {
    const run = await runExample("event-fanout/main.ts");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    for (const line of ["billing: 3 of 3 events", "shipping: 1 of 1 events", "email: 4 of 4 events", "analytics: 7 of 7 events"]) {
      expect(run.stdout).toContain(line);
    }
    expect(run.stdout).toContain("published stock.low → 1 service");
  }, 30_000);
});

describe("browser-live-feed", () => {
  let browser: Browser;
  let server: ReturnType<typeof Bun.spawn> | undefined;
  afterAll(async () => {
    await browser?.close();
    server?.kill("SIGTERM");
    await server?.exited;
  });

  test("the page shows ticks live, and after a reload resumes right after the last one it showed", async () => {
    server = Bun.spawn([BUN, "run", "examples/browser-live-feed/server.ts", "--url", broker.url, "--port", "0", "--every", "50"], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = server.stdout as ReadableStream<Uint8Array>;
    let banner = "";
    for await (const chunk of reader) {
      banner += new TextDecoder().decode(chunk);
      if (banner.includes("\n")) break;
    }
    const pageUrl = /live feed on (http:\/\/\S+)/.exec(banner)?.[1];
    expect(pageUrl).toBeDefined();

    browser = await launchChromium();
    const page = await browser.newPage();
    const seqsShown = () => page.$$eval("#ticks li", (items) => items.map((li) => Number((li as HTMLElement).dataset.seq)).reverse());
    await page.goto(pageUrl!);
    await until(async () => (await seqsShown()).length >= 5, 10_000, "five ticks on the page");
    expect(await page.textContent("#status")).toBe("live");

    // Stop the page's feed so what it showed and what it stored are the same, then reload.
    await page.evaluate(() => (globalThis as unknown as { feed: { close(): Promise<void> } }).feed.close());
    const before = await seqsShown();
    const last = before.at(-1)!;
    await Bun.sleep(300); // ticks go on meanwhile: the resume must bring them
    await page.reload();
    await until(async () => (await seqsShown()).length >= 10, 10_000, "ten ticks after the reload");
    expect(await page.textContent("#status")).toBe(`live, resumed after #${last}`);
    const after = await seqsShown();

    const all = [...before, ...after];
    expect(after[0]).toBe(last + 1);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => before[0]! + i));
    await page.close();
  }, 30_000);
});
