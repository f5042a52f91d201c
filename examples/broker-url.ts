/** Every example takes the broker's URL the same way: --url, else $PUBSUB_URL, else the broker's default. */
import { parseArgs } from "node:util";

/** Parses `--url` and the example's own string flags, each with its default. */
export function exampleArgs<Name extends string>(defaults: Record<Name, string>): Record<Name | "url", string> {
  const options = Object.fromEntries(
    Object.entries<string>({ url: process.env.PUBSUB_URL ?? "http://127.0.0.1:8060", ...defaults }).map(([name, value]) => [
      name,
      { type: "string" as const, default: value },
    ]),
  );
  const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true });
  return values as Record<Name | "url", string>;
}
