/**
 * Builds the dashboard: one minified ES module and one stylesheet, each named by its content hash.
 *
 * Called as a macro from ./bundle.ts, so it runs when that module is loaded: at `bun build
 * --compile` (the result is inlined into the executable, which then needs no sources) and, from
 * source, on the first dashboard request of the process (bundle.ts is imported lazily). One path
 * for both modes, no prebuild step. Bun refuses Bun.build inside a macro (the bundler would wait
 * on itself), hence the CLI.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type DashboardAssets = {
  /** Content hash of the script and stylesheet together: names the asset URLs. */
  version: string;
  js: string;
  css: string;
};

const ENTRY = join(import.meta.dir, "main.ts");
const OWN_CSS = join(import.meta.dir, "style.css");
const UPLOT_CSS = Bun.resolveSync("uplot/dist/uPlot.min.css", import.meta.dir);

export function buildDashboard(): DashboardAssets {
  const built = Bun.spawnSync([process.execPath, "build", ENTRY, "--target=browser", "--format=esm", "--minify"], { stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`dashboard build failed: ${built.stderr.toString()}`);
  const js = built.stdout.toString();
  const css = readFileSync(UPLOT_CSS, "utf8") + "\n" + readFileSync(OWN_CSS, "utf8");
  const version = new Bun.CryptoHasher("sha256").update(js).update(css).digest("hex").slice(0, 16);
  return { version, js, css };
}
