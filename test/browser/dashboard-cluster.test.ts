/**
 * [CLUSTER-1] The dashboard of a cluster, opened at a follower in headless Chromium: the page, its
 * API calls and its live feed all pass through the follower to the leader; the overview names the
 * cluster, its leader and every node.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { until } from "../support/until.ts";
import { launchChromium } from "./support/chromium.ts";
import { check, openDashboard } from "./support/dashboard.ts";

let cluster: Cluster;
let browser: Browser;
beforeAll(async () => {
  [cluster, browser] = await Promise.all([startCluster(2), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await cluster?.close();
});

test("[CLUSTER-1] at a follower, the overview shows the cluster and goes live", async () => {
  const leader = await cluster.leader();
  const [follower] = cluster.followers();
  const watched = await openDashboard(browser, follower!.url, "/");
  const line = watched.page.getByTestId("cluster");
  await until(async () => (await line.textContent())?.includes(follower!.name), 10_000, "both nodes on the page");
  const text = (await line.textContent())!.replace(/\s+/g, " ");
  expect(text).toContain(`Cluster ${cluster.name}: ${leader.name} leads`);
  expect(text).toContain(`${leader.name} (leader)`);
  expect(text).toContain(`${follower!.name} (follower)`);
  await until(async () => (await watched.page.getByTestId("live-state").textContent()) === "live", 10_000, "the live feed through the follower");
  const { violations, problems, foreign } = await check(watched, "cluster-overview");
  expect(violations).toEqual([]);
  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
}, 30_000);

test("[CLUSTER-1] at a follower, a queue's page names its owner", async () => {
  const leader = await cluster.leader();
  const [follower] = cluster.followers();
  const declared = await fetch(`${follower!.url}/queues`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "owned" }) });
  expect(declared.status).toBe(200);
  const watched = await openDashboard(browser, follower!.url, "/queues/owned");
  await until(async () => (await watched.page.getByTestId("owner").textContent()) === leader.name, 10_000, "the owner on the queue's page");
  const { violations, problems, foreign } = await check(watched, "cluster-queue");
  expect(violations).toEqual([]);
  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
}, 30_000);
