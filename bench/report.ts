/** Renders rows as a markdown table, and the whole RESULTS.md around it. */
import type { Row } from "./row.ts";

export function formatValue(value: number | null, unit: string): string {
  if (value === null) return "–";
  if (unit === "req/s" || unit === "msg/s" || unit === "conn/s") return `${Math.round(value).toLocaleString("en-US")} ${unit}`;
  if (unit === "ms" && value < 10) return `${value.toFixed(2)} ${unit}`;
  return `${value.toFixed(1)} ${unit}`;
}

function ratio(row: Row, rows: Row[], against: Row["target"]): string {
  if (row.value === null) return "";
  const reference = rows.find((other) => other.scenario === row.scenario && other.target === against);
  if (!reference?.value) return "";
  return `${(row.value / reference.value).toFixed(2)}×`;
}

function formatRuns(row: Row): string {
  if (row.runs.length <= 1) return "";
  const digits = row.unit === "req/s" || row.unit === "msg/s" || row.unit === "conn/s" ? 0 : row.unit === "ms" && (row.value ?? 0) < 10 ? 2 : 1;
  return row.runs.map((run) => run.toFixed(digits)).join(" / ");
}

const escape = (text: string) => text.replaceAll("|", "\\|");

export function markdownTable(rows: Row[]): string {
  const lines = [
    "| scenario | target | value | ÷ raw | ÷ RabbitMQ | runs | notes |",
    "| --- | --- | ---: | ---: | ---: | --- | --- |",
  ];
  for (const row of rows) {
    const notes = row.skipped ? `${row.failed ? "**failed**" : "skipped"}: ${row.skipped}` : row.notes.join("; ");
    lines.push(
      `| ${escape(row.scenario)} | ${row.target} | ${formatValue(row.value, row.unit)} | ${ratio(row, rows, "raw")} | ` +
        `${ratio(row, rows, "rabbitmq")} | ${formatRuns(row)} | ${escape(notes)} |`,
    );
  }
  return lines.join("\n");
}

export type RunInfo = {
  date: string;
  cpu: string;
  bun: string;
  command: string;
  durationS: number;
  targets: string[];
  settings: string[];
};

/** The `## ` headings this file writes itself; any other section of RESULTS.md was written by hand. */
const GENERATED_SECTIONS = [/^## Where we stand\b/, /^## Results\b/];

/**
 * The hand-written `## ` sections of an existing RESULTS.md (profiling notes, before/after tables),
 * verbatim and in order, so that a new run keeps them instead of overwriting them.
 */
export function handWrittenSections(existing: string): string[] {
  const sections: string[] = [];
  const parts = existing.split(/^(?=## )/m).slice(1);
  for (const part of parts) {
    if (GENERATED_SECTIONS.some((pattern) => pattern.test(part))) continue;
    sections.push(part.trimEnd());
  }
  return sections;
}

export function resultsMarkdown(info: RunInfo, rows: Row[], standing: string, kept: string[] = []): string {
  return `# Benchmark results

- date: ${info.date}
- CPU: ${info.cpu}
- bun: ${info.bun}
- command: \`${info.command}\`
- wall time: ${info.durationS.toFixed(0)} s
${info.settings.map((line) => `- ${line}`).join("\n")}

Targets:
${info.targets.map((line) => `- ${line}`).join("\n")}

${standing}
${kept.map((section) => `\n${section}\n`).join("")}
## Results

${markdownTable(rows)}

How to read it: each value is the median of the runs listed beside it. "÷ raw" and "÷ RabbitMQ"
divide this row's value by that target's value in the same scenario: above 1 means more
throughput, or more milliseconds and MiB. Load generators, the broker and the harness share the
machine's cores, so the notes give each process's CPU use (% of one core) over the measured window:
a load process near 100% means the client, not the broker, may be what limits the number, and
"other" well above a few % means someone else's work shared the machine during that row.

What "confirmed" and "durable" mean differs between brokers: RabbitMQ confirms a persistent
message on a durable queue once it is written and synced to disk (syncs are batched); NATS
JetStream's file store acknowledges once the message is written, and by default syncs to disk
periodically, not per message; pubsub answers (HTTP 200, CONFIRM) once the message is committed to
its store: by default SQLite in WAL mode with synchronous=NORMAL, which survives a killed broker but
not a power loss; \`pubsub-fsync\` (FSYNC=true) fsyncs every commit, and \`pubsub-pg\` commits to
Postgres (fsynced). Acknowledgements: RabbitMQ and JetStream record each ack as it comes; pubsub
keeps acks in memory and removes acknowledged messages from its store at each checkpoint (every
second in scenarios 5 and 6), so after a crash an acked message may come again, marked redelivered.
The NATS and AMQP load clients are JavaScript libraries (\`nats\`, \`amqplib\`) running on Bun: where
their process is near 100% of a core, the client, not the broker, may be the limit.
`;
}
