import { hostname } from "node:os";
import { dirname } from "node:path";
import { Broker } from "./broker/broker.ts";
import { realScheduler, systemClock } from "./real-time.ts";
import type { Config } from "./config.ts";
import { createLogger } from "./log.ts";
import type { Signals } from "./signals.ts";
import { createApp } from "./server/app.ts";
import { DiskAlarm } from "./server/disk-alarm.ts";
import { OVERVIEW_INTERVAL_MS, OVERVIEW_SAMPLES, SERVER_STOP_WAIT_MS, SHUTDOWN_ANSWER_MS } from "./server/limits.ts";
import { LoopMonitor } from "./server/loop-monitor.ts";
import { Observations } from "./server/observations.ts";
import { RateHistory, type Sample } from "./server/rate-history.ts";
import { StoreWatch } from "./server/store-watch.ts";
import { serve } from "./server/serve.ts";
import { WsHub } from "./server/ws-hub.ts";
import { openStore } from "./store/open-store.ts";
import { AuthBackoff } from "./server/abuse/auth-backoff.ts";
import { ConnectionLimiter } from "./server/abuse/connection-limiter.ts";
import { PublishRate } from "./server/abuse/publish-rate.ts";
import { AuthEdge } from "./server/auth-edge.ts";
import { openAuth } from "./server/open-auth.ts";
import { Sessions } from "./server/sessions.ts";
import { remoteOf } from "./server/caller.ts";
import { hostGuard } from "./server/allowed-hosts.ts";
import { messageIds } from "./broker/message-ids.ts";
import type { Identity } from "./auth/identity.ts";


