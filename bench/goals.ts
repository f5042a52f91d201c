/**
 * "Where we stand": issue 12's goals, and those of issue 6 that still apply, checked against this
 * run's rows, each met / not met with the numbers behind it. Computed, not written by hand, so it
 * always matches the table below it.
 */
import { formatValue } from "./report.ts";
import type { Row } from "./row.ts";
import { WITH_SUBSCRIBER } from "./scenarios/consumed-publish-label.ts";

export type Verdict = "met" | "not met" | "not measured";
export type GoalResult = { issue: number; goal: string; verdict: Verdict; detail: string };

/** Each condition of a goal: true, false, or null when a row it needs is missing. */
type Check = { conditions: Array<boolean | null>; detail: string };
type Goal = { issue: number; goal: string; check(rows: Row[]): Check };

/** Any condition failed: not met; all hold: met; otherwise some number is missing. */
export function verdictOf(conditions: Array<boolean | null>): Verdict {
  if (conditions.some((condition) => condition === false)) return "not met";
  if (conditions.length === 0 || conditions.includes(null)) return "not measured";
  return "met";
}

/** The measured row of `target` whose scenario matches. */
function find(rows: Row[], scenario: (label: string) => boolean, target: string): Row | undefined {
  return rows.find((row) => scenario(row.scenario) && row.target === target && row.value !== null);
}
const startsWith = (prefix: string) => (label: string) => label.startsWith(prefix);

const times = (a: Row | undefined, b: Row | undefined) => (a?.value != null && b?.value ? a.value / b.value : null);
const ratioText = (ratio: number | null) => (ratio === null ? "?" : `${ratio.toFixed(2)}×`);
const value = (row: Row | undefined) => (row ? formatValue(row.value, row.unit) : "not measured");
/** ratio ≥ bound (or ≤ for `atMost`), null when the ratio is unknown. */
const atLeast = (ratio: number | null, bound: number) => (ratio === null ? null : ratio >= bound);
const atMost = (ratio: number | null, bound: number) => (ratio === null ? null : ratio <= bound);

/**
 * Fan-out where pubsub's subscribers share one queue: ≥ 0.9× raw (one frame per message, as raw
 * sends) and ≥ NATS core, which the issue lets the batched subscription [BATCH-1] meet: the better
 * of the two rows counts there.
 */
function fanout(subscribers: 1 | 10): Goal {
  const label = `${subscribers} subscriber${subscribers > 1 ? "s" : ""}`;
  return {
    issue: 12,
    goal: `Fan-out to ${label}${subscribers > 1 ? " of one queue" : ""} ≥ 0.9× raw and ≥ NATS core`,
    check(rows) {
      const scenario = startsWith(`3. delivered msg/s, fan-out to ${label},`);
      const [pubsub, batched, raw, nats] = ["pubsub", "pubsub, batched", "raw", "nats"].map((target) => find(rows, scenario, target));
      const best = (batched?.value ?? 0) > (pubsub?.value ?? 0) ? batched : pubsub;
      const ofRaw = times(pubsub, raw);
      const ofNats = times(best, nats);
      const batchedText = batched ? `; batched ${value(batched)} = ${ratioText(times(batched, raw))} raw, ${ratioText(times(batched, nats))} NATS` : "";
      return {
        conditions: [atLeast(ofRaw, 0.9), atLeast(ofNats, 1)],
        detail: `pubsub ${value(pubsub)} vs raw ${value(raw)} = ${ratioText(ofRaw)}, vs NATS core ${value(nats)} = ${ratioText(times(pubsub, nats))}${batchedText}.`,
      };
    },
  };
}

