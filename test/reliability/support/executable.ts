/** The compiled executable, built once per test file into a temp dir, as test/e2e does: crash tests run what users run. */
import { join, resolve } from "node:path";
import { BUN, removeDir, tempDir } from "../../support/broker-process.ts";

const ROOT = resolve(import.meta.dir, "../../..");

export type Built = { binary: string; remove: () => void };

export function buildExecutable(): Built {
  const dir = tempDir("pubsub-build-");
  const binary = join(dir, "pubsub");
  const build = Bun.spawnSync([BUN, "build", "--compile", "--minify", join(ROOT, "src/main.ts"), "--outfile", binary], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  return { binary, remove: () => removeDir(dir) };
}
