/**
 * Scenario 11: WebSocket connections per second, and what authentication adds to each. One load
 * process opens `connections` WebSockets, `concurrency` at a time, each closed as soon as it is
 * ready: at the 101 without AUTH, at AUTHENTICATED with an AUTH frame sent first. Every way a target
 * offers (`connectPlans`) is a row: pubsub as the loopback guest with and without AUTH (the guest's
 * AUTH is answered unchecked: the round trip alone), pubsub-auth with a distinct JWT per connection,
 * pubsub-keys with one API key (argon2id on the first connection, the verified-key cache after;
 * the first is opened alone and timed apart), raw as the ceiling of the upgrade. A fresh broker
 * per run, every way measured on it in turn.
 */
import { merge, percentileMs } from "../load/latency-histogram.ts";
import { LoadProcess } from "../load/process-handle.ts";
import type { ConnectSpec } from "../load/specs.ts";
import type { BenchOptions } from "../options.ts";
import { CpuMeter } from "../proc-stats.ts";
import { failedRow, median, skippedRow, type Row } from "../row.ts";
import type { Target } from "../targets/target.ts";
import { cpuNote, cpuPerUnitNote, type CpuUse } from "./cpu-note.ts";
import { discardedNote, repeatClean } from "./repeat.ts";

const READY_TIMEOUT_MS = 20_000;
/** 2,000 connections at the slowest rate seen here (~1,000/s with argon2 uncached) take 2 s; this is the bound. */
const CONNECT_TIMEOUT_MS = 60_000;

type WayRun = {
  label: string;
  note: string | undefined;
  rate: number;
  firstMs: number;
  p50: number | null;
  p99: number | null;
  failed: number;
  firstError: string | null;
  cpu: CpuUse;
};
/** One fresh broker, every way measured on it; `cpu` is the busiest of them, for repeatClean. */
type BrokerRun = { ways: WayRun[]; cpu: CpuUse };

export function connectionsLabel(options: BenchOptions): string {
  return (
    `11. WebSocket connections/s: ${options.connections.toLocaleString("en-US")} opened ${options.connectConcurrency} at a time, ` +
    `each closed once ready (101, or AUTHENTICATED after AUTH)`
  );
}

export async function connectionsScenario(targets: Target[], options: BenchOptions): Promise<Row[]> {
  const scenario = connectionsLabel(options);
  const rows: Row[] = [];
  for (const target of targets) {
    const reason = target.notApplicable?.connections;
    if (reason) {
      rows.push(skippedRow(scenario, target.name, "conn/s", reason));
      continue;
    }
    const { runs, discarded, failure } = await repeatClean(options.runs, () => brokerOnce(target, options));
    if (failure) {
      rows.push(failedRow(scenario, target.name, "conn/s", failure));
      continue;
    }
    const labels = [...new Set(runs.flatMap((run) => run.ways.map((way) => way.label)))];
    for (const label of labels) {
      const ways = runs.flatMap((run) => run.ways.filter((way) => way.label === label));
      const rates = ways.map((way) => way.rate);
      const ms = (values: Array<number | null>) => median(values.filter((v): v is number => v !== null))?.toFixed(2) ?? "?";
      const failed = ways.reduce((sum, way) => sum + way.failed, 0);
      const notes = [
        ways[0]?.note ?? "",
        `ready p50 ${ms(ways.map((way) => way.p50))} ms, p99 ${ms(ways.map((way) => way.p99))} ms; the first connection, opened alone: ${ms(ways.map((way) => way.firstMs))} ms`,
        "load: 1 process",
        cpuNote(ways.map((way) => way.cpu)),
        cpuPerUnitNote(ways, "connection"),
        discardedNote(discarded),
        failed ? `**${failed} connections failed** (first: ${ways.find((way) => way.firstError)?.firstError})` : "",
      ].filter((note): note is string => Boolean(note));
      rows.push({ scenario, target: label, unit: "conn/s", value: median(rates), runs: rates, notes });
    }
  }
  return rows;
}

async function brokerOnce(target: Target, options: BenchOptions): Promise<BrokerRun> {
  const instance = await target.start();
  try {
    if (!instance.connectPlans) throw new Error("no connection plans on this target");
    const plans = await instance.connectPlans(options.connections);
    const ways: WayRun[] = [];
    for (const plan of plans) {
      try {
        ways.push({ label: plan.label, note: plan.note, ...(await connectMany(plan.spec, instance.pid, options)) });
      } finally {
        await plan.cleanup().catch(() => {});
      }
    }
    const busiest = ways.reduce<WayRun | null>((worst, way) => ((way.cpu.other ?? 0) > (worst?.cpu.other ?? -1) ? way : worst), null);
    return { ways, cpu: busiest?.cpu ?? { broker: null, load: [], other: null } };
  } finally {
    await instance.stop();
  }
}

async function connectMany(
  spec: ConnectSpec,
  brokerPid: number | null,
  options: BenchOptions,
): Promise<Omit<WayRun, "label" | "note">> {
  const load = new LoadProcess("connect");
  try {
    load.send({
      kind: "configure",
      role: "connect",
      spec,
      count: options.connections,
      concurrency: options.connectConcurrency,
      deadlineMs: READY_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 10_000,
    });
    await load.next("ready", READY_TIMEOUT_MS);
    const result = load.next("connected", CONNECT_TIMEOUT_MS);
    const meter = new CpuMeter([brokerPid ?? -1, load.pid]);
    load.send({ kind: "go" });
    const answer = await result;
    const { perPid, other } = meter.read();
    const [broker = null, ...loadCpu] = perPid;
    const histogram = merge([answer.latencyBuckets]);
    return {
      rate: answer.elapsedMs > 0 ? (answer.opened * 1000) / answer.elapsedMs : 0,
      firstMs: answer.firstMs,
      p50: percentileMs(histogram, 0.5),
      p99: percentileMs(histogram, 0.99),
      failed: answer.failed,
      firstError: answer.firstError,
      cpu: { broker: brokerPid === null ? null : broker, load: loadCpu, other },
    };
  } finally {
    await load.finish();
  }
}
