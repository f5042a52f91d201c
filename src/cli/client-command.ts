import { readFileSync } from "node:fs";
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
/** The environment variable naming a token file, as --token-file does (a flag wins over both variables). */
export const TOKEN_FILE_VARIABLE = "PUBSUB_TOKEN_FILE";

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
  let token: ClientOptions["token"];
  try {
    const args = parseCommandArgs(argv, command.flags);
    token = tokenOf(args, env);
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
      const hint = token === undefined ? `; give --token <token> or --token-file <file>, or set ${TOKEN_VARIABLE}` : "";
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

/**
 * --token or --token-file, else PUBSUB_TOKEN, else PUBSUB_TOKEN_FILE. Surrounding whitespace is
 * not part of a token (a file ends with a newline). A file is read again for each new connection
 * and each renewal, so a JWT that something rotates in it (a Kubernetes projected token, a Vault
 * agent's sink) keeps a long `subscribe` or `consume` going past the first one's exp.
 */
function tokenOf(args: ParsedArgs, env: Readonly<Record<string, string | undefined>>): ClientOptions["token"] {
  const flag = stringFlag(args.flags, "token");
  const file = stringFlag(args.flags, "token-file");
  if (flag !== undefined && file !== undefined) throw new UsageError("give --token or --token-file, not both");
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--token needs a token (an API key or a JWT)");
    return flag.trim();
  }
  if (file !== undefined) return tokenFile(file, "--token-file");
  const fromEnv = env[TOKEN_VARIABLE]?.trim();
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const fileFromEnv = env[TOKEN_FILE_VARIABLE]?.trim();
  return fileFromEnv === undefined || fileFromEnv === "" ? undefined : tokenFile(fileFromEnv, TOKEN_FILE_VARIABLE);
}

/** A token function reading `path`; read once now too, so a missing or empty file is a clear error before anything is sent. */
function tokenFile(path: string, from: string): () => Promise<string> {
  if (path.trim() === "") throw new UsageError(`${from} needs a file name`);
  const read = (): string => {
    let text: string;
    try {
      text = readFileSync(path, "utf8").trim();
    } catch (error) {
      throw new Error(`cannot read the token file ${path} (${from}): ${(error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))}`);
    }
    if (text === "") throw new Error(`the token file ${path} (${from}) is empty`);
    return text;
  };
  read();
  return async () => read();
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
