/**
 * [CLUSTER-1] The parts a cluster runs on go away and come back: NATS (the link) and Postgres (the
 * state and the lock), each a server of the test's own that it kills; and a rolling restart of
 * every node while a publisher confirms. Nothing answered OK is lost; the broker serves again by
 * itself; how long publishes are refused is measured and bounded.
 */
import { afterEach, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { api } from "../support/broker-process.ts";
import { alive, freePort, startCluster, type Cluster } from "../support/cluster.ts";
import { until } from "../support/until.ts";
import { TestSocket } from "../support/ws-client.ts";
import { ackEverything, openSubscriber } from "../support/consumer.ts";
import { startInstance, type PostgresInstance } from "../postgres/instance.ts";

let cluster: Cluster | undefined;
let nats: Subprocess | undefined;
let pg: PostgresInstance | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  nats?.kill("SIGKILL");
  await nats?.exited;
  nats = undefined;
  await pg?.destroy();
  pg = undefined;
});

async function startNats(port: number): Promise<Subprocess> {
  const proc = Bun.spawn(["nats-server", "-a", "127.0.0.1", "-p", String(port)], { stdout: "ignore", stderr: "ignore" });
  await until(async () => {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).catch(() => undefined);
    socket?.end();
    return socket !== undefined;
  }, 10_000, "nats-server to listen");
  return proc;
}

const durablePublish = (url: string, queue: string, payload: unknown) => api(url, "POST", "/publish", { exchange_name: "", key: queue, payload }).catch(() => ({ status: 0, body: null }));

test("[CLUSTER-1] NATS killed: followers answer 503 NO_LEADER once the leader is silent, open sockets and the leader keep working; NATS back, followers forward again", async () => {
  const port = freePort();
  nats = await startNats(port);
  cluster = await startCluster(2, { NATS_URL: `nats://127.0.0.1:${port}` });
  const leader = await cluster.leader();
  const [follower] = cluster.followers();
  await api(leader.url, "POST", "/queues", { name: "feed" });
  const subscriber = await openSubscriber(follower!.wsUrl, "feed");

  nats.kill("SIGKILL");
  await nats.exited;
  const refused = await until(async () => {
    const answer = await api(follower!.url, "GET", "/queues");
    return answer.status === 503 ? answer : undefined;
  }, 10_000, "the follower to forget the silent leader");
  expect(refused.body.error.code).toBe("NO_LEADER");
  // The leader serves its own clients; the socket the follower passed on before is a socket to the leader, not NATS.
  expect((await durablePublish(leader.url, "feed", "during")).status).toBe(200);
  await subscriber.untilMessages(1);
  expect(subscriber.messages()[0].body).toBe("during");

  nats = await startNats(port);
  await until(async () => (await api(follower!.url, "GET", "/queues")).status === 200, 15_000, "the follower to hear the leader again");
  expect((await durablePublish(follower!.url, "feed", "after")).status).toBe(200);
  await subscriber.untilMessages(2);
  expect(leader.leads() && alive(leader)).toBe(true);
  subscriber.close();
}, 60_000);

test("[CLUSTER-1] Postgres stopped and started: durable publishes are refused (503) meanwhile at every node, and afterwards one node leads with everything confirmed", async () => {
  pg = await startInstance();
  cluster = await startCluster(2, { DATABASE_URL: pg.url });
  const first = await cluster.leader();
  const [follower] = cluster.followers();
  expect((await api(follower!.url, "POST", "/queues", { name: "kept", durable: true })).status).toBe(200);
  for (let i = 0; i < 20; i++) expect((await durablePublish(follower!.url, "kept", i)).status).toBe(200);

  await pg.stop("immediate");
  for (const node of [first, follower!]) {
    const answer = await durablePublish(node.url, "kept", "while down");
    expect(answer.status).toBe(503);
  }
  await pg.start();
  // Either the leader takes its lock again, or a follower takes it first and the old leader stops (exit 3).
  const leader = await until(async () => {
    const node = await cluster!.leader(20_000);
    return (await durablePublish(node.url, "kept", 20)).status === 200 ? node : undefined;
  }, 30_000, "durable publishes to work again");
  expect(cluster.nodes.filter((n) => alive(n) && n.leads())).toEqual([leader]);
  if (leader !== first) expect(first.proc.exitCode ?? (await first.proc.exited)).toBe(3);
  // Everything answered OK is there, in order, once.
  const consumer = await TestSocket.open(leader.wsUrl);
  consumer.send({ type: "CONSUME", payload: { queue_name: "kept", prefetch: 100 } });
  await consumer.untilMessages(21, 10_000);
  expect(consumer.messages().map((m) => m.body)).toEqual(Array.from({ length: 21 }, (_, i) => i));
  consumer.close();
}, 90_000);

test("[CLUSTER-1] rolling restart of all three nodes (SIGTERM, start again, one by one) under confirmed publishes: each is confirmed within the failover window, none lost", async () => {
  cluster = await startCluster(3);
  const nodes = cluster.nodes;
  expect((await api(nodes[0]!.url, "POST", "/queues", { name: "rolling", durable: true })).status).toBe(200);
  let publishing = true;
  const confirmed: number[] = [];
  let longestRefusalMs = 0;
  let refusals = 0;
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      const firstTry = performance.now();
      for (let attempt = 0; ; attempt++) {
        const target = nodes.filter(alive)[attempt % Math.max(1, nodes.filter(alive).length)];
        const answer = target === undefined ? undefined : await api(target.url, "POST", "/publish", { exchange_name: "", key: "rolling", payload: i, message_id: `r${i}` }).catch(() => undefined);
        if (answer?.status === 200) break;
        refusals++;
        await Bun.sleep(20);
      }
      longestRefusalMs = Math.max(longestRefusalMs, performance.now() - firstTry);
      confirmed.push(i);
    }
  })();
  for (const node of nodes) {
    await Bun.sleep(300);
    const wasLeader = node.leads();
    expect(await node.stop()).toBe(0);
    await node.restart();
    if (wasLeader) await cluster.leader(20_000);
  }
  await Bun.sleep(300);
  publishing = false;
  await publisher;
  const leader = await cluster.leader();
  const consumer = await TestSocket.open(leader.wsUrl);
  // [TEST-ROLL-1] Acked as they come: without acks prefetch capped what came at 1,000, and a run on
  // a fast machine confirmed more (931 in one, and 1 run in 4 timed out waiting for the rest).
  ackEverything(consumer);
  consumer.send({ type: "CONSUME", payload: { queue_name: "rolling", prefetch: 1000 } });
  await consumer.untilMessages(confirmed.length, 15_000);
  const got = [...new Set(consumer.messages().map((m) => m.body as number))].sort((a, b) => a - b);
  expect(got).toEqual(confirmed);
  consumer.close();
  console.log(`[CLUSTER-1] rolling restart: ${confirmed.length} confirmed, ${refusals} refused tries, longest wait for one confirm ${Math.round(longestRefusalMs)} ms`);
  // The README's failover window: a publish is confirmed within 5 s of its first try.
  expect(longestRefusalMs).toBeLessThan(5_000);
}, 120_000);
