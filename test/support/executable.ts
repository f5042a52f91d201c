/** The compiled executable, built into a temp dir with exactly the flags of `npm run build`: tests run what users run. */
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { BUN, removeDir, tempDir } from "./broker-process.ts";

const ROOT = resolve(import.meta.dir, "../..");

export type Built = { binary: string; remove: () => void };

export function buildExecutable(): Built {
  const dir = tempDir("pubsub-build-");
  const binary = join(dir, "pubsub");
  // "bun build --compile … --outfile dist/pubsub" → the same command, writing to the temp dir.
  const args = pkg.scripts.build.split(/\s+/).slice(1).map((arg) => (arg === "dist/pubsub" ? binary : arg));
  const build = Bun.spawnSync([BUN, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  return { binary, remove: () => removeDir(dir) };
}
