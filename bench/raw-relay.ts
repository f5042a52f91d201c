/**
 * The ceiling of any Bun WebSocket broker: a bare `Bun.serve` that speaks the broker's wire
 * protocol and does nothing else. No routing (exchange = topic = queue name), no storage, no
 * validation beyond what it needs to find the topic, no acknowledgements.
 *
 *   GET  /ping     → 200 {"message":"PONG"}
 *   POST /publish  {"exchange_name","key","payload"} → publishes a delivery frame
 *                  {"unique_id","body","TTL":0} to topic `exchange_name`; 200 {"routed":<sockets>}
 *   GET  /ws       frames: {"type":"SUBSCRIBE","payload":{"queue_name":q}} subscribes to topic q;
 *                  {"type":"PUBLISH","payload":{"exchange_name":t,...}} relays the frame, as
 *                  received, to topic t
 *   GET  /metrics/json  {"event_loop":{"max_stall_ms":n,"recent_max_stall_ms":n}}, measured the way pubsub
 *                  does (src/server/loop-monitor.ts): recent = worst stall within the last 10 s
 *
 * Run: HOST=127.0.0.1 HTTP_PORT=0 bun bench/raw-relay.ts   (prints "listening on http://…")
 */
import type { ServerWebSocket } from "bun";

/** How often the stall monitor wakes (as pubsub's); a stall is the lateness of a wake-up beyond this. */
const STALL_PROBE_MS = 5;
/** The recent window, in whole seconds (as pubsub's). */
const WINDOW_SECONDS = 10;

type SeedFrame = { type?: unknown; payload?: { queue_name?: unknown; exchange_name?: unknown } };

let maxStallMs = 0;
/** Worst stall of each of the last WINDOW_SECONDS seconds, oldest first. */
const perSecond: number[] = [0];
let second = Math.floor(performance.now() / 1000);
let lastProbe = performance.now();
setInterval(() => {
  const now = performance.now();
  const stall = Math.max(0, now - lastProbe - STALL_PROBE_MS);
  lastProbe = now;
  maxStallMs = Math.max(maxStallMs, stall);
  for (const current = Math.floor(now / 1000); second < current; second++) {
    perSecond.push(0);
    if (perSecond.length > WINDOW_SECONDS) perSecond.shift();
  }
  perSecond[perSecond.length - 1] = Math.max(perSecond[perSecond.length - 1]!, stall);
}, STALL_PROBE_MS);
const round = (ms: number) => Math.round(ms * 10) / 10;

const json = (body: unknown, status = 200) => Response.json(body, { status });

const server = Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.HTTP_PORT ?? 0),
  reusePort: false,
  async fetch(request, server) {
    const path = new URL(request.url).pathname;
    if (path === "/ws") {
      return server.upgrade(request, { data: undefined }) ? undefined : json({ error: "upgrade failed" }, 400);
    }
    if (path === "/publish" && request.method === "POST") {
      let message: { exchange_name?: unknown; payload?: unknown };
      try {
        message = await request.json();
      } catch {
        return json({ error: { code: "BAD_JSON", message: "body is not JSON" } }, 400);
      }
      if (typeof message.exchange_name !== "string" || !("payload" in message)) {
        return json({ error: { code: "BAD_REQUEST", message: "exchange_name and payload required" } }, 400);
      }
      const topic = message.exchange_name;
      server.publish(topic, JSON.stringify({ unique_id: crypto.randomUUID(), body: message.payload, TTL: 0 }));
      return json({ routed: server.subscriberCount(topic) });
    }
    if (path === "/ping") return json({ message: "PONG" });
    if (path === "/metrics/json") {
      return json({ event_loop: { max_stall_ms: round(maxStallMs), recent_max_stall_ms: round(Math.max(...perSecond)) } });
    }
    return json({ error: { code: "NOT_FOUND", message: path } }, 404);
  },
  websocket: {
    message(ws: ServerWebSocket<undefined>, frame) {
      const text = typeof frame === "string" ? frame : frame.toString();
      let parsed: SeedFrame;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      if (parsed.type === "PUBLISH" && typeof parsed.payload?.exchange_name === "string") {
        server.publish(parsed.payload.exchange_name, text);
      } else if (parsed.type === "SUBSCRIBE" && typeof parsed.payload?.queue_name === "string") {
        ws.subscribe(parsed.payload.queue_name);
      }
    },
  },
});

console.log(`raw-relay listening on http://${server.hostname}:${server.port}`);
