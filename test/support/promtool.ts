/**
 * The real `promtool check metrics` (Debian's `prometheus` package; .ci/run installs it). Missing,
 * it fails the test with what to install: a scrape nobody validated must not pass as one that was.
 */
export const PROMTOOL = Bun.which("promtool");

/** Feeds `text` to `promtool check metrics` on stdin; resolves with its exit code and everything it printed. */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  if (PROMTOOL === null) {
    throw new Error("promtool is not installed: apt-get install -y prometheus (Debian's package; .ci/run installs it)");
  }
  const proc = Bun.spawn([PROMTOOL, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: (stdout + stderr).trim() };
}
