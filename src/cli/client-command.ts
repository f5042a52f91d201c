import { connect, DEFAULT_URL, isAuthError, isPubsubError, type ClientOptions, type PubsubClient } from "../client/index.ts";
import { parseCommandArgs, stringFlag, UsageError, type FlagSpec, type ParsedArgs } from "./args.ts";
import { complain } from "./output.ts";
import { COMMAND_USAGE } from "./usage.ts";

/** One client command: its flags, and what it does with a client. Resolves with the exit status. */
export type ClientCommand = {
  readonly flags: FlagSpec;
  run(client: PubsubClient, args: ParsedArgs): Promise<number | void>;
};

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** The environment variable a token may come from instead of --token (which wins): a flag shows in `ps`, the environment does not. */
export const TOKEN_VARIABLE = "PUBSUB_TOKEN";

/**
 * Runs a client command against the broker at --url, with --token (or PUBSUB_TOKEN from `env`).
 * A refusal or an unreachable broker is one line on stderr and exit 1; a command line that does
 * not fit, its usage and exit 2.
 */
export async function runClientCommand(
  name: string,
  command: ClientCommand,
  argv: string[],
  options: ClientOptions = {},
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<number> {
  let client: PubsubClient | undefined;
  let token: string | undefined;
  try {
    const args = parseCommandArgs(argv, command.flags);
    token = tokenOf(stringFlag(args.flags, "token"), env[TOKEN_VARIABLE]);
    client = connect(urlOf(stringFlag(args.flags, "url") ?? DEFAULT_URL), token === undefined ? options : { ...options, token });
    const status = (await command.run(client, args)) ?? EXIT.OK;
    await client.close();
    return status;
  } catch (error) {
    if (error instanceof UsageError) {
      complain(`${error.message}\nusage: ${COMMAND_USAGE[name] ?? name}`);
      return EXIT.USAGE;
    }
    if (isAuthError(error)) {
      const status = error.status === undefined ? "" : ` (${error.status})`;
      const hint = token === undefined ? `; give --token <token> or set ${TOKEN_VARIABLE}` : "";
      complain(`${error.code}${status}: ${error.message}${hint}`);
    } else if (isPubsubError(error)) {
      complain(error.code === "UNREACHABLE" || error.code === "TIMEOUT" ? error.message : `${error.code}: ${error.message}`);
    } else {
      complain(error instanceof Error ? error.message : String(error));
    }
    await client?.close({ timeoutMs: 1_000 });
    return EXIT.FAILED;
  }
}

/** The flag, else the variable; surrounding whitespace is not part of a token (a file read into the variable ends with a newline). */
function tokenOf(flag: string | undefined, variable: string | undefined): string | undefined {
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--token needs a token (an API key or a JWT)");
    return flag.trim();
  }
  const fromEnv = variable?.trim();
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

function urlOf(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") return text;
  } catch {
    // reported below
  }
  throw new UsageError(`--url must be an http:// or https:// URL, got "${text}"`);
}
