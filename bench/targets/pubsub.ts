/**
 * pubsub, the executable this project builds (`dist/pubsub`, built on demand), started fresh for
 * each run with an empty DATA_DIR. Topology is declared over its HTTP API.
 *
 * Variants, measured only in the scenarios where they matter:
 * - `pubsub-pg`: the same executable on Postgres (DATABASE_URL), a fresh database per run,
 *   created and dropped by the harness;
 * - `pubsub-fsync`: SQLite with FSYNC=true (synchronous=FULL: every commit fsynced, like RabbitMQ's
 *   confirms and Postgres's commits);
 * - `pubsub-auth`: JWT_SECRET set, so nothing is served without a credential: every load
 *   connection sends a JWT the harness minted (WebSocket: an AUTH frame first; HTTP: Authorization:
 *   Bearer), as do the harness's own API calls. What authorisation costs, beside the loopback guest;
 * - `pubsub-keys`: a USERS_FILE with one user and one API key; connections authenticate with the key;
 * - `pubsub-baseline`: another build (`--baseline-cmd`), guest as `pubsub`, for before/after runs.
 */
import { SQL } from "bun";
import { existsSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import type { ScenarioName } from "../options.ts";
import { pidsByName } from "../proc-stats.ts";
import { onInterrupt } from "../processes.ts";
import { callApi, launchBroker, readStall, type BrokerProcess } from "./broker-process.ts";
import { directoryBytes, postgresDatabaseBytes } from "./disk-usage.ts";
import { mintJwt, mintJwts, newJwtSecret, writeUsersFile } from "./credentials.ts";
import { batchedSubscribeFrame, publishBody, publishFrame, subscribeFrame } from "./seed-wire.ts";
import type {
  BacklogSpec,
  ConsumedPublishSpec,
  FanoutLayout,
  IdleSpec,
  Plan,
  Restarted,
  StartOptions,
  Target,
  TargetContext,
  TargetInstance,
  TargetName,
  WorkQueueSpec,
} from "./target.ts";

/** `bun run build` compiles the whole broker; on 2 cores that takes well under this. */
const BUILD_TIMEOUT_MS = 300_000;

export type PubsubVariant = "sqlite" | "postgres" | "fsync" | "jwt" | "keys" | "baseline";

/** Scenario 10: a broker restoring a large backlog before it listens gets this long to come back. */
const RESTART_TIMEOUT_MS = 300_000;
/** Scenario 10: a SIGTERM'd broker flushing a backlog gets this long before it is killed (its own SHUTDOWN_TIMEOUT_MS is shorter). */
const RESTART_STOP_GRACE_MS = 60_000;

const VARIANTS: Record<PubsubVariant, { name: TargetName; scenarios?: ScenarioName[]; describe: string }> = {
  sqlite: { name: "pubsub", describe: "SQLite (default settings: WAL, synchronous=NORMAL)" },
  postgres: {
    name: "pubsub-pg",
    scenarios: ["confirm", "consume", "backlog"],
    describe: "on Postgres (DATABASE_URL), a fresh database per run",
  },
  fsync: { name: "pubsub-fsync", scenarios: ["confirm"], describe: "SQLite with FSYNC=true (synchronous=FULL, every commit fsynced)" },
  jwt: {
    name: "pubsub-auth",
    scenarios: ["publish", "fanout", "connections"],
    describe:
      "JWT_SECRET set (HS256): every connection authenticates with a JWT the harness minted (WebSocket: AUTH first; HTTP: " +
      "Authorization: Bearer), sub bench, claim pubsub {configure, write, read: .*}",
  },
  keys: {
    name: "pubsub-keys",
    scenarios: ["publish", "connections"],
    describe:
      "USERS_FILE with one user (full permissions) and one API key (argon2id, the broker's cost): WebSocket AUTH / HTTP Authorization: Bearer with the key",
  },
  baseline: { name: "pubsub-baseline", describe: "the --baseline-cmd build, default settings (loopback guest), for before/after" },
};

export function pubsubTarget(context: TargetContext, variant: PubsubVariant = "sqlite"): Target {
  const executable = join(context.repoRoot, "dist/pubsub");
  const given = variant === "baseline" ? context.baselineCommand : context.pubsubCommand;
  const command = given ?? [executable];
  const { name, scenarios, describe } = VARIANTS[variant];
  let checked: Promise<string | null> | null = null;
  let postgresVersion = "";

  const ensureBuilt = () =>
    (checked ??= (async () => {
      if (variant === "baseline") return context.baselineCommand ? null : "no --baseline-cmd given";
      if (context.pubsubCommand || existsSync(executable)) return null;
      console.error("bench: dist/pubsub is missing; running `bun run build` …");
      const build = Bun.spawn({
        cmd: [process.execPath, "run", "build"],
        cwd: context.repoRoot,
        stdio: ["ignore", "pipe", "pipe"],
        timeout: BUILD_TIMEOUT_MS,
      });
      const [code, stderr] = await Promise.all([build.exited, new Response(build.stderr).text()]);
      if (code === 0 && existsSync(executable)) return null;
      const lastLines = stderr.trim().split("\n").slice(-3).join(" / ");
      return `dist/pubsub missing and \`bun run build\` failed (exit ${code}): ${lastLines}`;
    })());

  return {
    name,
    scenarios,
    async unavailable() {
      const failure = await ensureBuilt();
      if (failure || variant !== "postgres") return failure;
      try {
        const admin = new SQL({ url: context.postgresUrl, max: 1, connectionTimeout: 3 });
        const [row] = await admin`show server_version`;
        postgresVersion = String(row?.server_version ?? "");
        await admin.close();
        return null;
      } catch (error) {
        return `Postgres not reachable at ${redact(context.postgresUrl)} (${error instanceof Error ? error.message : error})`;
      }
    },
    describe: () =>
      `\`${given ? given.join(" ") : "dist/pubsub"}\`, fresh DATA_DIR per run; ${describe}` +
      (variant === "postgres" ? ` (PostgreSQL ${postgresVersion} at ${redact(context.postgresUrl)})` : ""),
    async start(options: StartOptions = {}): Promise<TargetInstance> {
      const failure = await ensureBuilt();
      if (failure) throw new Error(failure);
      const dataDir = mkdtempSync(join(context.workDir, "pubsub-data-"));
      const env: Record<string, string> = { HOST: "127.0.0.1", HTTP_PORT: "0", DATA_DIR: dataDir, DATABASE_URL: "", ...options.env };
      let dropDatabase = async () => {};
      /** The credential every connection and API call of this run presents; none for the loopback guest. */
      let token: string | undefined;
      let jwtSecret: string | undefined;
      if (variant === "fsync") env.FSYNC = "true";
      if (variant === "jwt") {
        jwtSecret = env.JWT_SECRET = newJwtSecret();
        token = await mintJwt(jwtSecret);
      }
      if (variant === "keys") {
        const users = await writeUsersFile(mkdtempSync(join(context.workDir, "pubsub-users-")));
        env.USERS_FILE = users.path;
        token = users.key;
      }
      const credential = token === undefined ? {} : { token };
      const authorization: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
      const authNote = token === undefined ? "" : `; every connection sent AUTH with ${variant === "keys" ? "an API key" : "a JWT"} first`;
      if (variant === "postgres") {
        const database = await createDatabase(context.postgresUrl);
        env.DATABASE_URL = database.url;
        dropDatabase = database.drop;
      }
      let broker: BrokerProcess;
      try {
        broker = await launchBroker(command, env, name);
      } catch (error) {
        await dropDatabase().catch(() => {});
        throw error;
      }
      // Read at call time: a restart (scenario 10) listens on a new port.
      const api = (path: string, body: unknown) => callApi(broker.baseUrl, "POST", path, body, authorization);
      const wsOf = () => ({ protocol: "ws", host: broker.host, port: broker.port, path: "/ws", ...credential }) as const;
      /** Scenario 2's topology: a direct exchange, `queue` bound to it with the key "bench". */
      const declareDirect = async (queue: string, durable: boolean) => {
        await api("/exchanges", { name: "bench.direct", type: "direct" }).catch(ignoreExists);
        await api("/queues", { name: queue, durable });
        await api("/bindings", { exchange_name: "bench.direct", queue_name: queue, key: "bench" });
      };
      const httpPublishSpec = (): ConfirmedPublishSpec => ({
        protocol: "http",
        host: broker.host,
        port: broker.port,
        path: "/publish",
        body: publishBody("bench.direct", "bench"),
        // One bound queue: every answer must say it routed to exactly one.
        expectBody: '"routed"\\s*:\\s*1\\b',
        ...credential,
      });
      const httpAuthNote = `HTTP POST /publish, keep-alive, Authorization: Bearer <${variant === "keys" ? "API key" : "JWT"}> on every request`;

      return {
        get pid() {
          return broker.child.pid;
        },
        get readyMs() {
          return broker.readyMs;
        },
        // Postgres commits pubsub-pg's writes in its own processes: their CPU is the broker's work.
        helperPids: variant === "postgres" ? () => pidsByName("postgres") : undefined,
        async confirmedPublishPlan(durable, transport = "http"): Promise<Plan<ConfirmedPublishSpec>> {
          const queue = durable ? "bench.durable" : "bench.transient";
          await declareDirect(queue, durable);
          if (transport === "ws") {
            return {
              spec: { protocol: "ws-confirm", host: broker.host, port: broker.port, path: "/ws", exchange: "bench.direct", key: "bench", ...credential },
              note: "PUBLISH frames with an id on one WebSocket, CONFIRM once committed",
              cleanup: async () => {},
            };
          }
          return { spec: httpPublishSpec(), note: token === undefined ? undefined : httpAuthNote, cleanup: async () => {} };
        },
        async consumedPublishPlan(): Promise<Plan<ConsumedPublishSpec>> {
          const queue = "bench.durable";
          await declareDirect(queue, true);
          return {
            spec: { publish: httpPublishSpec(), reader: { role: "subscriber", spec: { ...wsOf(), subscribeFrame: subscribeFrame(queue) } } },
            note:
              `${token === undefined ? "HTTP POST /publish, keep-alive" : httpAuthNote}, to a durable queue; one WebSocket subscriber ` +
              `on it (SUBSCRIBE, no acks) receiving every message${authNote}`,
            cleanup: async () => {},
          };
        },
        async fanoutPlan(subscribers, layout: FanoutLayout = "one-queue", batch = false): Promise<Plan<FanoutSpec>> {
          await api("/exchanges", { name: "bench.fanout", type: "fanout" }).catch(ignoreExists);
          const queues =
            layout === "one-queue" ? ["bench.fanout.all"] : Array.from({ length: subscribers }, (_, i) => `bench.fanout.${i}`);
          for (const queue of queues) {
            await api("/queues", { name: queue, durable: false });
            await api("/bindings", { exchange_name: "bench.fanout", queue_name: queue, key: "" });
          }
          return {
            spec: {
              publisher: { ...wsOf(), publishFrame: publishFrame("bench.fanout", "") },
              subscribers: Array.from({ length: subscribers }, (_, i) => {
                const queue = queues[i % queues.length]!;
                return batch ? { ...wsOf(), subscribeFrame: batchedSubscribeFrame(queue), batched: true } : { ...wsOf(), subscribeFrame: subscribeFrame(queue) };
              }),
            },
            cleanup: async () => {},
            note:
              layout === "one-queue"
                ? `fanout exchange → 1 transient queue, ${subscribers} subscriber(s) on it (one Bun topic)${batchNote(batch)}${authNote}`
                : `fanout exchange → ${subscribers} transient queues, one subscriber each${batchNote(batch)}${authNote}`,
          };
        },
        async workQueuePlan(consumers, prefetch): Promise<Plan<WorkQueueSpec>> {
          const queue = "bench.work";
          await api("/queues", { name: queue, durable: true });
          return {
            spec: {
              publisher: { ...wsOf(), publishFrame: publishFrame("", queue) },
              consumers: Array.from({ length: consumers }, () => ({ ...wsOf(), queue, prefetch })),
            },
            note: `durable queue; PUBLISH frames without id (unconfirmed); ${consumers} WebSocket consumers, CONSUME prefetch ${prefetch}, an ACK frame per message`,
            cleanup: async () => {},
          };
        },
        async backlogPlan(payloadBytes): Promise<Plan<BacklogSpec>> {
          const queue = "bench.backlog";
          await api("/queues", { name: queue, durable: true });
          return {
            spec: {
              prefill: { protocol: "ws-confirm", host: broker.host, port: broker.port, path: "/ws", exchange: "", key: queue, payloadBytes, ...credential },
              consumer: async (prefetch) => ({ ...wsOf(), queue, prefetch }),
              depth: async () => {
                const view = (await callApi(broker.baseUrl, "GET", `/queues/${queue}`, undefined, authorization)) as { messages?: unknown; unacked?: unknown };
                if (typeof view?.messages !== "number") throw new Error(`GET /queues/${queue}: no message count in ${JSON.stringify(view)}`);
                return { ready: view.messages, unacked: typeof view.unacked === "number" ? view.unacked : null };
              },
            },
            note: "durable queue filled with confirmed WebSocket publishes (PUBLISH with an id → CONFIRM); WebSocket consumers (CONSUME), an ACK frame per message",
            cleanup: async () => {},
          };
        },
        async idlePlan(): Promise<Plan<IdleSpec>> {
          await api("/exchanges", { name: "bench.fanout", type: "fanout" }).catch(ignoreExists);
          await api("/queues", { name: "bench.idle", durable: false });
          await api("/bindings", { exchange_name: "bench.fanout", queue_name: "bench.idle", key: "" });
          return {
            spec: { publisher: { ...wsOf(), publishFrame: publishFrame("bench.fanout", "") }, subscriber: { ...wsOf(), subscribeFrame: subscribeFrame("bench.idle") } },
            note: "one transient queue, every connection subscribed to it",
            cleanup: async () => {},
          };
        },
        async restart(): Promise<Restarted> {
          const stopped = await broker.stop(RESTART_STOP_GRACE_MS);
          const timeouts = { listenMs: RESTART_TIMEOUT_MS, pingMs: RESTART_TIMEOUT_MS };
          broker = await launchBroker(command, env, name, timeouts);
          const ended = stopped.killed ? `**killed after ${Math.round(stopped.ms)} ms**` : `exit ${stopped.exitCode}`;
          return {
            stoppedMs: stopped.ms,
            startedAt: broker.spawnedAt,
            readyMs: broker.readyMs,
            note: `SIGTERM → ${ended} in ${Math.round(stopped.ms)} ms, then spawned again on the same ${variant === "postgres" ? "database" : "DATA_DIR"}`,
          };
        },
        async connectPlans(connections) {
          const endpoint = { protocol: "ws", host: broker.host, port: broker.port, path: "/ws" } as const;
          const plan = (label: string, tokens: string[] | null, note: string) => ({ label, spec: { ...endpoint, tokens }, note, cleanup: async () => {} });
          if (variant === "jwt") {
            // A token each, as each client of an application has its own (the broker caches no JWT verification).
            const tokens = await mintJwts(jwtSecret!, connections + 1);
            return [plan(`${name}, JWT`, tokens, "AUTH with a JWT, a distinct one per connection (HS256 verify and the claim compiled per AUTH)")];
          }
          if (variant === "keys") {
            return [plan(`${name}, API key`, [token!], "AUTH with the one user's API key (argon2id on the first, then the verified-key cache)")];
          }
          if (variant === "baseline") return [plan(`${name}, no AUTH`, null, "the upgrade alone (a build without AUTH frames answers none)")];
          return [
            plan(`${name}, no AUTH`, null, "loopback guest: the upgrade alone, ready at the 101"),
            plan(`${name}, AUTH as guest`, ["guest"], "loopback guest sending AUTH anyway: answered AUTHENTICATED without a check (the round trip the others pay)"),
          ];
        },
        diskUsage: async () => (variant === "postgres" ? postgresDatabaseBytes(env.DATABASE_URL!) : directoryBytes(dataDir)),
        stall: () => readStall(broker.baseUrl, authorization),
        async stop() {
          try {
            await broker.stop();
          } finally {
            await dropDatabase();
          }
        },
      };
    },
  };
}

/** Declaring the same exchange twice is fine for a benchmark: it exists either way. */
function ignoreExists(error: Error): void {
  if (!/E001|already exists|409/.test(error.message)) throw error;
}

/** A fresh database next to the admin URL's, and how to drop it (forcing out any connection left). */
async function createDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `pubsub_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = new SQL({ url: adminUrl, max: 1, connectionTimeout: 5 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    try {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await admin.close();
    }
  };
  // Interrupted (Ctrl-C, SIGTERM) between here and the run's end: the database is dropped anyway.
  const done = onInterrupt(drop);
  return {
    url: url.toString(),
    drop: async () => {
      done();
      await drop();
    },
  };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/** [BATCH-1] What the batched rows measure, in their note. */
const batchNote = (batch: boolean): string =>
  batch ? "; SUBSCRIBE with batch: true, so each turn's deliveries come as one MESSAGES frame (counted as the messages it holds)" : "";
