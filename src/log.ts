/**
 * Structured logs: one line per event, as JSON (LOG_FORMAT=json, for a log pipeline) or text
 * (the default, for a terminal), filtered by LOG_LEVEL. Fields are names, ids, counts and
 * addresses; never a payload, a header value, a token or a password: callers pass none, and
 * `redact` masks fields named like secrets in case one does.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export type Logger = {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A free-text line (the broker's warnings): event `event`, the text in `msg`. */
  line(level: LogLevel, event: string): (msg: string) => void;
};

const SECRET = /pass|secret|token|authorization|cookie|api[_-]?key/i;
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LoggerOptions = {
  format: LogFormat;
  level: LogLevel;
  /** Where lines go (default stdout for info and below, stderr for warn and error). */
  write?: (line: string, level: LogLevel) => void;
  now?: () => Date;
};

export function createLogger({ format, level, write = defaultWrite, now = () => new Date() }: LoggerOptions): Logger {
  const min = RANK[level];
  const emit = (at: LogLevel, event: string, fields: LogFields = {}) => {
    if (RANK[at] < min) return;
    const time = now().toISOString();
    write(format === "json" ? jsonLine(time, at, event, fields) : textLine(time, at, event, fields), at);
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
    line: (at, event) => (msg) => emit(at, event, { msg }),
  };
}

function defaultWrite(line: string, level: LogLevel): void {
  (RANK[level] >= RANK.warn ? process.stderr : process.stdout).write(`${line}\n`);
}

const redacted = (key: string, value: LogFields[string]) => (SECRET.test(key) && value !== undefined && value !== null ? "[redacted]" : value);

function jsonLine(time: string, level: LogLevel, event: string, fields: LogFields): string {
  const out: Record<string, unknown> = { time, level, event };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = redacted(key, value);
  return JSON.stringify(out);
}

/**
 * `2026-12-01T10:00:00.000Z INFO connection.open id=c1 remote=127.0.0.1`; a `msg` (free text for a
 * person) comes right after the event, unquoted; other values are quoted when they hold spaces or quotes.
 */
function textLine(time: string, level: LogLevel, event: string, fields: LogFields): string {
  let line = `${time} ${level.toUpperCase()} ${event}`;
  if (fields.msg !== undefined && fields.msg !== null) line += ` ${String(fields.msg).replace(/[\r\n]+/g, " ")}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key === "msg") continue;
    const shown = redacted(key, value);
    const text = String(shown);
    line += ` ${key}=${typeof shown === "string" && (text === "" || /[\s"=\\]/.test(text)) ? JSON.stringify(text) : text}`;
  }
  return line;
}
