/**
 * NATS at 127.0.0.1:4222, already running: core subjects for fan-out, latency and idle
 * subscribers; JetStream for confirmed publishing (memory storage for "transient", file storage
 * for "durable") and for the work queue and backlog (file streams with work-queue retention, read
 * by durable pull consumers with explicit acks).
 */
import type { NatsConnection } from "nats";
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import { pidByName } from "../proc-stats.ts";
import type { BacklogSpec, ConsumedPublishSpec, IdleSpec, Plan, Target, TargetInstance, WorkQueueSpec } from "./target.ts";

const HOST = "127.0.0.1";
const PORT = 4222;
const SERVERS = `${HOST}:${PORT}`;

/** `nats` is an optional dev dependency: without it, NATS is skipped, not a crash. */
const loadNats = () => import("nats");

export function natsTarget(): Target {
  let version = "";
  let jetstream = false;
  return {
    name: "nats",
    notApplicable: {
      connections: "not measured: scenario 11 is about pubsub's credential checks (issue 13), over WebSocket",
      backlog: "not measured: scenario 10 compares pubsub with RabbitMQ (JetStream's file store is in scenarios 5 and 7)",
    },
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
      const { connect, StorageType, RetentionPolicy, AckPolicy, DeliverPolicy } = await loadNats();
      const connection: NatsConnection = await connect({ servers: SERVERS, timeout: 5_000 });
      const suffix = crypto.randomUUID().slice(0, 8);
      const requireJetStream = () => {
        if (!jetstream) throw new Error("JetStream is not enabled on this nats-server (start it with -js)");
      };
      /** A file stream with work-queue retention: a message leaves it once acknowledged. */
      const workStream = async (name: string, subject: string) => {
        requireJetStream();
        const manager = await connection.jetstreamManager();
        await manager.streams.add({ name, subjects: [subject], storage: StorageType.File, retention: RetentionPolicy.Workqueue });
        return manager;
      };
      const pullConsumer = (name: string, maxAckPending: number) => ({
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: maxAckPending,
      });
      return {
        pid: pidByName("nats-server"),
        readyMs: null,
        async confirmedPublishPlan(durable): Promise<Plan<ConfirmedPublishSpec>> {
          requireJetStream();
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
        async consumedPublishPlan(prefetch): Promise<Plan<ConsumedPublishSpec>> {
          const stream = `BENCH_CONSUMED_${suffix}`;
          const subject = `bench.consumed.${suffix}`;
          // Work-queue retention: an acked message leaves the stream, as from RabbitMQ's queue.
          const manager = await workStream(stream, subject);
          await manager.consumers.add(stream, pullConsumer("reader", prefetch));
          return {
            spec: {
              publish: { protocol: "jetstream", servers: SERVERS, subject },
              reader: { role: "consumer", spec: { protocol: "jetstream", servers: SERVERS, stream, consumer: "reader", prefetch } },
            },
            note:
              `JetStream file stream (work-queue retention), acked publish; one durable pull consumer (explicit ack, ` +
              `max_ack_pending ${prefetch}), consume({max_messages: ${prefetch}}), msg.ack() per message`,
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
        async workQueuePlan(consumers, prefetch): Promise<Plan<WorkQueueSpec>> {
          const stream = `BENCH_WORK_${suffix}`;
          const subject = `bench.work.${suffix}`;
          const manager = await workStream(stream, subject);
          await manager.consumers.add(stream, pullConsumer("work", consumers * prefetch));
          return {
            spec: {
              publisher: { protocol: "nats", servers: SERVERS, subject },
              consumers: Array.from({ length: consumers }, () => ({ protocol: "jetstream", servers: SERVERS, stream, consumer: "work", prefetch }) as const),
            },
            note:
              `JetStream file stream (work-queue retention) fed by core NATS publishes (unconfirmed); one durable pull consumer ` +
              `(explicit ack, max_ack_pending ${consumers * prefetch}) read by ${consumers} connections, each consume({max_messages: ${prefetch}}), msg.ack() per message`,
            cleanup: async () => {
              await manager.streams.delete(stream);
            },
          };
        },
        async backlogPlan(): Promise<Plan<BacklogSpec>> {
          const stream = `BENCH_BACKLOG_${suffix}`;
          const subject = `bench.backlog.${suffix}`;
          const manager = await workStream(stream, subject);
          let previous: string | null = null;
          return {
            spec: {
              prefill: { protocol: "jetstream", servers: SERVERS, subject },
              // Work-queue retention allows one consumer at a time: each phase replaces the last.
              consumer: async (prefetch) => {
                if (previous) await manager.consumers.delete(stream, previous);
                previous = `backlog${prefetch}`;
                await manager.consumers.add(stream, pullConsumer(previous, prefetch));
                return { protocol: "jetstream", servers: SERVERS, stream, consumer: previous, prefetch };
              },
            },
            note: "JetStream file stream (work-queue retention) filled with acked publishes; a durable pull consumer (explicit ack, max_ack_pending = prefetch), consume({max_messages: prefetch}), msg.ack() per message",
            cleanup: async () => {
              await manager.streams.delete(stream);
            },
          };
        },
        async idlePlan(): Promise<Plan<IdleSpec>> {
          const subject = `bench.idle.${suffix}`;
          return {
            spec: { publisher: { protocol: "nats", servers: SERVERS, subject }, subscriber: { protocol: "nats-wire", host: HOST, port: PORT, subject } },
            note: "core NATS subject, one connection per subscriber (a bare protocol client: CONNECT, SUB, PING)",
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
