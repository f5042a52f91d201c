import { brokerError, ErrorCodes, type BrokerError } from "../errors.ts";
import { validateBindingKey } from "../names.ts";
import { bindingId, type Binding, type ExchangeType, type HeaderValue, type Router } from "./types.ts";

type MatchMode = "all" | "any" | "all-with-x" | "any-with-x";
const MATCH_MODES: readonly string[] = ["all", "any", "all-with-x", "any-with-x"];

/** A binding reduced to what matching needs, computed once at bind time. */
type Condition = {
  readonly queue: string;
  readonly needsAll: boolean;
  readonly expected: readonly (readonly [string, HeaderValue])[];
};

/**
 * RabbitMQ 3.10+ semantics: `x-match` is never matched itself; plain "all"/"any" also ignore
 * other "x-" arguments, the "-with-x" modes match them. An argument matches when the message
 * header of that name is strictly equal (a null argument needs a null header, not just presence).
 * "all" with nothing to match takes every message; "any" with nothing takes none.
 */
export const headers: ExchangeType = {
  kind: "headers",
  validateBinding: (binding) => validateBindingKey(binding.key) ?? validateArgs(binding),
  createRouter: (): Router => {
    const conditions = new Map<string, Condition>();
    return {
      bind(binding) {
        const id = bindingId(binding);
        if (!conditions.has(id)) conditions.set(id, toCondition(binding));
      },
      unbind: (binding) => conditions.delete(bindingId(binding)),
      // Arguments are arbitrary sets of pairs with no order to index by: a scan, as in RabbitMQ.
      route(message) {
        const found = new Set<string>();
        const hit = ([name, value]: readonly [string, HeaderValue]) =>
          Object.hasOwn(message.headers, name) && message.headers[name] === value;
        for (const condition of conditions.values()) {
          if (found.has(condition.queue)) continue;
          const matched = condition.needsAll ? condition.expected.every(hit) : condition.expected.some(hit);
          if (matched) found.add(condition.queue);
        }
        return [...found];
      },
    };
  },
};

const validateArgs = (binding: Binding): BrokerError | null => {
  const invalid = (why: string) => brokerError(ErrorCodes.BINDING_INVALID, why);
  const mode: unknown = binding.args["x-match"];
  if (mode !== undefined && !MATCH_MODES.includes(mode as string)) {
    return invalid(`x-match must be one of ${MATCH_MODES.join(", ")}; got ${JSON.stringify(mode)}`);
  }
  for (const [name, value] of Object.entries(binding.args)) {
    if (!isScalar(value)) {
      return invalid(`binding argument "${name}" must be a string, number, boolean or null`);
    }
  }
  return null;
};

const isScalar = (value: unknown): value is HeaderValue =>
  value === null || ["string", "number", "boolean"].includes(typeof value);

const toCondition = (binding: Binding): Condition => {
  // An unvalidated unknown mode falls back to "all", as RabbitMQ's legacy parse_x_match does.
  const raw = binding.args["x-match"];
  const mode: MatchMode = MATCH_MODES.includes(raw as string) ? (raw as MatchMode) : "all";
  const withX = mode.endsWith("-with-x");
  const expected = Object.entries(binding.args).filter(
    ([name]) => name !== "x-match" && (withX || !name.startsWith("x-")),
  );
  return { queue: binding.queue, needsAll: mode.startsWith("all"), expected };
};
