/**
 * [CLUSTER-1] The cluster crash matrix: three nodes, a publisher confirming over HTTP at random
 * nodes and a consumer acking through a client given every node, while the leader (every other
 * round) or a random node is killed with SIGKILL at a random moment and started again, 20 rounds. Every
 * confirmed message is delivered; nothing is delivered that was not published; a message comes
 * twice only marked `redelivered`.
 */
import { afterAll, expect, test } from "bun:test";
import { api } from "../support/broker-process.ts";
import { alive, startCluster, type Cluster } from "../support/cluster.ts";
import { until } from "../support/until.ts";
import { seeded } from "../support/seeded.ts";
import { connect } from "../../src/client/index.ts";

const ROUNDS = 20;
let cluster: Cluster | undefined;
afterAll(async () => {
  await cluster?.close();
});


test(`[CLUSTER-1] ${ROUNDS} rounds of kill -9 at a random node: nothing confirmed is lost, nothing invented, duplicates only redelivered`, async () => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
  console.log(`[CLUSTER-1] crash matrix seed ${seed} (CRASH_SEED=${seed} replays it)`);
  const rand = seeded(seed);
  cluster = await startCluster(3);
  const nodes = cluster.nodes;
  const pick = () => nodes.filter(alive)[Math.floor(rand() * nodes.filter(alive).length)]!;
  expect((await api(nodes[0]!.url, "POST", "/queues", { name: "matrix", durable: true })).status).toBe(200);

  const attempted = new Set<number>();
  const confirmed = new Set<number>();
  let publishing = true;
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      attempted.add(i);
      // The same message_id on every try: a try that was stored but not answered is not stored twice.
      for (;;) {
        const answer = await api(pick().url, "POST", "/publish", { exchange_name: "", key: "matrix", payload: { i }, message_id: `m${i}` }).catch(() => undefined);
        if (answer?.status === 200) {
          confirmed.add(i);
          break;
        }
        if (!publishing) break;
        await Bun.sleep(20);
      }
      await Bun.sleep(5);
    }
  })();

  const deliveries = new Map<number, number>();
  const unmarked: number[] = [];
  const client = connect(nodes.map((n) => n.url), { reconnect: { initialDelayMs: 50, maxDelayMs: 300, maxAttempts: 100_000 }, heartbeatMs: 2_000 });
  await client.consume<{ i: number }>(
    "matrix",
    async (delivery) => {
      const count = deliveries.get(delivery.body.i) ?? 0;
      if (count > 0 && !delivery.redelivered) unmarked.push(delivery.body.i);
      deliveries.set(delivery.body.i, count + 1);
      await delivery.ack().catch(() => undefined);
    },
    { prefetch: 50 },
  );

  const kinds = { leader: 0, follower: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    await Bun.sleep(150 + Math.floor(rand() * 500));
    const leader = await cluster.leader(20_000);
    // Every other round the leader (a failover), otherwise any node.
    const victim = round % 2 === 1 ? leader : pick();
    kinds[victim === leader ? "leader" : "follower"]++;
    await victim.kill9();
    await victim.restart();
    await cluster.leader(20_000);
  }
  publishing = false;
  await publisher;
  const leader = await cluster.leader(20_000);
  await until(() => [...confirmed].every((i) => deliveries.has(i)), 60_000, "every confirmed message delivered");
  await client.close();

  const invented = [...deliveries.keys()].filter((i) => !attempted.has(i));
  const lost = [...confirmed].filter((i) => !deliveries.has(i));
  const duplicates = [...deliveries.values()].filter((n) => n > 1).length;
  console.log(
    `[CLUSTER-1] crash matrix: ${ROUNDS} kills (${kinds.leader} leaders, ${kinds.follower} followers); ` +
      `${confirmed.size} confirmed of ${attempted.size} published, ${deliveries.size} delivered, ${duplicates} redelivered twice or more, 0 lost (leader at the end: ${leader.name})`,
  );
  expect(lost).toEqual([]);
  expect(invented).toEqual([]);
  expect(unmarked).toEqual([]);
  expect(confirmed.size).toBeGreaterThan(ROUNDS);
}, 240_000);
