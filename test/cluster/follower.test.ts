/**
 * [CLUSTER-1] A follower (src/cluster/follower.ts, in-process) in front of leaders that misbehave:
 * none known, one that refuses the connection (nothing sent: 503 NO_LEADER, safe to retry), and one
 * that takes the request and drops the connection without an answer (502 LEADER_LOST: it may have
 * been handled, so the client must not retry it blindly).
 */
import { afterAll, expect, test } from "bun:test";
import { Follower } from "../../src/cluster/follower.ts";
import { LeaderView } from "../../src/cluster/leader-view.ts";
import { freePort } from "../support/cluster.ts";

const leaders = new LeaderView({ now: () => performance.now() }, 60_000);
const logged: string[] = [];
const follower = new Follower({ host: "127.0.0.1", port: 0, node: "f", leaders, maxPayloadBytes: 1 << 20, maxBufferBytes: 1 << 20, log: (line) => logged.push(line) });
const url = `http://127.0.0.1:${follower.port}`;
// A leader that reads the request and closes the connection without a word.
const dropper = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => socket.terminate() } });
afterAll(async () => {
  dropper.stop(true);
  await follower.stop();
});

const publish = () => fetch(`${url}/publish`, { method: "POST", body: JSON.stringify({ exchange_name: "", key: "q", payload: 1 }) });

test("[CLUSTER-1] no leader known, or one that refuses the connection: 503 NO_LEADER with Retry-After", async () => {
  const none = await publish();
  expect(none.status).toBe(503);
  expect(none.headers.get("retry-after")).toBe("1");
  expect((await none.json()).error.code).toBe("NO_LEADER");
  leaders.hear({ node: "gone", url: `http://127.0.0.1:${freePort()}`, token: "t1", since: 1 });
  const refused = await publish();
  expect(refused.status).toBe(503);
  const body = await refused.json();
  expect(body.error.code).toBe("NO_LEADER");
  // The leader's address is for the log, not for callers.
  expect(body.error.message).not.toContain("127.0.0.1");
});

test("[CLUSTER-1] a leader that took the request and went away: 502 LEADER_LOST, logged with where it went", async () => {
  leaders.hear({ node: "dropper", url: `http://127.0.0.1:${dropper.port}`, token: "t2", since: 2 });
  const lost = await publish();
  expect(lost.status).toBe(502);
  const body = await lost.json();
  expect(body.error.code).toBe("LEADER_LOST");
  expect(body.error.message).toContain("may or may not have been handled");
  expect(logged.some((line) => line.includes(`127.0.0.1:${dropper.port}`))).toBe(true);
});
