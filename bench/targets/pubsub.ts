/**
 * pubsub, the executable this project builds (`dist/pubsub`, built on demand), started fresh for
 * each run with an empty DATA_DIR. Topology is declared over its HTTP API.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import { callApi, launchBroker, readMaxStallMs } from "./broker-process.ts";
import { publishBody, publishFrame, subscribeFrame } from "./seed-wire.ts";
import type { Plan, Target, TargetContext, TargetInstance } from "./target.ts";

/** `bun run build` compiles the whole broker; on 2 cores that takes well under this. */
const BUILD_TIMEOUT_MS = 300_000;

export function pubsubTarget(context: TargetContext): Target {
  const executable = join(context.repoRoot, "dist/pubsub");
  const command = context.pubsubCommand ?? [executable];
  let checked: Promise<string | null> | null = null;

  const ensureBuilt = () =>
    (checked ??= (async () => {
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
    name: "pubsub",
    unavailable: ensureBuilt,
    describe: () => `\`${context.pubsubCommand ? context.pubsubCommand.join(" ") : "dist/pubsub"}\`, fresh DATA_DIR per run`,
    async start(): Promise<TargetInstance> {
      const failure = await ensureBuilt();
      if (failure) throw new Error(failure);
      const dataDir = mkdtempSync(join(context.workDir, "pubsub-data-"));
      const broker = await launchBroker(command, { HOST: "127.0.0.1", HTTP_PORT: "0", DATA_DIR: dataDir }, "pubsub");
      const api = (path: string, body: unknown) => callApi(broker.baseUrl, "POST", path, body);

      return {
        pid: broker.child.pid,
        readyMs: broker.readyMs,
        async confirmedPublishPlan(durable): Promise<Plan<ConfirmedPublishSpec>> {
          const queue = durable ? "bench.durable" : "bench.transient";
          await api("/exchanges", { name: "bench.direct", type: "direct" }).catch(ignoreExists);
          await api("/queues", { name: queue, durable });
          await api("/bindings", { exchange_name: "bench.direct", queue_name: queue, key: "bench" });
          return {
            spec: {
              protocol: "http",
              host: broker.host,
              port: broker.port,
              path: "/publish",
              body: publishBody("bench.direct", "bench"),
              // One bound queue: every answer must say it routed to exactly one.
              expectBody: '"routed"\\s*:\\s*1\\b',
            },
            cleanup: async () => {},
          };
        },
        async fanoutPlan(subscribers): Promise<Plan<FanoutSpec>> {
          await api("/exchanges", { name: "bench.fanout", type: "fanout" });
          const queues = Array.from({ length: subscribers }, (_, i) => `bench.fanout.${i}`);
          for (const queue of queues) {
            await api("/queues", { name: queue, durable: false });
            await api("/bindings", { exchange_name: "bench.fanout", queue_name: queue, key: "" });
          }
          const ws = { protocol: "ws", host: broker.host, port: broker.port, path: "/ws" } as const;
          return {
            spec: {
              publisher: { ...ws, publishFrame: publishFrame("bench.fanout", "") },
              subscribers: queues.map((queue) => ({ ...ws, subscribeFrame: subscribeFrame(queue) })),
            },
            cleanup: async () => {},
            note: `fanout exchange → ${subscribers} transient queue(s), one subscriber each`,
          };
        },
        maxEventLoopStallMs: () => readMaxStallMs(broker.baseUrl),
        stop: () => broker.stop(),
      };
    },
  };
}

/** Declaring the same exchange twice is fine for a benchmark: it exists either way. */
function ignoreExists(error: Error): void {
  if (!/E001|already exists|409/.test(error.message)) throw error;
}
