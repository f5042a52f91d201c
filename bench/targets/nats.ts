/**
 * NATS at 127.0.0.1:4222, already running: core subjects for fan-out, JetStream streams for
 * confirmed publishing (memory storage for "transient", file storage for "durable").
 */
import type { NatsConnection } from "nats";
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import { pidByName } from "../proc-stats.ts";
import type { Plan, Target, TargetInstance } from "./target.ts";

const SERVERS = "127.0.0.1:4222";

/** `nats` is an optional dev dependency: without it, NATS is skipped, not a crash. */
const loadNats = () => import("nats");

export function natsTarget(): Target {
  let version = "";
  let jetstream = false;
  return {
    name: "nats",
    async unavailable() {
      let nats: Awaited<ReturnType<typeof loadNats>>;
      try {
        nats = await loadNats();
      } catch {
        return "the nats package is not installed (npm install --no-save nats)";
      }
      try {
        const connection = await nats.connect({ servers: SERVERS, timeout: 2_000 });
        version = connection.info?.version ?? "";
        jetstream = Boolean(connection.info?.jetstream);
        await connection.close();
        return null;
      } catch (error) {
        return `NATS not reachable at ${SERVERS} (${error instanceof Error ? error.message : error})`;
      }
    },
    describe: () => `nats-server ${version} at ${SERVERS} via the \`nats\` client (service already running)`,
    async start(): Promise<TargetInstance> {
      const { connect, StorageType } = await loadNats();
      const connection: NatsConnection = await connect({ servers: SERVERS, timeout: 5_000 });
      const suffix = crypto.randomUUID().slice(0, 8);
      return {
        pid: pidByName("nats-server"),
        readyMs: null,
        async confirmedPublishPlan(durable): Promise<Plan<ConfirmedPublishSpec>> {
          if (!jetstream) throw new Error("JetStream is not enabled on this nats-server (start it with -js)");
          const manager = await connection.jetstreamManager();
          const stream = `BENCH_${durable ? "FILE" : "MEMORY"}_${suffix}`;
          const subject = `bench.js.${suffix}`;
          await manager.streams.add({
            name: stream,
            subjects: [subject],
            storage: durable ? StorageType.File : StorageType.Memory,
          });
          return {
            spec: { protocol: "jetstream", servers: SERVERS, subject },
            note: `JetStream ${durable ? "file" : "memory"} stream, acked publish`,
            cleanup: async () => {
              await manager.streams.delete(stream);
            },
          };
        },
        async fanoutPlan(subscribers): Promise<Plan<FanoutSpec>> {
          const subject = `bench.fanout.${suffix}`;
          return {
            spec: {
              publisher: { protocol: "nats", servers: SERVERS, subject },
              subscribers: Array.from({ length: subscribers }, () => ({ protocol: "nats", servers: SERVERS, subject }) as const),
            },
            note: `core NATS subject, ${subscribers} subscriber connection(s)`,
            cleanup: async () => {},
          };
        },
        async stop() {
          await connection.close();
        },
      };
    },
  };
}
