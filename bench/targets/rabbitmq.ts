/**
 * RabbitMQ at 127.0.0.1:5672 (guest/guest), already running; the harness only declares and
 * deletes its own exchanges and queues, with a random suffix per run.
 */
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import { pidByName } from "../proc-stats.ts";
import type { BacklogSpec, Plan, Target, TargetInstance, WorkQueueSpec } from "./target.ts";

const URL = "amqp://guest:guest@127.0.0.1:5672";

/** amqplib is an optional dev dependency: without it, RabbitMQ is skipped, not a crash. */
const loadAmqp = async () => (await import("amqplib")).default;

export function rabbitmqTarget(): Target {
  let version = "";
  return {
    name: "rabbitmq",
    notApplicable: {
      idle:
        "not measured: 10,000 AMQP connections to the shared RabbitMQ service (an Erlang process tree and buffers each) " +
        "would need a client that holds them cheaply, which amqplib is not; the goal is about WebSocket connections",
    },
    async unavailable() {
      let amqp: Awaited<ReturnType<typeof loadAmqp>>;
      try {
        amqp = await loadAmqp();
      } catch {
        return "the amqplib package is not installed (npm install --no-save amqplib)";
      }
      try {
        const connection = await amqp.connect(URL, { timeout: 2_000 });
        version = String(connection.connection.serverProperties?.version ?? "");
        await connection.close();
        return null;
      } catch (error) {
        return `RabbitMQ not reachable at 127.0.0.1:5672 (${error instanceof Error ? error.message : error})`;
      }
    },
    describe: () => `RabbitMQ ${version} at 127.0.0.1:5672 via amqplib (service already running)`,
    async start(): Promise<TargetInstance> {
      const connection = await (await loadAmqp()).connect(URL, { timeout: 5_000 });
      const channel = await connection.createChannel();
      const suffix = crypto.randomUUID().slice(0, 8);
      return {
        pid: pidByName("beam.smp"),
        readyMs: null,
        async confirmedPublishPlan(durable): Promise<Plan<ConfirmedPublishSpec>> {
          const exchange = `bench.direct.${suffix}`;
          const queue = `bench.${durable ? "durable" : "transient"}.${suffix}`;
          await channel.assertExchange(exchange, "direct", { durable, autoDelete: false });
          await channel.assertQueue(queue, { durable, autoDelete: false });
          await channel.bindQueue(queue, exchange, "bench");
          return {
            spec: { protocol: "amqp", url: URL, exchange, routingKey: "bench", persistent: durable },
            note: durable
              ? "durable classic queue, persistent messages, publisher confirms"
              : "transient classic queue, publisher confirms",
            cleanup: async () => {
              await channel.deleteQueue(queue);
              await channel.deleteExchange(exchange);
            },
          };
        },
        async fanoutPlan(subscribers): Promise<Plan<FanoutSpec>> {
          const exchange = `bench.fanout.${suffix}`;
          await channel.assertExchange(exchange, "fanout", { durable: false, autoDelete: false });
          return {
            spec: {
              publisher: { protocol: "amqp", url: URL, exchange },
              subscribers: Array.from({ length: subscribers }, () => ({ protocol: "amqp", url: URL, exchange }) as const),
            },
            note: `fanout exchange → ${subscribers} exclusive queue(s), auto-ack consumers`,
            cleanup: async () => {
              await channel.deleteExchange(exchange);
            },
          };
        },
        async workQueuePlan(consumers, prefetch): Promise<Plan<WorkQueueSpec>> {
          const queue = `bench.work.${suffix}`;
          await channel.assertQueue(queue, { durable: true, autoDelete: false });
          return {
            spec: {
              publisher: { protocol: "amqp", url: URL, exchange: "", routingKey: queue, persistent: true },
              consumers: Array.from({ length: consumers }, () => ({ protocol: "amqp", url: URL, queue, prefetch }) as const),
            },
            note:
              `durable classic queue, persistent messages published without confirms; ${consumers} consumers, ` +
              `a connection and channel each, basic.qos(${prefetch}), manual ack per message`,
            cleanup: async () => {
              await channel.deleteQueue(queue);
            },
          };
        },
        async backlogPlan(): Promise<Plan<BacklogSpec>> {
          const queue = `bench.backlog.${suffix}`;
          await channel.assertQueue(queue, { durable: true, autoDelete: false });
          return {
            spec: {
              prefill: { protocol: "amqp", url: URL, exchange: "", routingKey: queue, persistent: true },
              consumer: async (prefetch) => ({ protocol: "amqp", url: URL, queue, prefetch }),
            },
            note: "durable classic queue filled with persistent messages under publisher confirms; one consumer, basic.qos(prefetch), manual ack per message",
            cleanup: async () => {
              await channel.deleteQueue(queue);
            },
          };
        },
        async stop() {
          await connection.close().catch(() => {});
        },
      };
    },
  };
}
