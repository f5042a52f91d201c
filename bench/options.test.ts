/** The backlog scenario is long: it runs only when asked for, and its flags are bounded. */
import { expect, test } from "bun:test";
import { parseOptions } from "./options.ts";

test("the default scenarios leave out the backlog; --scenarios=backlog selects it", () => {
  expect(parseOptions([]).scenarios).not.toContain("backlog");
  expect(parseOptions(["--scenarios=backlog"]).scenarios).toEqual(["backlog"]);
});

test("backlog flags: defaults, --quick, and bounds", () => {
  const defaults = parseOptions([]);
  expect(defaults.backlogMessages).toBe(1_000_000);
  expect(defaults.backlogPayloadBytes).toBe(1024);
  expect(defaults.backlogPhaseMs).toBe(600_000);
  expect(defaults.backlogRestartRabbitmq).toBe(true);
  expect(parseOptions(["--quick"]).backlogMessages).toBe(20_000);
  const given = parseOptions(["--backlog-messages=50000", "--backlog-minutes=2", "--backlog-restart-rabbitmq=false"]);
  expect([given.backlogMessages, given.backlogPhaseMs, given.backlogRestartRabbitmq]).toEqual([50_000, 120_000, false]);
  expect(() => parseOptions(["--backlog-messages=10"])).toThrow("--backlog-messages");
  expect(() => parseOptions(["--backlog-minutes=100"])).toThrow("--backlog-minutes");
});

test("the baseline target runs only when named, and is started by --baseline-cmd", () => {
  expect(parseOptions([]).targets).not.toContain("pubsub-baseline");
  expect(parseOptions([]).targets).toContain("pubsub-auth");
  const given = parseOptions(["--targets=pubsub,pubsub-baseline", "--baseline-cmd=bun /tmp/old/src/main.ts"]);
  expect(given.targets).toEqual(["pubsub", "pubsub-baseline"]);
  expect(given.baselineCommand).toEqual(["bun", "/tmp/old/src/main.ts"]);
  expect(parseOptions([]).baselineCommand).toBeNull();
});

test("connections scenario flags: defaults, --quick, and bounds", () => {
  expect(parseOptions([]).scenarios).toContain("connections");
  expect([parseOptions([]).connections, parseOptions([]).connectConcurrency]).toEqual([2_000, 50]);
  expect(parseOptions(["--quick"]).connections).toBe(500);
  expect(() => parseOptions(["--connections=100000"])).toThrow("--connections");
  expect(() => parseOptions(["--connect-concurrency=5000"])).toThrow("--connect-concurrency");
});

test("scenario 2 with a subscriber attached runs by default, in --quick too, and alone", () => {
  expect(parseOptions([]).scenarios).toContain("publish-consumed");
  expect(parseOptions(["--quick"]).scenarios).toContain("publish-consumed");
  expect(parseOptions(["--scenarios=publish-consumed"]).scenarios).toEqual(["publish-consumed"]);
});

test("[BENCH-WARM-1] scenario 8's warm-up burst: 20,000 by default, 2,000 with --quick, 0 turns it off, bounded", () => {
  expect(parseOptions([]).latencyWarm).toBe(20_000);
  expect(parseOptions(["--quick"]).latencyWarm).toBe(2_000);
  expect(parseOptions(["--latency-warm=0"]).latencyWarm).toBe(0);
  expect(() => parseOptions(["--latency-warm=5000000"])).toThrow("--latency-warm");
});
