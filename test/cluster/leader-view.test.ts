/** [CLUSTER-1] A follower's idea of the leader, on a fake clock: the latest leadership wins, a silent leader is forgotten. */
import { expect, test } from "bun:test";
import { LeaderView, parseLeader, type Leader } from "../../src/cluster/leader-view.ts";

const clock = { t: 0, now: () => clock.t };
const leader = (node: string, since: number): Leader => ({ node, url: `http://${node}:8060`, token: `token-${node}-${since}`, since });

test("a leader is known from its first announcement until it has been silent past the bound", () => {
  clock.t = 0;
  const view = new LeaderView(clock, 2_000);
  const changes: (string | undefined)[] = [];
  view.onChange((l) => changes.push(l?.node));
  expect(view.current()).toBeUndefined();
  view.hear(leader("a", 1));
  expect(view.current()?.node).toBe("a");
  clock.t = 1_900;
  view.hear(leader("a", 1)); // its heartbeat: silence starts again
  clock.t = 3_800;
  expect(view.current()?.node).toBe("a");
  clock.t = 3_901;
  expect(view.current()).toBeUndefined();
  expect(changes).toEqual(["a", undefined]);
});

test("a new leadership replaces the old one; an older one still announcing (about to stop) does not", () => {
  clock.t = 0;
  const view = new LeaderView(clock, 2_000);
  view.hear(leader("a", 10));
  view.hear(leader("b", 20));
  expect(view.current()?.node).toBe("b");
  view.hear(leader("a", 10));
  expect(view.current()?.node).toBe("b");
  // Once b is silent, anyone announcing leads.
  clock.t = 2_001;
  view.hear(leader("a", 10));
  expect(view.current()?.node).toBe("a");
});

test("announcements off the wire: anything else is ignored", () => {
  expect(parseLeader(JSON.stringify(leader("a", 1)))).toEqual(leader("a", 1));
  expect(parseLeader("{nope")).toBeUndefined();
  expect(parseLeader(JSON.stringify({ node: "a", url: "u", token: 1, since: 1 }))).toBeUndefined();
});
