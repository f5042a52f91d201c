/**
 * Issue 9 item 4, before/after: 100,000 nested arrays to POST /publish and as a WebSocket PUBLISH
 * frame; prints the answer, its time and the worst event-loop stall. Usage:
 *   bun bench/hostile-json.ts <checkout dir> <port>     (e.g. a worktree of an older commit, then .)
 */
import { resolve } from "node:path";
const [dir, port] = [resolve(process.argv[2] ?? "."), Number(process.argv[3] ?? 18802)];
const proc = Bun.spawn([process.execPath, `${dir}/src/main.ts`], { cwd: "/tmp", env: { ...process.env, HTTP_PORT: String(port), DATA_DIR: `/tmp/bomb-${port}` }, stdout: "pipe", stderr: "pipe" });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 200 && !(await fetch(`${base}/ping`).then((r) => r.ok, () => false)); i++) await Bun.sleep(50);
const bomb = `{"exchange_name":"","key":"k","payload":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
const t0 = performance.now();
const r = await fetch(`${base}/publish`, { method: "POST", body: bomb, headers: { "content-type": "application/json" } });
const ms = performance.now() - t0;
const text = await r.text();
const m = await (await fetch(`${base}/metrics/json`)).json();
// WebSocket frame
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
await new Promise((res) => (ws.onopen = res));
const t1 = performance.now();
const got = new Promise<string>((res) => (ws.onmessage = (e) => res(String(e.data))));
ws.send(`{"type":"PUBLISH","payload":{"id":"b1","exchange_name":"","key":"k","payload":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`);
const frame = await got;
const wsMs = performance.now() - t1;
const m2 = await (await fetch(`${base}/metrics/json`)).json();
console.log(JSON.stringify({ dir, http: { status: r.status, ms: Math.round(ms), body: text.slice(0, 90) }, stallAfterHttp: m.event_loop.recent_max_stall_ms, ws: { ms: Math.round(wsMs), frame: frame.slice(0, 110) }, stallAfterWs: m2.event_loop.recent_max_stall_ms }));
ws.close(); proc.kill(); 
