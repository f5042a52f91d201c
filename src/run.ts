import { dirname } from "node:path";
import { Broker } from "./broker/broker.ts";
import { realScheduler, systemClock } from "./real-time.ts";
import type { Config } from "./config.ts";
import type { Signals } from "./signals.ts";
import { createApp } from "./server/app.ts";
import { DiskAlarm } from "./server/disk-alarm.ts";
import { SERVER_STOP_WAIT_MS, SHUTDOWN_ANSWER_MS } from "./server/limits.ts";
import { LoopMonitor } from "./server/loop-monitor.ts";
import { serve } from "./server/serve.ts";
import { WsHub } from "./server/ws-hub.ts";
import { openStore } from "./store/open-store.ts";

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

/** Opens the store, rebuilds the broker from it, serves, and shuts down cleanly on SIGTERM/SIGINT. */
export async function startBroker(config: Config, version: string, signals: Signals): Promise<void> {
  const { store, location } = await openStore(config, log);
  const started = performance.now();
  // [DISK-1] Watches the SQLite database's filesystem; Postgres keeps its data elsewhere (no alarm).
  const disk =
    config.databaseUrl === undefined
      ? new DiskAlarm({
          path: dirname(config.databasePath),
          limitBytes: config.diskFreeLimitBytes,
          clock: { now: () => performance.now() },
          scheduler: realScheduler,
          log,
        })
      : undefined;
  const broker = await Broker.start(
    {
      store,
      clock: systemClock,
      scheduler: realScheduler,
      newId: () => crypto.randomUUID(),
      checkpointMs: config.checkpointSeconds * 1000,
      ackTimeoutMs: config.ackTimeoutMs,
      dedupWindowMs: config.dedupWindowSeconds * 1000,
      maxQueuedBytes: config.maxQueuedBytes,
      replayMaxBytes: config.subscriberMaxBufferBytes,
      log,
      diskAlarm: () => disk?.reason(),
    },
    (broker) => new WsHub(broker, config.subscriberMaxBufferBytes),
  );
  const hub = broker.sink;
  if (signals.received !== undefined) {
    // Asked to stop while migrating or restoring: close the store the way a running broker would
    // (so restored messages keep their redelivered marks), and never listen.
    log(`${signals.received} during start-up: stopping`);
    await broker.close();
    log("stopped");
    process.exit(0);
  }
  const monitor = new LoopMonitor();
  const diskMetrics = () => {
    if (disk === undefined) return { path: null, free_bytes: null, limit_bytes: 0, alarm: false };
    const reading = disk.reading();
    return { path: reading.path, free_bytes: reading.freeBytes ?? null, limit_bytes: reading.limitBytes, alarm: reading.alarm };
  };
  const metrics = () => ({
    uptime_seconds: process.uptime(),
    rss_bytes: process.memoryUsage.rss(),
    connections: hub.connections,
    published: broker.published,
    delivered: broker.delivered,
    queued_bytes: broker.queuedBytes,
    event_loop: {
      max_stall_ms: Math.round(monitor.maxStallMs * 10) / 10,
      recent_max_stall_ms: Math.round(monitor.recentMaxStallMs * 10) / 10,
      stalls_over_20ms: monitor.stallsOver20ms,
    },
    disk: diskMetrics(),
    // [PAGE-1] Durable queues' messages read back from the store, and the checkpoints that remove delivered ones.
    paging: {
      reads: broker.paging.reads,
      rows: broker.paging.rows,
      failures: broker.paging.failures,
      max_read_ms: Math.round(broker.paging.maxReadMs * 10) / 10,
    },
    checkpoints: {
      full: broker.checkpoints.full,
      acks: broker.checkpoints.acks,
      removed_messages: broker.checkpoints.removed,
      failures: broker.checkpoints.failures,
      max_ms: Math.round(broker.checkpoints.maxMs * 10) / 10,
    },
  });
  const alarms = () => {
    const reason = disk?.reason();
    return reason === undefined ? [] : [{ name: "disk" as const, reason }];
  };
  const app = createApp({ broker, version, metrics, alarms });
  let server: ReturnType<typeof serve>;
  try {
    server = serve(config, app, hub, broker);
  } catch (error) {
    // [CONFIG-1] Bun's message names neither variable (e.g. an address this machine does not have).
    throw new Error(`cannot listen on HOST=${config.host} HTTP_PORT=${config.httpPort}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    const stopped = server.stop();
    let code = 0;
    try {
      // New publishes are refused from here; pending ones are committed and answered.
      await broker.close();
    } catch (error) {
      log(`flush on shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
      code = 1;
    }
    // One turn for the CONFIRM frames and HTTP answers of the last commit, then 1001 for every socket.
    await Bun.sleep(SHUTDOWN_ANSWER_MS);
    hub.closeAll();
    monitor.stop();
    disk?.stop();
    await Promise.race([stopped, Bun.sleep(SERVER_STOP_WAIT_MS)]);
    clearTimeout(force);
    log("stopped");
    process.exit(code);
  };
  signals.handle((signal) => void shutdown(signal));
  const queues = broker.queues();
  log(
    `pubsub ${version} listening on http://${config.host}:${server.port} ` +
      `(database ${location}; ${queues.length} queues, ${queues.reduce((n, q) => n + q.messages, 0)} messages restored in ${Math.round(performance.now() - started)} ms)`,
  );
}
