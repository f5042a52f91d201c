/**
 * The raw relay (bench/raw-relay.ts), compiled like pubsub is so that start-up and memory
 * compare like with like. It ignores durability: its confirmed publish is the same with or
 * without a durable queue, and that is the point of a ceiling. It has no acknowledgements and no
 * competing consumers: the work-queue, consume and WebSocket-confirm scenarios do not apply.
 */
import { join } from "node:path";
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import { launchBroker, readStall } from "./broker-process.ts";
import { publishBody, publishFrame, subscribeFrame } from "./seed-wire.ts";
import type { ConsumedPublishSpec, IdleSpec, Plan, Target, TargetContext, TargetInstance } from "./target.ts";

const TOPIC = "bench.topic";
const NO_ACKS = "does not apply: a bare relay has no queues, consumers or acknowledgements";

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
    notApplicable: {
      workqueue: NO_ACKS,
      consume: NO_ACKS,
      confirm: "does not apply: a bare relay confirms nothing over WebSocket (its HTTP publish is in scenario 2)",
      backlog: "does not apply: a bare relay has no durable queues",
    },
    describe: () => "bench/raw-relay.ts compiled with `bun build --compile --minify`: Bun.serve + server.publish, nothing else",
    async start(): Promise<TargetInstance> {
      const failure = await build();
      if (failure) throw new Error(failure);
      const broker = await launchBroker([executable], { HOST: "127.0.0.1", HTTP_PORT: "0" }, "raw-relay");
      const ws = { protocol: "ws", host: broker.host, port: broker.port, path: "/ws" } as const;
      return {
        pid: broker.child.pid,
        readyMs: broker.readyMs,
        async confirmedPublishPlan(): Promise<Plan<ConfirmedPublishSpec>> {
          const spec = { protocol: "http", host: broker.host, port: broker.port, path: "/publish" } as const;
          return { spec: { ...spec, body: publishBody(TOPIC, "bench"), expectBody: '"routed"' }, cleanup: async () => {} };
        },
        async consumedPublishPlan(): Promise<Plan<ConsumedPublishSpec>> {
          const spec = { protocol: "http", host: broker.host, port: broker.port, path: "/publish" } as const;
          return {
            spec: {
              // The subscriber is on the topic before the first answer: it must say one socket got it.
              publish: { ...spec, body: publishBody(TOPIC, "bench"), expectBody: '"routed":1\\b' },
              reader: { role: "subscriber", spec: { ...ws, subscribeFrame: subscribeFrame(TOPIC) } },
            },
            note: "no disk: HTTP POST /publish to one topic, one subscriber socket on it (the ceiling)",
            cleanup: async () => {},
          };
        },
        async fanoutPlan(subscribers): Promise<Plan<FanoutSpec>> {
          return {
            spec: {
              publisher: { ...ws, publishFrame: publishFrame(TOPIC, "") },
              subscribers: Array.from({ length: subscribers }, () => ({ ...ws, subscribeFrame: subscribeFrame(TOPIC) })),
            },
            note: `one topic, ${subscribers} socket(s)`,
            cleanup: async () => {},
          };
        },
        async idlePlan(): Promise<Plan<IdleSpec>> {
          return {
            spec: { publisher: { ...ws, publishFrame: publishFrame(TOPIC, "") }, subscriber: { ...ws, subscribeFrame: subscribeFrame(TOPIC) } },
            note: "one topic, every connection subscribed to it",
            cleanup: async () => {},
          };
        },
        async connectPlans() {
          const spec = { protocol: "ws", host: broker.host, port: broker.port, path: "/ws", tokens: null } as const;
          return [{ label: "raw, no AUTH", spec, note: "the upgrade alone, ready at the 101", cleanup: async () => {} }];
        },
        stall: () => readStall(broker.baseUrl),
        async stop() {
          await broker.stop();
        },
      };
    },
  };
}
