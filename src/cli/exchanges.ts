import { positionalsOf, UsageError } from "./args.ts";
import type { ClientCommand } from "./client-command.ts";
import { printLine, printLines } from "./output.ts";

/** `pubsub exchanges [list | get | declare | delete]` */
export const exchangesCommand: ClientCommand = {
  flags: { transient: { type: "boolean" }, "if-unused": { type: "boolean" } },
  async run(client, args) {
    const [action = "list", ...rest] = args.positionals;
    const params = { ...args, positionals: rest };
    switch (action) {
      case "list":
        positionalsOf(params, []);
        return printLines(await client.exchanges.list());
      case "get": {
        const [name] = positionalsOf(params, ["name"]) as [string];
        return printLine(await client.exchanges.get(name));
      }
      case "declare": {
        const [name, type] = positionalsOf(params, ["name", "type"]) as [string, string];
        return printLine(await client.exchanges.declare({ name, type, durable: args.flags.transient !== true }));
      }
      case "delete": {
        const [name] = positionalsOf(params, ["name"]) as [string];
        await client.exchanges.delete(name, { ifUnused: args.flags["if-unused"] === true });
        return printLine({ deleted: name });
      }
      default:
        throw new UsageError(`unknown action "${action}" (list, get, declare, delete)`);
    }
  },
};
