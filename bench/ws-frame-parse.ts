/**
 * The cost of parsing one client frame (JSON text → checked ClientFrame), the work done per
 * message on the publish and ack paths. Prints ns/frame per frame kind (median of 15 rounds) for
 * each checkout given, all in one process, rounds interleaved, so they share the same noise:
 *   bun bench/ws-frame-parse.ts [checkout dir …]     (default: this one; e.g. an older commit's tree, then .)
 */
import { resolve } from "node:path";

type Parse = (text: string) => { ok: boolean };
const dirs = (process.argv.length > 2 ? process.argv.slice(2) : ["."]).map((d) => resolve(d));
const parsers: Parse[] = [];
for (const dir of dirs) parsers.push(((await import(`${dir}/src/server/ws-frames.ts`)) as { parseClientFrame: Parse }).parseClientFrame);

const FRAMES: Record<string, string> = {
  PUBLISH: JSON.stringify({ type: "PUBLISH", payload: { exchange_name: "orders", key: "eu.new", payload: { order: 1234, items: ["a", "b"], total: 12.5 }, id: 17 } }),
  "PUBLISH+headers": JSON.stringify({ type: "PUBLISH", payload: { exchange_name: "", key: "jobs", payload: "x", headers: { tenant: "acme", priority: 3 }, message_id: "m-1", id: "p1" } }),
  ACK: JSON.stringify({ type: "ACK", payload: { delivery_tag: 123456 } }),
  "ACK+id": JSON.stringify({ type: "ACK", payload: { delivery_tag: 123456, id: 9 } }),
  NACK: JSON.stringify({ type: "NACK", payload: { delivery_tag: 7, requeue: false } }),
  refused: JSON.stringify({ type: "ACK", payload: { delivery_tag: "7" } }),
};
const N = 50_000;
const ROUNDS = 15;
/** Dropped: JIT warm-up would otherwise bill whichever kind runs first. */
const WARM_UP = 3;

const times = dirs.map(() => new Map<string, number[]>(Object.keys(FRAMES).map((kind) => [kind, []])));
const accepted = new Map<string, boolean>();
for (let round = 0; round < WARM_UP + ROUNDS; round++) {
  for (const [kind, text] of Object.entries(FRAMES)) {
    parsers.forEach((parse, p) => {
      let ok = 0;
      const started = Bun.nanoseconds();
      for (let i = 0; i < N; i++) if (parse(text).ok) ok++;
      if (round >= WARM_UP) times[p]!.get(kind)!.push((Bun.nanoseconds() - started) / N);
      accepted.set(`${p}:${kind}`, ok === N);
    });
  }
}
const median = (ns: number[]) => [...ns].sort((a, b) => a - b)[ns.length >> 1]!;
console.log(`${"ns/frame".padEnd(16)} ${dirs.map((d) => d.padStart(16)).join(" ")}`);
for (const kind of Object.keys(FRAMES)) {
  const cells = times.map((t, p) => `${median(t.get(kind)!).toFixed(0)}${accepted.get(`${p}:${kind}`) ? "" : " (refused)"}`.padStart(Math.max(16, dirs[p]!.length)));
  console.log(`${kind.padEnd(16)} ${cells.join(" ")}`);
}
