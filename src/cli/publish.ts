import { createInterface } from "node:readline";
import type { PublishFields } from "../client/index.ts";
import { pairsFlag, positionalsOf, stringFlag, UsageError, wholeFlag, type ParsedArgs } from "./args.ts";
import type { ClientCommand } from "./client-command.ts";
import { printLine } from "./output.ts";

/** Publishes from standard input keep this many unconfirmed at once: fast, and memory stays flat. */
const STDIN_IN_FLIGHT = 256;

/** `pubsub publish <exchange> <key> <json>`: one publish over HTTP, or `-`: a line of stdin each, over the WebSocket. */
export const publishCommand: ClientCommand = {
  flags: {
    header: { type: "string", multiple: true },
    "message-id": { type: "string" },
    ttl: { type: "string" },
    delay: { type: "string" },
  },
  async run(client, args) {
    const [exchange, key, json] = positionalsOf(args, ["exchange", "key", "json"]) as [string, string, string];
    const fields = publishFields(args);
    if (json !== "-") return void (await printLine(await client.publish(exchange, key, jsonOf(json), { ...fields, transport: "http" })));
    if (fields.message_id !== undefined) throw new UsageError("--message-id names one message; it cannot go with - (every line would be the same message)");

    let published = 0;
    let routed = 0;
    const inFlight = new Set<Promise<void>>();
    let lineNumber = 0;
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      lineNumber++;
      if (line.trim() === "") continue;
      const payload = jsonOf(line, `line ${lineNumber}`);
      const confirm = client.publish(exchange, key, payload, fields).then((c) => {
        published++;
        routed += c.routed;
      });
      const tracked = confirm.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= STDIN_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await printLine({ published, routed });
  },
};

function publishFields(args: ParsedArgs): PublishFields {
  const fields: PublishFields = {};
  const headers = pairsFlag(args.flags, "header");
  if (headers !== undefined) fields.headers = headers;
  const messageId = stringFlag(args.flags, "message-id");
  if (messageId !== undefined) fields.message_id = messageId;
  const ttl = wholeFlag(args.flags, "ttl");
  if (ttl !== undefined) fields.ttl = ttl;
  const delay = wholeFlag(args.flags, "delay");
  if (delay !== undefined) fields.delay = delay;
  return fields;
}

function jsonOf(text: string, where = "<json>"): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${where} is not JSON: ${text.length > 60 ? `${text.slice(0, 60)}…` : text} (a string needs quotes: '"hello"')`);
  }
}
