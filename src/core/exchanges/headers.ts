import { errorOf, ErrorCodes, type BrokerError } from "../errors.ts";
import { validateBindingKey } from "../names.ts";
import { bindingSet, isHeaderScalar, type Binding, type ExchangeType, type HeaderScalar, type Router } from "./types.ts";

type MatchMode = "all" | "any" | "all-with-x" | "any-with-x";
const MATCH_MODES: readonly string[] = ["all", "any", "all-with-x", "any-with-x"];

/** A binding reduced to what matching needs, computed once at bind time. */
type Condition = {
  readonly queue: string;
  readonly needsAll: boolean;
  readonly expected: readonly (readonly [string, HeaderScalar])[];
};

/**
 * RabbitMQ 3.10+ semantics: `x-match` is never matched itself; plain "all"/"any" also ignore
 * other "x-" arguments, the "-with-x" modes match them. An argument matches when the message
 * header of that name is strictly equal, except that a null argument (AMQP's void) matches any
 * value, as long as the header is present [HEADERS-3]. "all" with nothing to match takes every
 * message; "any" with nothing takes none.
 */
export const headers: ExchangeType = {
  kind: "headers",
  validateBinding: (binding) => validateBindingKey(binding.key) ?? validateArgs(binding),
  createRouter: (): Router => {
    const bindings = bindingSet();
    // Keyed by the binding object the set holds.
    const conditions = new Map<Binding, Condition>();
    return {
      bindings,
      bind(binding) {
        if (bindings.add(binding)) conditions.set(binding, toCondition(binding));
      },
      unbind(binding) {
        const held = bindings.delete(binding);
        return held !== undefined && conditions.delete(held);
      },
      // Arguments are arbitrary sets of pairs with no order to index by: a scan, as in RabbitMQ.
      route(message) {
        const found = new Set<string>();
        const hit = ([name, value]: readonly [string, HeaderScalar]) =>
          Object.hasOwn(message.headers, name) && (value === null || message.headers[name] === value);
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
  const invalid = (why: string) => errorOf(ErrorCodes.BINDING_INVALID, why);
  const mode: unknown = binding.args["x-match"];
  if (mode !== undefined && !MATCH_MODES.includes(mode as string)) {
    return invalid(`x-match must be one of ${MATCH_MODES.join(", ")}; got ${JSON.stringify(mode)}`);
  }
  for (const [name, value] of Object.entries(binding.args)) {
    if (!isHeaderScalar(value)) return invalid(`binding argument "${name}" must be a string, number, boolean or null`);
  }
  return null;
};

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
