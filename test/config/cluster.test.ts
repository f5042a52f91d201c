/** [CLUSTER-1] NATS_URL makes a node of a cluster, only beside DATABASE_URL; its names and URL are checked at start-up. */
import { expect, test } from "bun:test";
import { hostname } from "node:os";
import { ConfigError, loadConfig } from "../../src/config.ts";

const PG = { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test" };
const clusterOf = (env: Record<string, string>) => loadConfig(env, "/tmp").cluster;

test("without NATS_URL there is no cluster: the single broker of before", () => {
  expect(clusterOf(PG)).toBeUndefined();
  expect(clusterOf({})).toBeUndefined();
});

test("NATS_URL with DATABASE_URL: a node named and advertised by default from the host and port", () => {
  const cluster = clusterOf({ ...PG, NATS_URL: "nats://127.0.0.1:4222", HTTP_PORT: "9001" });
  expect(cluster).toEqual({ natsUrl: "nats://127.0.0.1:4222", name: "pubsub", node: `${hostname()}-${process.pid}`, advertiseUrl: "http://127.0.0.1:9001" });
  expect(clusterOf({ ...PG, NATS_URL: "nats://n:4222", HOST: "0.0.0.0", NODE_NAME: "a.1", CLUSTER_NAME: "prod" })).toMatchObject({
    name: "prod",
    node: "a.1",
    advertiseUrl: `http://${hostname()}:8060`,
  });
  expect(clusterOf({ ...PG, NATS_URL: "nats://n:4222", CLUSTER_ADVERTISE_URL: "https://mq-1.internal:8443/" })?.advertiseUrl).toBe("https://mq-1.internal:8443");
});

test.each([
  [{ NATS_URL: "nats://127.0.0.1:4222" }, "NATS_URL (a cluster) needs DATABASE_URL"],
  [{ ...PG, NATS_URL: "127.0.0.1:4222" }, "NATS_URL must be a nats:// URL"],
  [{ ...PG, NATS_URL: "nats://n:4222", CLUSTER_NAME: "a.b" }, "CLUSTER_NAME must be letters"],
  [{ ...PG, NATS_URL: "nats://n:4222", NODE_NAME: "a b" }, "NODE_NAME must be letters"],
  [{ ...PG, NATS_URL: "nats://n:4222", CLUSTER_ADVERTISE_URL: "ftp://x" }, "CLUSTER_ADVERTISE_URL must be an http(s) URL"],
])("%o is refused, naming the variable", (env, message) => {
  expect(() => loadConfig(env as Record<string, string>, "/tmp")).toThrow(ConfigError);
  expect(() => loadConfig(env as Record<string, string>, "/tmp")).toThrow(message);
});
