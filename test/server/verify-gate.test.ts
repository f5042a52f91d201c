/** [AUTH-11] The gate that lets a few credential checks run at a time per host. */
import { expect, test } from "bun:test";
import { VerifyGate } from "../../src/server/abuse/verify-gate.ts";

/** A check that finishes when the test says so. */
const held = () => {
  let finish!: (value: string) => void;
  const done = new Promise<string>((resolve) => (finish = resolve));
  return { done, finish };
};
const settle = () => new Promise((resolve) => setImmediate(resolve));

test("[AUTH-11] two checks run at once per host; the third starts when one ends, in arrival order", async () => {
  const gate = new VerifyGate(2, 10);
  const checks = [held(), held(), held(), held()];
  const started: number[] = [];
  const answers = checks.map((check, i) => gate.run("10.0.0.1", () => (started.push(i), check.done)));
  await settle();
  expect(started).toEqual([0, 1]);
  checks[1]!.finish("b");
  await settle();
  expect(started).toEqual([0, 1, 2]);
  checks[0]!.finish("a");
  await settle();
  expect(started).toEqual([0, 1, 2, 3]);
  checks[2]!.finish("c");
  checks[3]!.finish("d");
  expect(await Promise.all(answers)).toEqual(["a", "b", "c", "d"]);
  expect(gate.hosts).toBe(0);
});

test("[AUTH-11] other hosts do not wait; one IPv6 /64 is one host", async () => {
  const gate = new VerifyGate(1, 10);
  const first = held();
  const started: string[] = [];
  void gate.run("2001:db8::1", () => (started.push("a"), first.done));
  void gate.run("2001:db8::2", async () => started.push("same /64"));
  void gate.run("10.0.0.2", async () => started.push("other"));
  await settle();
  expect(started).toEqual(["a", "other"]);
  first.finish("x");
  await settle();
  expect(started).toEqual(["a", "other", "same /64"]);
});

test("[AUTH-11] past the waiting limit a check is refused without running; a check that throws frees its turn", async () => {
  const gate = new VerifyGate(1, 1);
  const first = held();
  const running = gate.run("10.0.0.3", () => first.done);
  const waiting = gate.run("10.0.0.3", async () => {
    throw new Error("boom");
  });
  let ran = false;
  expect(await gate.run("10.0.0.3", async () => (ran = true))).toBeUndefined();
  expect(ran).toBe(false);
  first.finish("ok");
  expect(await running).toBe("ok");
  await expect(waiting).rejects.toThrow("boom");
  await settle();
  expect(await gate.run("10.0.0.3", async () => "after")).toBe("after");
  expect(gate.hosts).toBe(0);
});
