import { parseArgs } from "node:util";
import { isHeaderScalar, type HeaderScalar } from "../core/exchanges/types.ts";

/** A command line that does not fit its command: exit status 2, with the command's usage. */
export class UsageError extends Error {}

export type FlagSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

/** `--url` and `--token` (or `--token-file`) go with every client command. */
const COMMON: FlagSpec = { url: { type: "string" }, token: { type: "string" }, "token-file": { type: "string" } };

export type ParsedArgs = {
  positionals: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
};

/** Parses the arguments after the command; unknown flags are a UsageError, not ignored. */
export function parseCommandArgs(args: string[], spec: FlagSpec): ParsedArgs {
  try {
    const { positionals, values } = parseArgs({ args, options: { ...COMMON, ...spec }, allowPositionals: true, strict: true });
    return { positionals, flags: values as ParsedArgs["flags"] };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export const stringFlag = (flags: ParsedArgs["flags"], name: string): string | undefined => {
  const value = flags[name];
  return typeof value === "string" ? value : undefined;
};

/** A whole number flag (`--count 5`); undefined when absent. */
export function wholeFlag(flags: ParsedArgs["flags"], name: string, min = 0): number | undefined {
  const text = stringFlag(flags, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number of at least ${min}, got "${text}"`);
  return value;
}

/**
 * `name=value` pairs (`--header region=eu`): a value that parses as JSON (a number, true, null,
 * a quoted string) is that value, anything else the text itself.
 */
export function pairsFlag(flags: ParsedArgs["flags"], name: string): Record<string, string | number | boolean | null> | undefined {
  const raw = flags[name];
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const pairs: Record<string, HeaderScalar> = {};
  for (const pair of raw) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--${name} takes name=value, got "${pair}"`);
    pairs[pair.slice(0, at)] = scalarOf(pair.slice(at + 1));
  }
  return pairs;
}

/** The value as JSON when it is a scalar the broker accepts (isHeaderScalar: `1e999`, Infinity, is not), else the text. */
function scalarOf(text: string): HeaderScalar {
  try {
    const value: unknown = JSON.parse(text);
    if (isHeaderScalar(value)) return value;
  } catch {
    // not JSON: the text as it is
  }
  return text;
}

/** Exactly the positionals a command takes, between `min` and `max` of them. */
export function positionalsOf(parsed: ParsedArgs, names: string[], min = names.length): string[] {
  const { positionals } = parsed;
  if (positionals.length < min) throw new UsageError(`missing ${names.slice(positionals.length, min).map((n) => `<${n}>`).join(" ")}`);
  if (positionals.length > names.length) throw new UsageError(`unexpected argument "${positionals[names.length]}"`);
  return positionals;
}