const ISSUE_12: Goal[] = [
  fanout(1),
  fanout(10),
  {
    issue: 12,
    goal: "Fanout exchange → 10 queues ≥ 0.5× raw",
    check(rows) {
      const scenario = startsWith("3. delivered msg/s, fan-out to 10 subscribers,");
      const pubsub = find(rows, scenario, "pubsub, 10 queues");
      const batched = find(rows, scenario, "pubsub, 10 queues, batched");
      const raw = find(rows, scenario, "raw");
      const ratio = times(pubsub, raw);
      const batchedText = batched ? `; batched ${value(batched)} = ${ratioText(times(batched, raw))}` : "";
      return { conditions: [atLeast(ratio, 0.5)], detail: `pubsub, a queue per subscriber, ${value(pubsub)} vs raw ${value(raw)} = ${ratioText(ratio)}${batchedText}.` };
    },
  },
  {
    issue: 12,
    goal: "HTTP publish to a transient queue ≥ 0.8× raw's HTTP publish",
    check(rows) {
      const scenario = (label: string) => label.startsWith("2. confirmed HTTP publish") && label.endsWith("transient queue");
      const pubsub = find(rows, scenario, "pubsub");
      const raw = find(rows, scenario, "raw");
      const ratio = times(pubsub, raw);
      return { conditions: [atLeast(ratio, 0.8)], detail: `pubsub ${value(pubsub)} vs raw ${value(raw)} = ${ratioText(ratio)}.` };
    },
  },
  {
    issue: 12,
    goal: "Latency p99 at 2,000 msg/s ≤ 1.25× raw's p99",
    check(rows) {
      const percentile = (p: string) => startsWith(`8. publish→deliver latency ${p},`);
      const p99 = find(rows, percentile("p99"), "pubsub");
      const raw = find(rows, percentile("p99"), "raw");
      const ratio = times(p99, raw);
      return {
        conditions: [atMost(ratio, 1.25)],
        detail:
          `pubsub p99 ${value(p99)} vs raw ${value(raw)} = ${ratioText(ratio)} (p50 ${value(find(rows, percentile("p50"), "pubsub"))}, ` +
          `p99.9 ${value(find(rows, percentile("p99.9"), "pubsub"))}; publish→deliver through two load processes on the same cores).`,
      };
    },
  },
  {
    issue: 12,
    goal: "Durable HTTP publish with a subscriber attached ≥ 2× RabbitMQ confirms with a consumer",
    check(rows) {
      const scenario = (label: string) => label.startsWith("2. ") && label.includes(WITH_SUBSCRIBER);
      const [pubsub, rabbit, nats] = ["pubsub", "rabbitmq", "nats"].map((target) => find(rows, scenario, target));
      const ratio = times(pubsub, rabbit);
      const alone = (label: string) => label.startsWith("2. confirmed HTTP publish") && label.endsWith("durable queue");
      const withoutReader = times(find(rows, alone, "pubsub"), find(rows, alone, "rabbitmq"));
      return {
        conditions: [atLeast(ratio, 2)],
        detail:
          `confirmed publishes/s while one reader takes every message (pubsub: a WebSocket subscriber; RabbitMQ: a consumer ` +
          `acking each): pubsub ${value(pubsub)} vs RabbitMQ ${value(rabbit)} = ${ratioText(ratio)}` +
          (nats ? ` (NATS JetStream with a pull consumer ${value(nats)}: ${ratioText(times(nats, rabbit))} of RabbitMQ)` : "") +
          (withoutReader !== null ? `; without a reader (scenario 2's durable row) ${ratioText(withoutReader)} RabbitMQ` : "") +
          ". Delivered rates are in the rows' notes.",
      };
    },
  },
  {
    issue: 12,
    goal: "Start-up ≤ 2× raw and idle RSS ≤ 1.3× raw",
    check(rows) {
      const startup = startsWith("1. start-up");
      const idle = startsWith("1. idle RSS");
      const startRatio = times(find(rows, startup, "pubsub"), find(rows, startup, "raw"));
      const rssRatio = times(find(rows, idle, "pubsub"), find(rows, idle, "raw"));
      return {
        conditions: [atMost(startRatio, 2), atMost(rssRatio, 1.3)],
        detail:
          `start-up pubsub ${value(find(rows, startup, "pubsub"))} vs raw ${value(find(rows, startup, "raw"))} = ${ratioText(startRatio)}; ` +
          `idle RSS pubsub ${value(find(rows, idle, "pubsub"))} vs raw ${value(find(rows, idle, "raw"))} = ${ratioText(rssRatio)}.`,
      };
    },
  },
];

