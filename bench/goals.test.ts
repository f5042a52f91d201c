/** "Where we stand" is computed from the rows: each goal's verdict follows its numbers, and a missing row is "not measured". */
import { expect, test } from "bun:test";
import { checkGoals, verdictOf, whereWeStand } from "./goals.ts";
import type { Row } from "./row.ts";
import { consumedPublishLabel } from "./scenarios/consumed-publish-label.ts";

const row = (scenario: string, target: string, value: number, unit: Row["unit"] = "req/s"): Row => ({
  scenario,
  target,
  unit,
  value,
  runs: [value],
  notes: [],
});
const goal = (rows: Row[], start: string) => checkGoals(rows).find((result) => result.goal.startsWith(start))!;

test("verdicts: a failed condition wins, a missing number leaves the goal not measured", () => {
  expect(verdictOf([true, true])).toBe("met");
  expect(verdictOf([true, false])).toBe("not met");
  expect(verdictOf([null, false])).toBe("not met");
  expect(verdictOf([true, null])).toBe("not measured");
  expect(verdictOf([])).toBe("not measured");
});

test("durable HTTP publish with a subscriber: pubsub ≥ 2× RabbitMQ with a consumer", () => {
  const scenario = consumedPublishLabel(64);
  const durable = "2. confirmed HTTP publish, 64 in flight → durable queue";
  const met = goal([row(scenario, "pubsub", 20_000), row(scenario, "rabbitmq", 9_000), row(durable, "pubsub", 24_000), row(durable, "rabbitmq", 8_000)], "Durable HTTP publish with a subscriber");
  expect(met.issue).toBe(12);
  expect(met.verdict).toBe("met");
  expect(met.detail).toContain("= 2.22×");
  expect(met.detail).toContain("without a reader (scenario 2's durable row) 3.00× RabbitMQ");
  expect(goal([row(scenario, "pubsub", 15_000), row(scenario, "rabbitmq", 9_000)], "Durable HTTP").verdict).toBe("not met");
  expect(goal([row(scenario, "pubsub", 15_000)], "Durable HTTP").verdict).toBe("not measured");
  // Scenario 2's durable row without a reader is not this goal's number.
  expect(goal([row(durable, "pubsub", 24_000), row(durable, "rabbitmq", 8_000)], "Durable HTTP").verdict).toBe("not measured");
});

test("fan-out to 1 subscriber needs both ≥ 0.9× raw and ≥ NATS core", () => {
  const one = "3. delivered msg/s, fan-out to 1 subscriber, transient";
  const ten = "3. delivered msg/s, fan-out to 10 subscribers, transient";
  const rows = [row(one, "raw", 100, "msg/s"), row(one, "pubsub", 95, "msg/s"), row(one, "nats", 90, "msg/s"), row(ten, "pubsub", 1, "msg/s")];
  expect(goal(rows, "Fan-out to 1 subscriber").verdict).toBe("met");
  rows[2] = row(one, "nats", 100, "msg/s");
  expect(goal(rows, "Fan-out to 1 subscriber").verdict).toBe("not met");
  expect(goal(rows, "Fan-out to 10 subscribers").verdict).toBe("not measured");
});

test("[BATCH-1] the batched row may meet fan-out's NATS condition, never its raw one", () => {
  const one = "3. delivered msg/s, fan-out to 1 subscriber, transient";
  const rows = [row(one, "raw", 100, "msg/s"), row(one, "pubsub", 95, "msg/s"), row(one, "nats", 99, "msg/s")];
  expect(goal(rows, "Fan-out to 1 subscriber").verdict).toBe("not met");
  rows.push(row(one, "pubsub, batched", 120, "msg/s"));
  const met = goal(rows, "Fan-out to 1 subscriber");
  expect(met.verdict).toBe("met");
  expect(met.detail).toContain("batched 120 msg/s = 1.20× raw, 1.21× NATS");
  rows[1] = row(one, "pubsub", 80, "msg/s");
  expect(goal(rows, "Fan-out to 1 subscriber").verdict).toBe("not met");
});

test("the section keeps the heading RESULTS.md's generated sections are found by", () => {
  expect(whereWeStand([])).toStartWith("## Where we stand");
  expect(checkGoals([]).every((result) => result.verdict === "not measured")).toBe(true);
});
