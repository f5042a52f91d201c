import { connect, DEFAULT_URL, isPubsubError, type ClientOptions, type PubsubClient } from "../client/index.ts";
import { parseCommandArgs, stringFlag, UsageError, type FlagSpec, type ParsedArgs } from "./args.ts";
import { complain } from "./output.ts";
import { COMMAND_USAGE } from "./usage.ts";

/** One client command: its flags, and what it does with a client. Resolves with the exit status. */
export type ClientCommand = {
  readonly flags: FlagSpec;
  run(client: PubsubClient, args: ParsedArgs): Promise<number | void>;
};

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/**
 * Runs a client command against the broker at --url. A refusal or an unreachable broker is one
 * line on stderr and exit 1; a command line that does not fit, its usage and exit 2.
 */
export async function runClientCommand(name: string, command: ClientCommand, argv: string[], options: ClientOptions = {}): Promise<number> {
  let client: PubsubClient | undefined;
  try {
    const args = parseCommandArgs(argv, command.flags);
    client = connect(urlOf(stringFlag(args.flags, "url") ?? DEFAULT_URL), options);
    const status = (await command.run(client, args)) ?? EXIT.OK;
    await client.close();
    return status;
  } catch (error) {
    if (error instanceof UsageError) {
      complain(`${error.message}\nusage: ${COMMAND_USAGE[name] ?? name}`);
      return EXIT.USAGE;
    }
    if (isPubsubError(error)) {
      complain(error.code === "UNREACHABLE" || error.code === "TIMEOUT" ? error.message : `${error.code}: ${error.message}`);
    } else {
      complain(error instanceof Error ? error.message : String(error));
    }
    await client?.close({ timeoutMs: 1_000 });
    return EXIT.FAILED;
  }
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
