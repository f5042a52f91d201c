/**
 * Load process: publishes at a fixed rate for a fixed time, each message on its own and stamped
 * with its send time (µs on the clock all processes share, see nowUs), so a subscriber can
 * measure publish→deliver latency. A timer wakes every millisecond and sends what is due by then
 * (two messages per wake-up at 2,000 msg/s); a late wake-up sends its backlog at once, and the
 * worst such lag is reported so a run whose publisher fell behind can be recognised.
 */
import type { LatencyPublisherConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, onMessage, tell } from "./ipc-child.ts";
import { openStampedPublisher } from "./protocols/open.ts";
import type { StampedPublisher } from "./protocols/roles.ts";
import { nowUs } from "./specs.ts";

const TICK_MS = 1;
const PROBE_EVERY_MS = 20;
/** A wake-up never sends more than this: a long stall must not turn into a flood. */
const MAX_PER_TICK = 200;
/** Warm-up burst: messages sent per turn (about 200,000 msg/s, faster than any target delivers). */
const BURST_CHUNK = 200;

const configuration = await nextMessage("configure");
if (!("role" in configuration) || configuration.role !== "latency-publisher") fail(new Error("not a latency-publisher configuration"));
const config = configuration as LatencyPublisherConfig;
exitAfter(config.deadlineMs);

let publisher: StampedPublisher;
try {
  publisher = await openStampedPublisher(config.spec);
} catch (error) {
  fail(error);
}

let sent = 0;
let lagMs = 0;
let probe: Timer | null = null;

function run(): void {
  const start = performance.now();
  const total = Math.floor((config.rate * config.durationMs) / 1000);
  let scheduled = 0;
  const tick = () => {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) * config.rate) / 1000) + 1);
    const backlog = due - scheduled;
    if (backlog > 1) lagMs = Math.max(lagMs, ((backlog - 1) * 1000) / config.rate);
    try {
      for (let i = 0; i < Math.min(backlog, MAX_PER_TICK); i++) {
        publisher.send(nowUs());
        sent++;
        scheduled++;
      }
    } catch (error) {
      fail(error);
    }
    if (scheduled >= total || now - start > config.durationMs + 1_000) finish();
    else setTimeout(tick, TICK_MS);
  };
  tick();
}

/** The warm-up burst: `count` messages, BURST_CHUNK per turn, so the socket's buffer stays small. */
async function burst(count: number): Promise<void> {
  try {
    for (let done = 0; done < count; ) {
      const chunk = Math.min(BURST_CHUNK, count - done);
      for (let i = 0; i < chunk; i++) publisher.send(nowUs());
      done += chunk;
      sent += chunk;
      await Bun.sleep(1);
    }
  } catch (error) {
    fail(error);
  }
  tell({ kind: "warmed", sent });
}

function finish(): void {
  tell({ kind: "published", sent, resyncs: 0, lagMs });
  setTimeout(() => void publisher.close().finally(() => process.exit(0)), 100);
}

onMessage((message) => {
  if (message.kind === "probe") {
    // Probes count as sent: the subscriber counts them as received.
    probe ??= setInterval(() => {
      publisher.send(nowUs());
      sent++;
    }, PROBE_EVERY_MS);
  }
  else if (message.kind === "warm") {
    if (probe) clearInterval(probe);
    probe = null;
    void burst(message.count);
  }
  else if (message.kind === "go") {
    if (probe) clearInterval(probe);
    run();
  }
});
tell({ kind: "ready" });
