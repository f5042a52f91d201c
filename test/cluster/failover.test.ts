/**
 * [CLUSTER-1] Failover, by killing processes: kill -9 the leader and a follower takes over from
 * Postgres; no confirmed message is lost, duplicates come only as `redelivered`; a client given every
 * node resumes by itself. A leader whose lock another session took stops (the fence), and a killed
 * node rejoins as a follower.
 */
import { afterEach, expect, test } from "bun:test";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api } from "../support/broker-process.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { until } from "../support/until.ts";
import { connect } from "../../src/client/index.ts";
import { LOCK_KEY } from "../../src/store/postgres/database-lock.ts";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** POST /publish at the first node that takes it (a failover answers 503 NO_LEADER or refuses the connection meanwhile). */
async function publishSomewhere(urls: string[], body: unknown, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; ; i++) {
    const url = urls[i % urls.length]!;
    const answer = await api(url, "POST", "/publish", body).catch(() => undefined);
    if (answer?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`no node took the publish: last answer ${JSON.stringify(answer)}`);
    await Bun.sleep(50);
  }
}

test("[CLUSTER-1] kill -9 the leader: a follower restores the queue, delivery resumes, nothing confirmed is lost", async () => {
  cluster = await startCluster(3);
  const leader = await cluster.leader();
  const followers = cluster.followers();
  const urls = followers.map((n) => n.url);
  expect((await api(urls[0]!, "POST", "/queues", { name: "jobs", durable: true })).status).toBe(200);
  for (let i = 0; i < 100; i++) await publishSomewhere(urls, { exchange_name: "", key: "jobs", payload: { i } });

  // A consumer given the two followers' URLs, acking slowly enough that the kill finds messages out with it.
  const client = connect(urls, { reconnect: { initialDelayMs: 50, maxDelayMs: 250, maxAttempts: 1000 } });
  const seen = new Map<number, number>();
  const duplicatesNotMarked: number[] = [];
  await client.consume<{ i: number }>("jobs", async (delivery) => {
    const count = seen.get(delivery.body.i) ?? 0;
    if (count > 0 && !delivery.redelivered) duplicatesNotMarked.push(delivery.body.i);
    seen.set(delivery.body.i, count + 1);
    await Bun.sleep(2);
    await delivery.ack().catch(() => undefined);
  }, { prefetch: 20 });
  await until(() => seen.size >= 10, 10_000, "the first deliveries");

  const killedAt = performance.now();
  await leader.kill9();
  const next = await cluster.leader(20_000);
  expect(next.name).not.toBe(leader.name);
  // Publishes confirmed after the failover, through every node left.
  const left = cluster.nodes.filter((n) => n !== leader).map((n) => n.url);
  for (let i = 100; i < 150; i++) await publishSomewhere(left, { exchange_name: "", key: "jobs", payload: { i } });
  const failoverMs = performance.now() - killedAt;
  await until(() => seen.size === 150, 30_000, "every confirmed message delivered");
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i));
  expect(duplicatesNotMarked).toEqual([]);
  // Acked at the new leader: the queue drains.
  await until(async () => {
    const { body } = await api(next.url, "GET", "/queues/jobs");
    return body.messages === 0 && body.unacked === 0;
  }, 10_000, "the queue to drain");
  await client.close();
  console.log(`[CLUSTER-1] failover: kill -9 → 50 publishes confirmed by the new leader ${Math.round(failoverMs)} ms`);

  // The killed node comes back as a follower of the new leader.
  await leader.restart();
  expect(leader.leads()).toBe(false);
  const listed = await until(async () => {
    const answer = await api(leader.url, "GET", "/queues").catch(() => undefined);
    return answer?.status === 200 ? answer : undefined;
  }, 10_000, "the restarted node to forward");
  expect(listed.body.map((q: { name: string }) => q.name)).toContain("jobs");
}, 90_000);

test("[CLUSTER-1] a leader whose lock another session took stops, and a follower leads", async () => {
  cluster = await startCluster(2);
  const leader = await cluster.leader();
  const [follower] = cluster.followers();
  const admin = new SQL({ url: cluster.database.url, max: 1 });
  try {
    // Cut every session of the database (the leader's lock goes with its session), then hold the lock here.
    await admin.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
    await until(async () => (await admin.unsafe(`select pg_try_advisory_lock(${LOCK_KEY}) as locked`))[0].locked === true, 5_000, "the lock");
    // The old leader proves its lock at its next heartbeat, finds it held, and stops.
    expect(await Promise.race([leader.proc.exited, Bun.sleep(10_000).then(() => "still running")])).toBe(3);
    expect(leader.output()).toContain("another node holds the database lock");
    expect(follower!.leads()).toBe(false);
  } finally {
    await admin.close();
  }
  // The lock is free again: the follower takes it and leads.
  const next = await cluster.leader(20_000);
  expect(next.name).toBe(follower!.name);
  expect((await api(next.url, "GET", "/queues")).status).toBe(200);
}, 60_000);

test("[CLUSTER-1] a user made at the old leader (USERS_FILE) is known to the follower that takes over", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pubsub-cluster-users-"));
  try {
    cluster = await startCluster(2, { USERS_FILE: join(dir, "users.json") });
    const leader = await cluster.leader();
    const [follower] = cluster.followers();
    // The first user and its key, made by the loopback guest through the follower (no key exists yet).
    expect((await api(follower!.url, "PUT", "/users/ops", { admin: true })).status).toBe(200);
    const made = await api(follower!.url, "POST", "/users/ops/keys");
    expect(made.status).toBe(200);
    const bearer = { authorization: `Bearer ${made.body.key}` };
    expect((await api(follower!.url, "GET", "/queues", undefined, bearer)).status).toBe(200);
    await leader.kill9();
    const next = await cluster.leader(20_000);
    expect(next.name).toBe(follower!.name);
    // The new leader read the file when it took over, not when it started following.
    expect((await api(next.url, "GET", "/queues", undefined, bearer)).status).toBe(200);
    expect((await api(next.url, "GET", "/queues")).status).toBe(401);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("[CLUSTER-1] SIGTERM stops a follower cleanly", async () => {
  cluster = await startCluster(2);
  const [follower] = cluster.followers();
  expect(await follower!.stop()).toBe(0);
  expect(follower!.output()).toContain("while following: stopping");
}, 60_000);
