/**
 * [SLOW-1] What a subscriber that never reads finds on the wire, measured against `bun src/main.ts`:
 * SUBSCRIBER_MAX_BUFFER_BYTES=2097152, a durable queue, a raw TCP client that completes the
 * WebSocket handshake, subscribes and stops reading, then 300 x 100 KB published over HTTP. It reads
 * again after READ_AFTER_MS (argument, default 0), then resumes with since = the last whole seq it got.
 *
 *   bun bench/slow-subscriber.ts 0       # reads at once
 *   bun bench/slow-subscriber.ts 25000   # reads after 25 s
 *   bun bench/slow-subscriber.ts 90000   # past the 60 s grace: the connection is dropped
 */
import { api, removeDir, startBroker } from "../test/support/broker-process.ts";
import { RawWsClient } from "../test/support/raw-ws.ts";
import { TestSocket } from "../test/support/ws-client.ts";

const MESSAGES = 300;
const readAfterMs = Number(process.argv[2] ?? 0);
const broker = await startBroker({ env: { SUBSCRIBER_MAX_BUFFER_BYTES: "2097152" } });
try {
  await api(broker.url, "POST", "/queues", { name: "q", durable: true });
  const raw = await RawWsClient.open(broker.port);
  raw.send({ type: "SUBSCRIBE", payload: { queue_name: "q", id: "x" } });
  await raw.until(() => raw.jsonFrames().some((f) => f.type === "SUBSCRIBED"), 5_000);
  raw.pause();
  const payload = "x".repeat(100 * 1024);
  for (let i = 0; i < MESSAGES; i++) await api(broker.url, "POST", "/publish", { exchange_name: "", key: "q", payload: `${i}:${payload}` });
  await Bun.sleep(readAfterMs);
  raw.resume();
  await raw.until(() => raw.ended, 10_000);

  const info = (await api(broker.url, "GET", "/queues/q")).body;
  const got = raw.jsonFrames().filter((f) => f.type === "MESSAGE");
  const notReceived = MESSAGES - got.length - info.messages;
  console.log(
    `read after ${readAfterMs} ms: delivered ${info.delivered}, whole frames ${got.length}, cut-off frame bytes ${raw.wire().partialBytes}, ` +
      `close ${raw.closeCode() ?? "none"}, still queued ${info.messages}, neither received nor queued ${notReceived}`,
  );

  const last = got.at(-1)?.seq ?? 0;
  const again = await TestSocket.open(broker.wsUrl);
  again.send({ type: "SUBSCRIBE", payload: { queue_name: "q", since: last } });
  await again.until(() => (again.messages().at(-1)?.seq ?? 0) >= MESSAGES || again.closeCode !== undefined, 15_000).catch(() => undefined);
  const seqs = [...got.map((m) => m.seq), ...again.messages().map((m) => m.seq)];
  const gaps = again.frames.filter((f) => f.type === "GAP").length;
  console.log(
    `  resumed with since=${last}: ${again.messages().length} more, ${gaps} GAP frames; ` +
      `every seq once, in order: ${seqs.length === MESSAGES && seqs.every((seq, i) => seq === i + 1)}`,
  );
  again.close();
  raw.close();
} finally {
  await broker.stop();
  removeDir(broker.dataDir);
}