/** Opens the store, rebuilds the broker from it, serves, and shuts down cleanly on SIGTERM/SIGINT. */
export async function startBroker(config: Config, version: string, signals: Signals): Promise<void> {
  const logger = createLogger({ format: config.logFormat, level: config.logLevel });
  const log = logger.line("info", "lifecycle");
  // [AUTH-5] Users and token keys first: a bad USERS_FILE or key stops start-up before the database is touched.
  let auth = await openAuth(config, logger);
  // [CLUSTER-1] A cluster node follows the leader (on this port) while it waits for the lock in openStore.
  const cluster = config.cluster === undefined ? undefined : await (await import("./cluster/node.ts")).ClusterNode.join(config, config.cluster, logger);
  let following = cluster !== undefined;
  let stopAsked: string | undefined;
  if (cluster !== undefined) {
    signals.handle((signal) => {
      if (!following) return void (stopAsked ??= signal);
      log(`${signal} while following: stopping`);
      void cluster.close().finally(() => process.exit(0));
    });
  }
  const { store, location, assertOwner } = await openStore(config, logger.line("warn", "store"));
  following = false;
  // [CLUSTER-1] Read again now that this node leads: the leader before it may have changed the users file meanwhile.
  if (cluster !== undefined) auth = await openAuth(config, logger);
  const { limits } = config;
  const sessions = new Sessions();
  const backoff = new AuthBackoff({
    clock: { now: () => performance.now() },
    freeFailures: limits.authFailuresFree,
    baseDelayMs: limits.authBackoffBaseMs,
    maxDelayMs: limits.authBackoffMaxMs,
    forgetAfterMs: limits.authBackoffForgetMs,
    maxEntries: limits.authBackoffMaxAddresses,
  });
  const edge = new AuthEdge(
    auth.mode,
    auth.authenticator === undefined ? undefined : (credential) => auth.authenticator!.authenticate(credential),
    backoff,
    // Until a user with a key exists: the first user made over the API must still get its key.
    () => auth.jwt === undefined && (auth.users?.keyCount ?? 0) === 0,
    sessions,
    config.allowedHosts.length === 0 ? () => false : (origin) => hostGuard(config.allowedHosts).allowsOrigin(origin),
  );
  const connections = new ConnectionLimiter({ maxTotal: limits.maxConnections, maxPerAddress: limits.maxConnectionsPerAddress });
  const publishRefusals = { refused_total: 0 };
  const started = performance.now();
  // [DISK-1] Watches the SQLite database's filesystem; Postgres keeps its data elsewhere (no alarm).
  const disk =
    config.databaseUrl === undefined
      ? new DiskAlarm({
          path: dirname(config.databasePath),
          limitBytes: config.diskFreeLimitBytes,
          clock: { now: () => performance.now() },
          scheduler: realScheduler,
          log: logger.line("warn", "disk_alarm"),
        })
      : undefined;
  const broker = await Broker.start(
    {
      store,
      clock: systemClock,
      scheduler: realScheduler,
      newId: messageIds(),
      checkpointMs: config.checkpointSeconds * 1000,
      ackTimeoutMs: config.ackTimeoutMs,
      dedupWindowMs: config.dedupWindowSeconds * 1000,
      maxQueuedBytes: config.maxQueuedBytes,
      replayMaxBytes: config.subscriberMaxBufferBytes,
      log: logger.line("warn", "broker"),
      diskAlarm: () => disk?.reason(),
    },
    (broker) => new WsHub(broker, config.subscriberMaxBufferBytes, logger, {
        verify: (token, remote) => edge.verify({ bearer: token }, remote),
        timeoutMs: config.auth.timeoutMs,
        get required() {
          return edge.required;
        },
      }),
  );
  const hub = broker.sink;
  sessions.onEnd((id) => hub.endSession(id));
  // A user, key or permission changed (admin API): open connections are checked again at once.
  auth.users?.onChange(() => {
    const recheck = (caller: Identity) => auth.authenticator?.recheck(caller);
    hub.reauthorize(recheck, !edge.required);
    sessions.recheck(recheck);
  });
  if (signals.received !== undefined || stopAsked !== undefined) {
    // Asked to stop while migrating or restoring: close the store the way a running broker would
    // (so restored messages keep their redelivered marks), and never listen.
    log(`${signals.received ?? stopAsked} during start-up: stopping`);
    await cluster?.close();
    await broker.close();
    log("stopped");
    process.exit(0);
  }
  const monitor = new LoopMonitor();
  const storeWatch = new StoreWatch(() => store.ping());
  const observations = new Observations({
    broker,
    hub,
    monitor,
    disk,
    storeWatch,
    edge,
    connections,
    backoff,
    publishRefusals,
    version,
    node: config.cluster?.node ?? process.env.NODE_NAME ?? hostname(),
    cluster: cluster === undefined ? undefined : () => cluster.view(),
    store: { backend: config.databaseUrl === undefined ? "sqlite" : "postgres", location },
    maxQueuedBytes: config.maxQueuedBytes,
  });
  const metrics = () => observations.metrics();
  const round1 = (n: number) => Math.round(n * 10) / 10;
  const history = new RateHistory(OVERVIEW_SAMPLES);
  const listeners = new Set<(sample: Sample) => void>();
  const sampler = setInterval(() => {
    const sample = history.record(Date.now(), broker.totals, { connections: hub.connections, queuedBytes: broker.queuedBytes, maxStallMs: round1(monitor.recentMaxStallMs) });
    if (sample !== undefined) for (const listener of listeners) listener(sample);
  }, OVERVIEW_INTERVAL_MS);
  sampler.unref?.();
  history.record(Date.now(), broker.totals, { connections: 0, queuedBytes: broker.queuedBytes, maxStallMs: 0 });
  const overview = () => observations.overview();
  const alarms = () => observations.alarms();
  let stopping = false;
  // [READY-1] Not ready from the moment SIGTERM arrives; and while the database does not answer.
  const notReady = async () => {
    const reasons: { name: string; reason: string }[] = [];
    if (stopping) reasons.push({ name: "shutting_down", reason: "SIGTERM received: the broker is stopping" });
    const pinged = await storeWatch.check();
    if (!pinged.ok) reasons.push({ name: "store", reason: `the database does not answer: ${pinged.lastError}` });
    return [...reasons, ...alarms()];
  };
  const app = createApp({
    broker,
    version,
    metrics,
    metricsQueueLimit: config.metricsQueueLimit,
    notReady,
    users: auth.users,
    login: { edge, secure: config.tls !== undefined, remoteOf },
    queueOwner: config.cluster?.node,
    ops: {
      connections: { list: (queue) => hub.connectionViews(queue), close: (id) => hub.closeConnection(id) },
      overview,
      history: {
        intervalMs: OVERVIEW_INTERVAL_MS,
        samples: () => history.samples(),
        subscribe: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      },
    },
  });
  let server: ReturnType<typeof serve>;
  await cluster?.promote();
  try {
    server = serve(config, app, hub, broker, logger, {
      forwarded: cluster?.forwarded,
      edge,
      connections,
      publishRate:
        limits.publishRatePerConnection === 0
          ? undefined
          : () => new PublishRate({ ratePerSecond: limits.publishRatePerConnection, burst: limits.publishBurst, clock: { now: () => performance.now() }, totals: publishRefusals }),
    });
  } catch (error) {
    // [CONFIG-1] Bun's message names neither variable (e.g. an address this machine does not have).
    throw new Error(`cannot listen on HOST=${config.host} HTTP_PORT=${config.httpPort}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownDelayMs + config.shutdownTimeoutMs);
    // [READY-1] Serving on, /readyz 503, so a load balancer stops sending here before we stop.
    if (config.shutdownDelayMs > 0) await Bun.sleep(config.shutdownDelayMs);
    const stopped = server.stop();
    let code = 0;
    try {
      // New publishes are refused from here; pending ones are committed and answered.
      await broker.close();
    } catch (error) {
      logger.error("store", { msg: `flush on shutdown failed: ${error instanceof Error ? error.message : String(error)}` });
      code = 1;
    }
    // One turn for the CONFIRM frames and HTTP answers of the last commit, then 1001 for every socket.
    await Bun.sleep(SHUTDOWN_ANSWER_MS);
    hub.closeAll();
    monitor.stop();
    clearInterval(sampler);
    storeWatch.stop();
    disk?.stop();
    await Promise.race([stopped, Bun.sleep(SERVER_STOP_WAIT_MS)]);
    await cluster?.close();
    clearTimeout(force);
    log("stopped");
    process.exit(code);
  };
  signals.handle((signal) => void shutdown(signal));
  if (stopAsked !== undefined) void shutdown(stopAsked);
  // [CLUSTER-1] Deposed: another node took the lock (this one lost Postgres for a while); its state is stale.
  cluster?.lead(assertOwner!, () => {
    hub.closeAll();
    process.exit(3);
  });
  const queues = broker.queues();
  log(
    `pubsub ${version} listening on ${config.tls === undefined ? "http" : "https"}://${config.host}:${server.port} ` +
      `(database ${location}; ${queues.length} queues, ${queues.reduce((n, q) => n + q.messages, 0)} messages restored in ${Math.round(performance.now() - started)} ms)`,
  );
}
