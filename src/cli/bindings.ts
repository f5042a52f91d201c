import type { BindingDeclare } from "../client/index.ts";
import { pairsFlag, positionalsOf, stringFlag, UsageError, type ParsedArgs } from "./args.ts";
import type { ClientCommand } from "./client-command.ts";
import { printLine, printLines } from "./output.ts";

/** `pubsub bindings [list | declare | delete]` */
export const bindingsCommand: ClientCommand = {
  flags: { exchange: { type: "string" }, queue: { type: "string" }, arg: { type: "string", multiple: true } },
  async run(client, args) {
    const [action = "list", ...rest] = args.positionals;
    const params = { ...args, positionals: rest };
    switch (action) {
      case "list": {
        positionalsOf(params, []);
        const filter: { exchange?: string; queue?: string } = {};
        const exchange = stringFlag(args.flags, "exchange");
        const queue = stringFlag(args.flags, "queue");
        if (exchange !== undefined) filter.exchange = exchange;
        if (queue !== undefined) filter.queue = queue;
        return printLines(await client.bindings.list(filter));
      }
      case "declare":
        return printLine(await client.bindings.declare(bindingOf(params)));
      case "delete": {
        const binding = bindingOf(params);
        await client.bindings.delete(binding);
        return printLine({ deleted: binding });
      }
      default:
        throw new UsageError(`unknown action "${action}" (list, declare, delete)`);
    }
  },
};

function bindingOf(args: ParsedArgs): BindingDeclare {
  const [exchange, queue, key = ""] = positionalsOf(args, ["exchange", "queue", "key"], 2) as [string, string, string?];
  const binding: BindingDeclare = { exchange_name: exchange, queue_name: queue, key };
  const pairs = pairsFlag(args.flags, "arg");
  if (pairs !== undefined) binding.arguments = pairs;
  return binding;
}
