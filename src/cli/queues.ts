import type { QueueDeclare } from "../client/index.ts";
import { positionalsOf, stringFlag, UsageError, wholeFlag, type FlagSpec, type ParsedArgs } from "./args.ts";
import type { ClientCommand } from "./client-command.ts";
import { printLine, printLines } from "./output.ts";

/** Queue arguments as flags: `--max-length 10` is `max_length: 10`. */
const WHOLE_ARGS = ["max-length", "max-bytes", "message-ttl", "delivery-limit", "history-size", "history-ttl", "history-max-bytes"] as const;
const TEXT_ARGS = ["overflow", "dead-letter-exchange", "dead-letter-routing-key"] as const;

const flags: FlagSpec = {
  durable: { type: "boolean" },
  "auto-delete": { type: "boolean" },
  "if-unused": { type: "boolean" },
  "if-empty": { type: "boolean" },
  ...Object.fromEntries([...WHOLE_ARGS, ...TEXT_ARGS].map((name) => [name, { type: "string" as const }])),
};

/** `pubsub queues [list | get | declare | delete | purge]` */
export const queuesCommand: ClientCommand = {
  flags,
  async run(client, args) {
    const [action = "list", ...rest] = args.positionals;
    const params = { ...args, positionals: rest };
    switch (action) {
      case "list":
        positionalsOf(params, []);
        return printLines(await client.queues.list());
      case "get": {
        const [name] = positionalsOf(params, ["name"]) as [string];
        return printLine(await client.queues.get(name));
      }
      case "declare": {
        const [name] = positionalsOf(params, ["name"]) as [string];
        return printLine(await client.queues.declare(declarationOf(name, args)));
      }
      case "delete": {
        const [name] = positionalsOf(params, ["name"]) as [string];
        return printLine(await client.queues.delete(name, { ifUnused: args.flags["if-unused"] === true, ifEmpty: args.flags["if-empty"] === true }));
      }
      case "purge": {
        const [name] = positionalsOf(params, ["name"]) as [string];
        return printLine(await client.queues.purge(name));
      }
      default:
        throw new UsageError(`unknown action "${action}" (list, get, declare, delete, purge)`);
    }
  },
};

function declarationOf(name: string, args: ParsedArgs): QueueDeclare {
  const declaration: Record<string, unknown> = { name, durable: args.flags.durable === true };
  if (args.flags["auto-delete"] === true) declaration.auto_delete = true;
  for (const flag of WHOLE_ARGS) {
    const value = wholeFlag(args.flags, flag);
    if (value !== undefined) declaration[flag.replaceAll("-", "_")] = value;
  }
  for (const flag of TEXT_ARGS) {
    const value = stringFlag(args.flags, flag);
    if (value !== undefined) declaration[flag.replaceAll("-", "_")] = value;
  }
  // The broker validates the values (overflow's spelling included) and answers VALIDATION.
  return declaration as QueueDeclare;
}
