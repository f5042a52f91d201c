/**
 * Load process: publishes as fast as the slowest subscriber keeps up with.
 *
 * The orchestrator relays `acked` (messages the slowest subscriber has received); the publisher
 * stays at most `window` messages ahead. That measures the rate a broker sustains, instead of how
 * much it buffers or drops when flooded. If the count stops moving while the window is full, the
 * outstanding messages are written off as lost (`resyncs`) so a dropping broker cannot stall the run.
 */
import type { FanoutPublisherConfig } from "./messages.ts";
import { exitAfter, fail, nextMessage, onMessage, tell } from "./ipc-child.ts";
import { openStreamPublisher } from "./protocols/open.ts";
import type { StreamPublisher } from "./protocols/roles.ts";

/** Messages handed to the connection per turn of the event loop, so IPC messages get a turn too. */
const MESSAGES_PER_TURN = 1024;
/** A full window with no progress for this long means messages were dropped. */
const STALL_MS = 500;
/** At stop, buffered messages get this long to reach the broker. */
const FLUSH_TIMEOUT_MS = 2_000;
/** Probe messages go out this often until `go`. */
const PROBE_EVERY_MS = 20;

const configuration = await nextMessage("configure");
if (!("window" in configuration)) fail(new Error("not a fanout-publisher configuration"));
const config: FanoutPublisherConfig = configuration;
exitAfter(config.deadlineMs);

let publisher: StreamPublisher;
try {
  publisher = await openStreamPublisher(config.spec);
} catch (error) {
  fail(error);
}

let sent = 0;
let writtenOff = 0;
let acked = 0;
let ackedAt = performance.now();
let resyncs = 0;
let running = false;
let stopped = false;
let scheduled = false;
let stallCheck: Timer | null = null;

function pump(): void {
  scheduled = false;
  if (!running || stopped) return;
  const room = Math.min(config.window - (sent - writtenOff - acked), config.maxMessages - sent, MESSAGES_PER_TURN);
  if (room > 0) {
    try {
      sent += publisher.send(room);
    } catch (error) {
      fail(error);
    }
  }
  if (sent >= config.maxMessages) return;
  const windowFull = sent - writtenOff - acked >= config.window;
  if (windowFull) {
    if (performance.now() - ackedAt > STALL_MS) {
      writtenOff = sent - acked;
      resyncs += 1;
      ackedAt = performance.now();
      schedule();
    } else {
      // The next `acked` message calls pump(); this timer only catches a stall.
      stallCheck ??= setTimeout(() => {
        stallCheck = null;
        schedule();
      }, STALL_MS);
    }
    return;
  }
  publisher.whenWritable(() => setImmediate(schedule));
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(pump);
}

let probe: Timer | null = null;
onMessage((message) => {
  switch (message.kind) {
    case "probe":
      probe ??= setInterval(() => (sent += publisher.send(1)), PROBE_EVERY_MS);
      break;
    case "go":
      if (probe) clearInterval(probe);
      running = true;
      schedule();
      break;
    case "acked":
      if (message.count > acked) {
        acked = message.count;
        ackedAt = performance.now();
        schedule();
      }
      break;
    case "stop":
      stopped = true;
      if (probe) clearInterval(probe);
      // Messages counted as sent may still sit in the connection's buffer: flush before closing.
      void Promise.race([new Promise<void>((resolve) => publisher.whenWritable(resolve)), Bun.sleep(FLUSH_TIMEOUT_MS)]).then(() => {
        tell({ kind: "published", sent, resyncs });
        setTimeout(() => void publisher.close().finally(() => process.exit(0)), 50);
      });
      break;
  }
});
tell({ kind: "ready" });
