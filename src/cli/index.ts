import { bindingsCommand } from "./bindings.ts";
import { runClientCommand, type ClientCommand } from "./client-command.ts";
import { consumeCommand } from "./consume.ts";
import { exchangesCommand } from "./exchanges.ts";
import { followOptions } from "./follow.ts";
import { publishCommand } from "./publish.ts";
import { queuesCommand } from "./queues.ts";
import { subscribeCommand } from "./subscribe.ts";

/** The commands that talk to a running broker, by name. */
const COMMANDS: Record<string, ClientCommand> = {
  publish: publishCommand,
  subscribe: subscribeCommand,
  consume: consumeCommand,
  exchanges: exchangesCommand,
  queues: queuesCommand,
  bindings: bindingsCommand,
};

export const isClientCommand = (name: string): boolean => Object.hasOwn(COMMANDS, name);

/** Runs the named client command; resolves with the exit status. `env` is where PUBSUB_TOKEN is read. */
export function runCli(name: string, argv: string[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const command = COMMANDS[name]!;
  const following = command === subscribeCommand || command === consumeCommand;
  return runClientCommand(name, command, argv, following ? followOptions : {}, env);
}
