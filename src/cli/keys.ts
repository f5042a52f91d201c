/**
 * `pubsub key`: a new API key and the line that stores it. The key goes to whoever will use it;
 * the line (its id and argon2id hash, never the key) goes into the user's `keys` in USERS_FILE.
 * On a running broker UserDirectory.createKey (behind the admin API) does both; this is for a file written
 * by hand or by configuration management. Needs no broker.
 */
import { generateKey, hashKey } from "../auth/api-keys.ts";
import { AUTH_COMMAND_USAGE } from "./usage.ts";

/** The key and its USERS_FILE entry; `now` in milliseconds. */
export async function newKeyLines(now = Date.now()): Promise<{ key: string; entry: string }> {
  const { id, key } = generateKey();
  const entry = JSON.stringify({ id, hash: await hashKey(key), created_at: new Date(now).toISOString() });
  return { key, entry };
}

export async function keyCommand(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(`pubsub key: takes no arguments, got: ${argv.join(" ")}\nusage: ${AUTH_COMMAND_USAGE.key}\n`);
    return 2;
  }
  const { key, entry } = await newKeyLines();
  process.stdout.write(`${key}\n${entry}\n`);
  process.stderr.write("line 1: the API key, shown only now; line 2: add it to the user's \"keys\" in USERS_FILE\n");
  return 0;
}
