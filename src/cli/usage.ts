/** The text of `pubsub --help`; each client command's own usage line is in COMMAND_USAGE. */
export const COMMAND_USAGE: Record<string, string> = {
  publish: "pubsub publish <exchange> <key> <json|-> [--header name=value]… [--message-id ID] [--ttl MS] [--delay MS]",
  subscribe: "pubsub subscribe <queue> [--since SEQ] [--count N]",
  consume: "pubsub consume <queue> [--prefetch N] [--count N]",
  exchanges: "pubsub exchanges [list | get <name> | declare <name> <type> [--transient] | delete <name> [--if-unused]]",
  queues:
    "pubsub queues [list | get <name> | declare <name> [--durable] [--max-length N] [--history-size N] [--dead-letter-exchange X] …\n" +
    "                     | delete <name> [--if-unused] [--if-empty] | purge <name>]",
  bindings:
    "pubsub bindings [list [--exchange X] [--queue Q] | declare <exchange> <queue> [key] [--arg name=value]…\n" +
    "                       | delete <exchange> <queue> [key] [--arg name=value]…]",
};

/** Commands that need no broker: they make credentials for one (src/cli/token.ts, keys.ts). */
export const AUTH_COMMAND_USAGE: Record<"token" | "key", string> = {
  token:
    "pubsub token --sub <user> [--ttl 1h] (--secret S | --secret-file F | --key private.pem) [--permissions '<json>']\n" +
    "                     [--issuer I] [--audience A] [--kid K]",
  key: "pubsub key",
};

export const usage = (version: string): string => `pubsub ${version}: a message broker with exchanges, durable queues and WebSocket subscribers

Usage:
  pubsub [serve]      start the broker (configured by environment variables, see README)
  pubsub --help       this text
  pubsub --version    the version

Client commands (they talk to a running broker at --url, default http://127.0.0.1:8060):
  ${Object.values(COMMAND_USAGE).join("\n  ")}

  publish prints the broker's answer; with "-" it publishes each line of standard input.
  subscribe and consume print one JSON message per line; consume acks each once printed.
  Lists print one JSON object per line. Queue declare flags are the queue arguments of the
  README with dashes: --max-length, --max-bytes, --overflow, --message-ttl, --dead-letter-exchange,
  --dead-letter-routing-key, --delivery-limit, --history-size, --history-ttl, --history-max-bytes, --auto-delete.
  Client commands take --token <API key or JWT> or --token-file <file>, else read PUBSUB_TOKEN or
  PUBSUB_TOKEN_FILE (a flag wins). A token file is read again at each renewal and reconnection, so a
  JWT rotated in it keeps subscribe and consume going; a JWT given by --token is not renewed.

Credential commands (no broker needed):
  ${Object.values(AUTH_COMMAND_USAGE).join("\n  ")}

  token prints a JWT signed as the broker verifies it (HS256 for a secret, RS256/ES256 by the key's
  type), expiring after --ttl (30s, 15m, 1h, 7d); --permissions is its "pubsub" claim (README).
  key prints a new API key and, on the next line, its USERS_FILE entry (id and argon2id hash).

Exit status: 0 done, 1 the broker refused or could not be reached (one line on stderr), 2 bad usage.
`;
