/**
 * [CLUSTER-1] Three nodes on one Postgres and the machine's NATS: every route and frame has the
 * same answer at every node, the leader's; what a follower says about its caller is believed only
 * with the leader's token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as natsConnect } from "nats";
import { api } from "../support/broker-process.ts";
import { NATS_URL, startCluster, type Cluster } from "../support/cluster.ts";
import { TestSocket } from "../support/ws-client.ts";
import { openSubscriber } from "../support/consumer.ts";
import { until } from "../support/until.ts";
import { connect } from "../../src/client/index.ts";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster(3);
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

describe("[CLUSTER-1] a follower forwards to the leader", () => {
  test("REST: a queue declared at one node is seen at every node, with the same answers", async () => {
    const [a, b] = cluster.followers();
    const leader = await cluster.leader();
    expect((await api(a!.url, "POST", "/queues", { name: "orders", durable: true })).status).toBe(200);
    for (const node of cluster.nodes) {
      const listed = await api(node.url, "GET", "/queues");
      expect(listed.status).toBe(200);
      expect(listed.body.map((q: { name: string }) => q.name)).toContain("orders");
      // Every queue shows its owner, from whichever node: the leader holds them all for now.
      for (const q of listed.body as { owner?: string }[]) expect(q.owner).toBe(leader.name);
      expect((await api(node.url, "GET", "/queues/orders")).body.owner).toBe(leader.name);
    }
    const published = await api(b!.url, "POST", "/publish", { exchange_name: "", key: "orders", payload: { n: 1 } });
    expect(published.status).toBe(200);
    // A refusal is the leader's, body and status alike.
    const missing = await Promise.all(cluster.nodes.map((n) => api(n.url, "GET", "/queues/nope")));
    for (const answer of missing) expect(answer).toEqual(missing[0]!);
    expect(missing[0]!.status).toBe(404);
    const direct = await fetch(`${leader.url}/queues/orders`);
    const forwarded = await fetch(`${a!.url}/queues/orders`);
    expect(forwarded.headers.get("x-pubsub-via")).toBe(a!.name);
    expect(direct.headers.get("x-pubsub-via")).toBeNull();
    expect((await forwarded.json()).messages).toBe(1);
    expect((await direct.json()).messages).toBe(1);
  });

  test("WebSocket: subscribe at one follower, publish at another, consume and ack at a third node", async () => {
    const [a, b] = cluster.followers();
    const leader = await cluster.leader();
    expect((await api(leader.url, "POST", "/queues", { name: "live" })).status).toBe(200);
    const subscriber = await openSubscriber(a!.wsUrl, "live");
    const publisher = await TestSocket.open(b!.wsUrl);
    publisher.send({ type: "PUBLISH", payload: { exchange_name: "", key: "live", payload: { hello: "cluster" }, id: "p1" } });
    await publisher.until((frames) => frames.some((f) => f.type === "CONFIRM" && f.payload.id === "p1"));
    await subscriber.untilMessages(1);
    expect(subscriber.messages()[0].body).toEqual({ hello: "cluster" });
    // A bad frame is answered with the leader's ERROR, and the socket stays.
    publisher.send("{nope");
    await publisher.until((frames) => frames.some((f) => f.type === "ERROR" && f.payload.code === "BAD_JSON"));
    expect(publisher.closeCode).toBeUndefined();
    subscriber.close();
    publisher.close();

    // The client, given every node: work-queue delivery with acks, through whichever node it reached.
    const client = connect(cluster.nodes.map((n) => n.url));
    await client.queues.declare({ name: "work", durable: true });
    const got: unknown[] = [];
    const consumer = await client.consume("work", async (delivery) => {
      got.push(delivery.body);
      await delivery.ack();
    });
    for (let i = 0; i < 20; i++) await client.publish("", "work", { i });
    const deadline = Date.now() + 10_000;
    while (got.length < 20 && Date.now() < deadline) await Bun.sleep(20);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
    await consumer.close();
    // Acked through the forwarded socket: nothing left at the leader.
    const deadline2 = Date.now() + 5_000;
    let left = -1;
    while (Date.now() < deadline2 && left !== 0) {
      const { body } = await api(leader.url, "GET", "/queues/work");
      left = body.messages + body.unacked;
    }
    expect(left).toBe(0);
    await client.close();
  });

  test("[RELAY-1] frames a client sends and closes at once, before the follower's own socket to the leader is open, all reach the leader", async () => {
    const [a] = cluster.followers();
    const leader = await cluster.leader();
    expect((await api(leader.url, "POST", "/queues", { name: "sent-then-closed" })).status).toBe(200);
    const COUNT = 50;
    for (let round = 0; round < 3; round++) {
      const ws = new WebSocket(a!.wsUrl);
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error("could not connect"));
      });
      // Sent in the same turn as the open: the follower still waits for its socket to the leader.
      for (let n = 0; n < COUNT; n++) ws.send(JSON.stringify({ type: "PUBLISH", payload: { exchange_name: "", key: "sent-then-closed", payload: { round, n } } }));
      ws.close();
      await until(async () => (await api(leader.url, "GET", "/queues/sent-then-closed")).body.messages === (round + 1) * COUNT, 5_000, `round ${round}'s publishes at the leader`);
    }
  });

  test("[RELAY-2] what the leader sent a follower's client before closing it reaches the client, in order, before the close", async () => {
    const leader = await cluster.leader();
    const [a] = cluster.followers();
    await api(leader.url, "POST", "/queues", { name: "relay-close" });
    const subscriber = await openSubscriber(a!.wsUrl, "relay-close");
    const listed = await api(leader.url, "GET", "/connections?queue=relay-close");
    expect(listed.body.connections).toHaveLength(1);
    const COUNT = 200;
    // The follower stopped: the frames and then the close pile up, and it reads them in one turn.
    a!.proc.kill("SIGSTOP");
    try {
      for (let n = 0; n < COUNT; n += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => api(leader.url, "POST", "/publish", { exchange_name: "", key: "relay-close", payload: n + i })));
      }
      expect((await api(leader.url, "DELETE", `/connections/${listed.body.connections[0].id}`)).status).toBe(200);
    } finally {
      a!.proc.kill("SIGCONT");
    }
    expect(await subscriber.untilClosed(10_000)).toBe(4010);
    const messages = subscriber.messages();
    // Every one, in the order the leader sent them (its seqs), before the close.
    expect(messages.map((m) => m.seq)).toEqual(messages.map((m) => m.seq as number).sort((x, y) => x - y));
    expect(messages.map((m) => m.body as number).sort((x, y) => x - y)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });

  test("[SLOW-1] a subscriber at a follower that stops reading is closed there (4008); the leader drops its subscription", async () => {
    const leader = await cluster.leader();
    const [a] = cluster.followers();
    await api(leader.url, "POST", "/queues", { name: "slow" });
    const slow = await openSubscriber(a!.wsUrl, "slow");
    const reading = slow.ws as unknown as { pause(): boolean; resume(): boolean }; // Bun's WebSocket client
    expect(reading.pause()).toBe(true);
    const payload = "y".repeat(256 * 1024);
    let published = 0;
    while ((await api(leader.url, "GET", "/queues/slow")).body.subscribers === 1) {
      // 16 MiB (SUBSCRIBER_MAX_BUFFER_BYTES) plus what the kernel buffers: well under 400 of these.
      if (published === 400) throw new Error("the paused subscriber was never closed");
      await api(leader.url, "POST", "/publish", { exchange_name: "", key: "slow", payload: `${published}:${payload}` });
      published++;
    }
    reading.resume();
    expect(await slow.untilClosed(10_000)).toBe(4008);
    const got = slow.messages().map((m) => (m.body as string).split(":")[0]);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => String(i)));
  });

  test("/overview and /metrics, at any node, show the cluster: its name, the leader, every node heard from", async () => {
    const leader = await cluster.leader();
    const [a] = cluster.followers();
    const overview = await until(async () => {
      const { body } = await api(a!.url, "GET", "/overview");
      return body.cluster?.nodes.length === 3 ? body : undefined;
    }, 5_000, "every node in the overview");
    expect(overview.node).toBe(leader.name);
    expect(overview.cluster.name).toBe(cluster.name);
    expect(overview.cluster.leader).toBe(leader.name);
    expect(overview.cluster.nodes.map((n: { node: string; role: string }) => `${n.node}:${n.role}`).sort()).toEqual(
      cluster.nodes.map((n) => `${n.name}:${n === leader ? "leader" : "follower"}`).sort(),
    );
    const text = await (await fetch(`${a!.url}/metrics`)).text();
    expect(text).toContain(`pubsub_cluster_nodes{cluster="${cluster.name}"} 3`);
    expect(text).toContain(`pubsub_cluster_node_info{cluster="${cluster.name}",node="${leader.name}",role="leader"} 1`);
  });

  test("a forwarded caller's address is believed only with the leader's token", async () => {
    const leader = await cluster.leader();
    // The token, as a follower learns it: from the leader's announcement on NATS.
    const nc = await natsConnect({ servers: NATS_URL });
    const sub = nc.subscribe(`pubsub.${cluster.name}.leader`, { max: 1 });
    let token = "";
    for await (const message of sub) token = JSON.parse(new TextDecoder().decode(message.data)).token;
    await nc.close();
    expect(token.length).toBeGreaterThan(20);
    // No users configured: the guest may act from loopback only (RabbitMQ's rule).
    const from = (headers: Record<string, string>) => fetch(`${leader.url}/queues`, { headers }).then((r) => r.status);
    expect(await from({ "x-pubsub-forwarded-for": "203.0.113.9" })).toBe(200);
    expect(await from({ "x-pubsub-cluster-token": "forged", "x-pubsub-forwarded-for": "203.0.113.9" })).toBe(200);
    expect(await from({ "x-pubsub-cluster-token": token, "x-pubsub-forwarded-for": "203.0.113.9" })).toBe(401);
    // A WebSocket ticket cannot be made up either.
    const forged = await fetch(`${leader.url}/ws`, { headers: { "x-pubsub-cluster-token": token, "x-pubsub-cluster-ticket": "made-up", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
    expect(forged.status).toBe(401);
  });
});
