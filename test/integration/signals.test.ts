/**
 * [SIGNAL-1] A SIGTERM at any moment of start-up — while migrating, while restoring a backlog,
 * right after the "listening" line — ends with exit 0 and loses nothing. Before the fix the
 * handlers were installed after the listening line, and a SIGTERM sent the instant it appeared
 * killed the broker unflushed (exit 143) in about 1 run of 9.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { api, BUN, MAIN, removeDir, startBroker, tempDir, testBackend } from "../support/broker-process.ts";

const ROUNDS = 64;
/** SIGTERM's bit in /proc/<pid>/status SigCgt: set once the process catches it. */
const SIGTERM_BIT = 1n << 14n;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const catchesSigterm = (pid: number): boolean => {
  try {
    const line = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return line !== null && (BigInt(`0x${line[1]}`) & SIGTERM_BIT) !== 0n;
  } catch {
    return false;
  }
};

/** Starts the broker and sends SIGTERM `delayMs` after it can catch one (or when it says "listening"). */
async function sigtermDuringStart(dataDir: string, moment: { delayMs: number } | "listening"): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn([BUN, MAIN], {
    cwd: dataDir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", HTTP_PORT: "0", DATA_DIR: dataDir },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const read = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      output += decoder.decode(chunk, { stream: true });
      if (moment === "listening" && output.includes("listening on")) proc.kill("SIGTERM");
    }
  })();
  if (moment !== "listening") {
    const deadline = Date.now() + 10_000;
    while (!catchesSigterm(proc.pid) && proc.exitCode === null && Date.now() < deadline) await Bun.sleep(1);
    if (moment.delayMs > 0) await Bun.sleep(moment.delayMs);
    proc.kill("SIGTERM");
  }
  const code = await proc.exited;
  await read;
  return { code, output: output + (await new Response(proc.stderr).text()) };
}

test.skipIf(testBackend !== "sqlite")(
  `[SIGNAL-1] SIGTERM at ${ROUNDS} moments of start-up (migrating, restoring, just listening): always exit 0, nothing lost`,
  async () => {
    // A backlog to restore, so that some signals land while the broker reads it back.
    const dataDir = tempDir();
    dirs.push(dataDir);
    const broker = await startBroker({ dataDir });
    await api(broker.url, "POST", "/queues", { name: "backlog", durable: true });
    for (let i = 0; i < 20; i++) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => api(broker.url, "POST", "/publish", { exchange_name: "", key: "backlog", payload: { n: i * 100 + j } })));
    }
    expect(await broker.stop()).toBe(0);

    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Every fourth round on a fresh directory: the signal may land while migrating.
      const dir = round % 4 === 3 ? tempDir() : dataDir;
      if (dir !== dataDir) dirs.push(dir);
      const moment = round % 3 === 0 ? ("listening" as const) : { delayMs: round % 5 === 0 ? 0 : (round * 7) % 60 };
      const { code, output } = await sigtermDuringStart(dir, moment);
      if (code !== 0) failures.push(`round ${round} (${JSON.stringify(moment)}): exit ${code}\n${output}`);
    }
    expect(failures).toEqual([]);

    const after = await startBroker({ dataDir });
    const queue = await api(after.url, "GET", "/queues/backlog");
    expect(queue.body.messages).toBe(2000);
    expect(await after.stop()).toBe(0);
  },
  120_000,
);