/** Issue 6's goals that issue 12 did not restate (its fan-out and absolute p99 goals it replaced). */
const ISSUE_6: Goal[] = [
  {
    issue: 6,
    goal: "Durable confirmed publishes ≥ 2× RabbitMQ confirms",
    check(rows) {
      const scenario = startsWith("7. confirmed publishes/s");
      const pubsub = find(rows, scenario, "pubsub");
      const rabbit = find(rows, scenario, "rabbitmq");
      const ratio = times(pubsub, rabbit);
      const extras = ["pubsub-fsync", "pubsub-pg", "nats"]
        .map((target) => [target, find(rows, scenario, target)] as const)
        .filter(([, row]) => row)
        .map(([target, row]) => `${target} ${value(row)} (${ratioText(times(row, rabbit))})`);
      const inflight = /(\d+) in flight/.exec((pubsub ?? rabbit)?.scenario ?? "")?.[1] ?? "?";
      return {
        conditions: [atLeast(ratio, 2)],
        detail:
          `one WebSocket connection, ${inflight} in flight: pubsub ${value(pubsub)} vs RabbitMQ ${value(rabbit)} = ${ratioText(ratio)}` +
          (extras.length ? `; ${extras.join(", ")} of RabbitMQ` : "") +
          ". pubsub's default commit survives a killed broker, not a power loss; pubsub-fsync is the like-for-like promise with RabbitMQ's fsynced confirms.",
      };
    },
  },
  {
    issue: 6,
    goal: "Work queue ≥ 1.5× RabbitMQ",
    check(rows) {
      const scenario = startsWith("5. work queue");
      const [pubsub, rabbit, nats] = ["pubsub", "rabbitmq", "nats"].map((target) => find(rows, scenario, target));
      const ratio = times(pubsub, rabbit);
      return {
        conditions: [atLeast(ratio, 1.5)],
        detail: `pubsub ${value(pubsub)} vs RabbitMQ ${value(rabbit)} = ${ratioText(ratio)} (NATS JetStream ${value(nats)}).`,
      };
    },
  },
  {
    issue: 6,
    goal: "≤ 10 KB RSS per idle WebSocket connection",
    check(rows) {
      const perConnection = (label: string) => label.startsWith("9. ") && label.includes("RSS per connection");
      const pubsub = find(rows, perConnection, "pubsub");
      const raw = find(rows, perConnection, "raw");
      const broadcast = find(rows, (label) => label.startsWith("9. ") && label.includes("broadcast"), "pubsub");
      const kb = pubsub?.value == null ? null : (pubsub.value * 1024) / 1000;
      return {
        conditions: [kb === null ? null : kb <= 10],
        detail:
          `pubsub ${value(pubsub)}${kb === null ? "" : ` (${kb.toFixed(1)} KB)`} per connection vs raw ${value(raw)}; ` +
          `one message to all of them in ${value(broadcast)}.`,
      };
    },
  },
];

export function checkGoals(rows: Row[]): GoalResult[] {
  return [...ISSUE_12, ...ISSUE_6].map(({ issue, goal, check }) => {
    const { conditions, detail } = check(rows);
    return { issue, goal, verdict: verdictOf(conditions), detail };
  });
}

export function whereWeStand(rows: Row[]): string {
  const lines = checkGoals(rows).map(({ issue, goal, verdict, detail }) => `- **${goal} (issue ${issue}): ${verdict}.** ${detail}`);
  return `## Where we stand (issue 12's goals, and issue 6's that still apply, computed from this run)\n\n${lines.join("\n")}`;
}
