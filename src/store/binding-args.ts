import type { BindingArgs } from "../core/exchanges/types.ts";

/** Binding arguments as JSON with sorted keys: equal arguments give equal text, so they can be a key column. */
export const canonicalArgs = (args: BindingArgs): string =>
  JSON.stringify(Object.fromEntries(Object.entries(args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
