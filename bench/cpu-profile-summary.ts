/**
 * Summarises `.cpuprofile` files (`bun --cpu-prof --cpu-prof-dir=DIR src/main.ts`): the functions
 * with the most self time and the most total time (self plus callees, each sample counted once per
 * function however deep the recursion), in % of the sampled time, idle excluded.
 *
 *   bun run bench/cpu-profile-summary.ts DIR/*.cpuprofile [--top=25] [--match=src/auth] [--share=jose,src/auth/] [--samples]
 *
 * `--samples` counts samples instead of weighing them by their time delta: a sample taken after an
 * idle wait (the profiler does not sample while the thread sleeps) otherwise carries the whole wait,
 * and a function that ran once after a timer can show as 10 % of the run.
 * `--match` keeps only functions whose file contains the text. `--share` gives, for each text, the
 * share of busy samples with a frame from a matching file anywhere on their stack (what a layer
 * costs with everything it calls), and for all of them together. Async functions that resumed
 * after an await show only the stack since they resumed.
 */
import { readFileSync } from "node:fs";

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

const args = process.argv.slice(2);
const files = args.filter((arg) => !arg.startsWith("--"));
const top = Number(args.find((arg) => arg.startsWith("--top="))?.slice(6) ?? 25);
const match = args.find((arg) => arg.startsWith("--match="))?.slice(8);
const bySamples = args.includes("--samples");
const shares = args.find((arg) => arg.startsWith("--share="))?.slice(8).split(",").filter(Boolean) ?? [];
const shareUs = new Map<string, number>([...shares, "(any of them)"].map((text) => [text, 0]));
if (files.length === 0) {
  console.error("usage: bun run bench/cpu-profile-summary.ts FILE.cpuprofile … [--top=25] [--match=TEXT]");
  process.exit(2);
}

/** Samples in these are not the broker's work. */
const IDLE = new Set(["(idle)", "(program)", "(garbage collector)"]);
const self = new Map<string, number>();
const total = new Map<string, number>();
let busyUs = 0;
let gcUs = 0;

const keyOf = (frame: CallFrame) => {
  const file = frame.url.replace(/^file:\/\//, "").replace(/^.*\/(src|node_modules)\//, "$1/");
  return `${frame.functionName || "(anonymous)"} ${file ? `${file}:${frame.lineNumber + 1}` : "(native)"}`;
};

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  profile.samples.forEach((id, i) => {
    const us = bySamples ? 1 : (profile.timeDeltas[i + 1] ?? 0);
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === "(garbage collector)") gcUs += us;
    if (IDLE.has(name) && name !== "(garbage collector)") return;
    busyUs += us;
    const leaf = keyOf(node.callFrame);
    self.set(leaf, (self.get(leaf) ?? 0) + us);
    const seen = new Set<string>();
    const shared = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      for (const text of shares) if (frame.url.includes(text)) shared.add(text);
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + us);
    }
    for (const text of shared) shareUs.set(text, shareUs.get(text)! + us);
    if (shared.size > 0) shareUs.set("(any of them)", shareUs.get("(any of them)")! + us);
  });
}

const percent = (us: number) => `${((us / busyUs) * 100).toFixed(1).padStart(5)}%`;
const list = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  const rows = [...entries].filter(([key]) => match === undefined || key.includes(match)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows) console.log(`${percent(us)}  ${key}`);
};
console.log(`${files.length} profile(s), ${bySamples ? `${busyUs} busy samples` : `${(busyUs / 1e6).toFixed(2)} s busy`} (garbage collector ${percent(gcUs)} of it)`);
list("self time", self);
list("total time (self + callees)", total);
if (shares.length > 0) {
  console.log("\nshare of busy samples with a frame from a file matching");
  for (const [text, us] of shareUs) console.log(`${percent(us)}  ${text}`);
}
