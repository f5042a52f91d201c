/**
 * RabbitMQ at 127.0.0.1:5672 (guest/guest), already running; the harness only declares and
 * deletes its own exchanges and queues, with a random suffix per run. Scenario 10 restarts the
 * RabbitMQ application (`rabbitmqctl stop_app` / `start_app`) when it may and can.
 */
import type { ConfirmedPublishSpec, FanoutSpec } from "../load/specs.ts";
import { pidByName } from "../proc-stats.ts";
import { duBytes } from "./disk-usage.ts";
import { controlAvailable, stopAppThen, type CliResult } from "./rabbitmqctl.ts";
import type { BacklogSpec, ConsumedPublishSpec, Plan, Restarted, Target, TargetInstance, WorkQueueSpec } from "./target.ts";

const URL = "amqp://guest:guest@127.0.0.1:5672";
/** Where RabbitMQ keeps its data (the node's mnesia directory, message stores and queue indexes). */
const DATA_DIR = "/var/lib/rabbitmq/mnesia";
/** After start_app, the first AMQP connection is tried this often … */
const CONNECT_EVERY_MS = 5;
/** … for at most this long. */
const CONNECT_TIMEOUT_MS = 600_000;

/** amqplib is an optional dev dependency: without it, RabbitMQ is skipped, not a crash. */
const loadAmqp = async () => (await import("amqplib")).default;

export type RabbitmqOptions = {
  /** Scenario 10: restart the application with rabbitmqctl (it stops the shared service for a while). */
  restart: boolean;
};

export function rabbitmqTarget(options: RabbitmqOptions = { restart: true }): Target {
  let version = "";
  return {
    name: "rabbitmq",
    notApplicable: {
      connections: "not measured: scenario 11 is about pubsub's credential checks (issue 13), over WebSocket",
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
      const amqp = await loadAmqp();
      const open = async () => {
        const opened = await amqp.connect(URL, { timeout: 5_000 });
        // A restart closes this connection from the server's side: an unheard "error" would end the harness.
        opened.on("error", () => {});
        const openedChannel = await opened.createChannel();
        openedChannel.on("error", () => {});
        return { opened, openedChannel };
      };
      let { opened: connection, openedChannel: channel } = await open();
      /** start_app of the last restart, while it may still be finishing. */
      let startApp: Promise<CliResult> | null = null;
      const suffix = crypto.randomUUID().slice(0, 8);
      return {
        get pid() {
          return pidByName("beam.smp");
        },
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
        async consumedPublishPlan(prefetch): Promise<Plan<ConsumedPublishSpec>> {
          const exchange = `bench.direct.${suffix}`;
          const queue = `bench.consumed.${suffix}`;
          await channel.assertExchange(exchange, "direct", { durable: true, autoDelete: false });
          await channel.assertQueue(queue, { durable: true, autoDelete: false });
          await channel.bindQueue(queue, exchange, "bench");
          return {
            spec: {
              publish: { protocol: "amqp", url: URL, exchange, routingKey: "bench", persistent: true },
              reader: { role: "consumer", spec: { protocol: "amqp", url: URL, queue, prefetch } },
            },
            note:
              `durable classic queue, persistent messages, publisher confirms; one consumer on its own connection, ` +
              `basic.qos(${prefetch}), manual ack per message`,
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
        async backlogPlan(payloadBytes): Promise<Plan<BacklogSpec>> {
          const queue = `bench.backlog.${suffix}`;
          await channel.assertQueue(queue, { durable: true, autoDelete: false });
          return {
            spec: {
              prefill: { protocol: "amqp", url: URL, exchange: "", routingKey: queue, persistent: true, payloadBytes },
              consumer: async (prefetch) => ({ protocol: "amqp", url: URL, queue, prefetch }),
              depth: async () => ({ ready: (await channel.checkQueue(queue)).messageCount, unacked: null }),
            },
            note: "durable classic queue filled with persistent messages under publisher confirms; consumers with basic.qos(prefetch), manual ack per message",
            cleanup: async () => {
              await channel.deleteQueue(queue);
            },
          };
        },
        async restart(): Promise<Restarted> {
          if (!options.restart) throw new Error("not restarted: --backlog-restart-rabbitmq=false");
          const { problem, cliMs } = await controlAvailable();
          if (problem) throw new Error(`not restarted: ${problem}`);
          await connection.close().catch(() => {});
          let restarted;
          try {
            restarted = await stopAppThen(async (stoppedMs, invokeStartApp) => {
              const startedAt = performance.now();
              const starting = invokeStartApp();
              const readyMs = await firstConnection(amqp, startedAt, starting);
              return { stoppedMs, startedAt, readyMs };
            });
          } finally {
            // Whether or not it came back as measured, the plans' cleanup needs a channel again.
            await open()
              .then((reopened) => ({ opened: connection, openedChannel: channel } = reopened))
              .catch(() => {});
          }
          startApp = restarted.startApp;
          void startApp.then((start) => console.error(`bench: rabbitmqctl start_app returned after ${Math.round(start.ms)} ms (exit ${start.code})`));
          return {
            ...restarted.result,
            note:
              `rabbitmqctl stop_app took ${Math.round(restarted.result.stoppedMs)} ms; timed from invoking start_app to the first AMQP ` +
              `connection accepted; the Erlang VM stays up (an application restart, not a process restart); the CLI alone takes ~${Math.round(cliMs)} ms (rabbitmqctl ping)`,
          };
        },
        diskUsage: () => duBytes(DATA_DIR),
        async stop() {
          await connection.close().catch(() => {});
          await startApp;
        },
      };
    },
  };
}

/** Milliseconds from `startedAt` to the first AMQP connection RabbitMQ accepts while start_app runs. */
async function firstConnection(
  amqp: Awaited<ReturnType<typeof loadAmqp>>,
  startedAt: number,
  starting: Promise<CliResult>,
): Promise<number> {
  let failed: CliResult | null = null;
  void starting.then((start) => {
    if (start.code !== 0) failed = start;
  });
  while (performance.now() - startedAt < CONNECT_TIMEOUT_MS) {
    const problem = failed as CliResult | null;
    if (problem) throw new Error(`rabbitmqctl start_app failed (exit ${problem.code}: ${problem.output})`);
    try {
      const connection = await amqp.connect(URL, { timeout: 1_000 });
      const readyMs = performance.now() - startedAt;
      connection.on("error", () => {});
      await connection.close().catch(() => {});
      return readyMs;
    } catch {
      await Bun.sleep(CONNECT_EVERY_MS);
    }
  }
  throw new Error(`RabbitMQ accepted no AMQP connection within ${CONNECT_TIMEOUT_MS / 1000} s of start_app`);
}
