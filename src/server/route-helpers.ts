import type { BrokerError, Result } from "../core/errors.ts";
import { errorBody, statusOf } from "./http-errors.ts";

export type Answer<T> = T | ReturnType<typeof errorBody>;

/** Turns a broker Result into the answer, or into `{"error":{code,message}}` with its status. */
export function answer<T>(result: Result<T> | { ok: false; error: BrokerError }, set: { status?: number | string }): Answer<T> {
  if (result.ok) return result.value;
  set.status = statusOf(result.error.code);
  return errorBody(result.error);
}

/** Documents a query's parameters from its model (the route checks the query itself, strictly). */
export const queryParams = (schema: { properties: Record<string, unknown> }) => ({
  parameters: Object.entries(schema.properties).map(([name, property]) => ({ name, in: "query" as const, required: false, schema: property as object })),
});
