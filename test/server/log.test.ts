/** The logger's two formats, its level filter and its redaction of secret-named fields. */
import { expect, test } from "bun:test";
import { createLogger, type LogLevel } from "../../src/log.ts";

const capture = (format: "text" | "json", level: LogLevel = "info") => {
  const lines: [string, LogLevel][] = [];
  const logger = createLogger({ format, level, write: (line, at) => lines.push([line, at]), now: () => new Date(0) });
  return { logger, lines };
};

test("text: time, level, event, the message unquoted, then key=value (quoted when needed)", () => {
  const { logger, lines } = capture("text");
  logger.info("connection.open", { connection: "c1", remote: "127.0.0.1", note: "two words", skipped: undefined });
  logger.warn("broker", { msg: 'queue "a b" dropped\na message' });
  expect(lines).toEqual([
    ['1970-01-01T00:00:00.000Z INFO connection.open connection=c1 remote=127.0.0.1 note="two words"', "info"],
    ['1970-01-01T00:00:00.000Z WARN broker queue "a b" dropped a message', "warn"],
  ]);
});

test("json: one object per line; below the level nothing is written", () => {
  const { logger, lines } = capture("json", "warn");
  logger.info("connection.open", { connection: "c1" });
  logger.error("store", { msg: "down", attempts: 3, ok: false });
  expect(lines.map(([l]) => JSON.parse(l))).toEqual([{ time: "1970-01-01T00:00:00.000Z", level: "error", event: "store", msg: "down", attempts: 3, ok: false }]);
});

test("fields named like secrets are redacted in both formats", () => {
  for (const format of ["text", "json"] as const) {
    const { logger, lines } = capture(format);
    logger.info("auth", { token: "abc", password: "hunter2", api_key: "k", Authorization: "Bearer x", user: "ann" });
    const [line] = lines[0]!;
    for (const secret of ["abc", "hunter2", "=k", "Bearer"]) expect(line).not.toContain(secret);
    expect(line).toContain("ann");
  }
});
