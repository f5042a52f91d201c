/**
 * The raw relay (bench/raw-relay.ts), compiled like pubsub is so that start-up and memory
 * compare like with like. It ignores durability: its confirmed publish is the same with or
 * without a durable queue, and that is the point of a ceiling.
 */
import { join } from "node:path";
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import { launchBroker, readMaxStallMs } from "./broker-process.ts";
import { publishBody, publishFrame, subscribeFrame } from "./seed-wire.ts";
import type { Plan, Target, TargetContext, TargetInstance } from "./target.ts";

const TOPIC = "bench.topic";

export function rawTarget(context: TargetContext): Target {
  const executable = join(context.workDir, "raw-relay");
  let built: Promise<string | null> | null = null;
  const build = () =>
    (built ??= (async () => {
      const compile = Bun.spawnSync({
        cmd: [process.execPath, "build", "--compile", "--minify", join(context.repoRoot, "bench/raw-relay.ts"), "--outfile", executable],
        stdio: ["ignore", "pipe", "pipe"],
      });
      return compile.exitCode === 0 ? null : `bun build --compile failed: ${compile.stderr.toString().trim()}`;
    })());

  return {
    name: "raw",
    unavailable: build,
    describe: () => "bench/raw-relay.ts compiled with `bun build --compile --minify`: Bun.serve + server.publish, nothing else",
    async start(): Promise<TargetInstance> {
      const failure = await build();
      if (failure) throw new Error(failure);
      const broker = await launchBroker([executable], { HOST: "127.0.0.1", HTTP_PORT: "0" }, "raw-relay");
      return {
        pid: broker.child.pid,
        readyMs: broker.readyMs,
        async confirmedPublishPlan(): Promise<Plan<ConfirmedPublishSpec>> {
          const spec = { protocol: "http", host: broker.host, port: broker.port, path: "/publish" } as const;
          return { spec: { ...spec, body: publishBody(TOPIC, "bench"), expectBody: '"routed"' }, cleanup: async () => {} };
        },
        async fanoutPlan(subscribers): Promise<Plan<FanoutSpec>> {
          const ws = { protocol: "ws", host: broker.host, port: broker.port, path: "/ws" } as const;
          return {
            spec: {
              publisher: { ...ws, publishFrame: publishFrame(TOPIC, "") },
              subscribers: Array.from({ length: subscribers }, () => ({ ...ws, subscribeFrame: subscribeFrame(TOPIC) })),
            },
            cleanup: async () => {},
          };
        },
        maxEventLoopStallMs: () => readMaxStallMs(broker.baseUrl),
        stop: () => broker.stop(),
      };
    },
  };
}
