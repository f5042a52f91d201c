/**
 * Debian's chromium for the browser tests, never a downloaded browser. On a fresh machine of our
 * kind it is not installed: as root the first test file to need it installs it (apt-get, once; a
 * lock directory keeps parallel test files from racing), otherwise it fails with one line naming
 * the package.
 */
import { existsSync, mkdirSync, rmdirSync, statSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** These flags keep it off the (closed) network: without them it floods it with background requests. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const LOCK = "/tmp/pubsub-chromium-install.lock";
/** apt-get on a cold cache: the package index and ~100 MB of chromium. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;
/** A lock older than this belongs to an install that died: taken over. */
const STALE_LOCK_MS = INSTALL_TIMEOUT_MS + 60_000;

const isRoot = () => process.getuid?.() === 0;

function run(cmd: string[]): { ok: boolean; output: string } {
  const done = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: INSTALL_TIMEOUT_MS });
  return { ok: done.exitCode === 0, output: done.stdout.toString() + done.stderr.toString() };
}

function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) {
      rmdirSync(LOCK);
      return tryLock();
    }
    return false;
  }
}

/** Resolves once /usr/bin/chromium exists, installing it if it may; throws one line if not. */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (!isRoot()) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (sudo apt-get install -y chromium) to run the browser tests`);
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  while (!tryLock()) {
    // Another test file is installing it: wait for its result.
    if (existsSync(CHROMIUM)) return CHROMIUM;
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process to install chromium (lock ${LOCK})`);
    await Bun.sleep(500);
  }
  try {
    if (!existsSync(CHROMIUM)) {
      let install = run(["apt-get", "install", "-y", "chromium"]);
      // A fresh machine has no package index yet.
      if (!install.ok) install = run(["sh", "-c", "apt-get update && apt-get install -y chromium"]);
      if (!install.ok || !existsSync(CHROMIUM)) throw new Error(`apt-get install chromium failed: ${install.output.trim().split("\n").slice(-3).join(" | ")}`);
    }
  } finally {
    rmdirSync(LOCK);
  }
  return CHROMIUM;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}
