/**
 * Serves the live-feed page and feeds it: declares the `ticker` exchange and the `live-feed` queue
 * (with history for resumes), bundles page.ts and the client for the browser, and publishes a
 * tick every --every ms. The queue is transient, so a broker restart loses it and its binding: the
 * client declares them again when it reconnects (`redeclare`), before its next tick goes out.
 *
 *   bun run examples/browser-live-feed/server.ts [--url http://127.0.0.1:8060] [--port 3000] [--every 500]
 */
import { join } from "node:path";
import { connect } from "pubsub/client";
import { exampleArgs } from "../broker-url.ts";
import { EXCHANGE, QUEUE, QUEUE_ARGS } from "./feed.ts";

const args = exampleArgs({ port: "3000", every: "500" });

const broker = connect(args.url, { redeclare: true });
await broker.exchanges.declare({ name: EXCHANGE, type: "fanout" });
await broker.queues.declare({ name: QUEUE, ...QUEUE_ARGS });
await broker.bindings.declare({ exchange_name: EXCHANGE, queue_name: QUEUE });

// The page and the client, one ES module for the browser.
// The "source" condition takes the client from its TypeScript source, not from dist/ (npm run build:client).
const built = await Bun.build({ entrypoints: [join(import.meta.dir, "page.ts")], target: "browser", format: "esm", conditions: ["source"] });
if (!built.success) throw new AggregateError(built.logs, "bundling page.ts failed");
const pageJs = await built.outputs[0]!.text();
const brokerUrl = broker.url.href.replace(/\/$/, "");
const html = (await Bun.file(join(import.meta.dir, "index.html")).text()).replace("%BROKER_URL%", brokerUrl);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(args.port),
  fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/") return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (pathname === "/page.js") return new Response(pageJs, { headers: { "content-type": "text/javascript" } });
    return new Response("not found", { status: 404 });
  },
});
console.log(`live feed on http://127.0.0.1:${server.port} (broker ${brokerUrl})`);

// The source: a made-up price, a tick at a time, each confirmed by the broker.
let n = 0;
let price = 100;
const ticker = setInterval(() => {
  price = Math.max(1, price + (Math.random() - 0.5) * 2);
  broker.publish(EXCHANGE, "", { n: ++n, symbol: "PUB", price }).catch((error) => console.error(`tick ${n}: ${error.message}`));
}, Number(args.every));

const stop = async () => {
  clearInterval(ticker);
  await broker.close();
  server.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
