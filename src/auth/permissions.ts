/**
 * RabbitMQ's permission model, transport-free. A permission set holds three regular expressions
 * over exchange and queue names — configure (declare, delete), write (publish to an exchange, bind
 * a queue), read (bind from an exchange, subscribe, consume, peek, purge) — with RabbitMQ's
 * semantics: unanchored JavaScript regexes, `""` matches nothing, `.*` everything, and `{user}`
 * stands for the regex-escaped user name. Beyond RabbitMQ (as NATS): `deny` patterns win over the
 * allows. `topics` restrict routing keys on named exchanges (RabbitMQ's topic permissions).
 */
import { errorOf, ErrorCodes, fail, ok, type BrokerError, type Result } from "../core/errors.ts";
import { PERMISSION_CACHE_ENTRIES } from "./limits.ts";

export type Action = "configure" | "write" | "read";
export const ACTIONS: readonly Action[] = ["configure", "write", "read"];

/** Routing-key patterns for one exchange: write = publish with the key, read = bind with the key. */
export type TopicPermission = { exchange: string; write?: string; read?: string };

export type PermissionSet = {
  configure: string;
  write: string;
  read: string;
  deny?: Partial<Record<Action, string>>;
  topics?: readonly TopicPermission[];
};

/**
 * A compiled permission set. Answers are cached per (action, name), bounded: the broker asks on
 * every publish and subscribe. `canRoute` checks only the routing key: callers check `can("write",
 * exchange)` (or read) as well, and apply it to topic exchanges (as RabbitMQ does).
 */
export type Permissions = {
  can(action: Action, resourceName: string): boolean;
  canRoute(exchange: string, routingKey: string, access: "write" | "read"): boolean;
  /** The intersection: what both allow. A JWT's claim narrows its user's own permissions this way. */
  narrow(other: Permissions): Permissions;
};

/**
 * RabbitMQ checks the default exchange under the name `amq.default`: with `""` meaning "nothing",
 * the empty name could never be granted otherwise. `write: "^amq\\.default$"` allows publishing to it.
 */
export const DEFAULT_EXCHANGE_PERMISSION_NAME = "amq.default";

/** Everything, everywhere: the loopback guest with no users configured, and AUTH=none. */
export const FULL_ACCESS: Permissions = {
  can: () => true,
  canRoute: () => true,
  narrow: (other) => other,
};

/** Nothing: an unknown user whose token carries no permission claim. */
export const NO_ACCESS: Permissions = {
  can: () => false,
  canRoute: () => false,
  narrow: () => NO_ACCESS,
};

/** `\` before each regex syntax character, so `{user}` matches the name literally (valid under the `u` flag too). */
export const escapeRegex = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");

/**
 * Checks the shape of a permission set read from JSON (a users file, a JWT claim) and compiles it
 * for `user`. `field` names where it came from in errors (`users[0].permissions`). Omitted
 * configure/write/read mean `""` (nothing); unknown fields are refused, so a misspelt `reed` does
 * not silently grant nothing or everything.
 */
export function parsePermissions(raw: unknown, user: string, field = "permissions"): Result<{ set: PermissionSet; permissions: Permissions }> {
  const set = permissionSetOf(raw, field);
  if (!set.ok) return set;
  const permissions = compilePermissions(set.value, user, field);
  return permissions.ok ? ok({ set: set.value, permissions: permissions.value }) : permissions;
}

/** Compiles a permission set for `user`; an invalid regex is a VALIDATION error naming its field. */
export function compilePermissions(set: PermissionSet, user: string, field = "permissions"): Result<Permissions> {
  const escapedUser = escapeRegex(user);
  const compile = (pattern: string | undefined, at: string): RegExp | null | BrokerError => {
    if (pattern === undefined || pattern === "") return null; // RabbitMQ: "" grants nothing
    try {
      return new RegExp(pattern.replaceAll("{user}", escapedUser), "u");
    } catch (error) {
      return errorOf(ErrorCodes.VALIDATION, `${field}.${at}: invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
    }
  };
  const allow = new Map<Action, RegExp | null>();
  const deny = new Map<Action, RegExp | null>();
  for (const action of ACTIONS) {
    const a = compile(set[action], action);
    if (a instanceof RegExp || a === null) allow.set(action, a);
    else return { ok: false, error: a };
    const d = compile(set.deny?.[action], `deny.${action}`);
    if (d instanceof RegExp || d === null) deny.set(action, d);
    else return { ok: false, error: d };
  }
  const topics = new Map<string, Record<"write" | "read", { pattern: RegExp | null; answers: BoundedCache }>>();
  for (const [i, topic] of (set.topics ?? []).entries()) {
    if (topics.has(topic.exchange)) return fail(ErrorCodes.VALIDATION, `${field}.topics[${i}]: exchange ${JSON.stringify(topic.exchange)} is listed twice`);
    // An omitted pattern leaves that access unrestricted; "" refuses every key.
    const write = topic.write === undefined ? /(?:)/u : compile(topic.write, `topics[${i}].write`);
    const read = topic.read === undefined ? /(?:)/u : compile(topic.read, `topics[${i}].read`);
    if (!(write instanceof RegExp || write === null)) return { ok: false, error: write };
    if (!(read instanceof RegExp || read === null)) return { ok: false, error: read };
    topics.set(topic.exchange, { write: { pattern: write, answers: new BoundedCache() }, read: { pattern: read, answers: new BoundedCache() } });
  }
  return ok(
    cachedPermissions(
      (action, name) => {
        const checked = permissionName(action, name);
        return test(allow.get(action), checked) && !test(deny.get(action), checked);
      },
      (exchange, routingKey, access) => {
        // Cached per exchange and access, keyed by the bare routing key (no string built per publish).
        const topic = topics.get(exchange)?.[access];
        return topic === undefined || topic.answers.get(routingKey, () => test(topic.pattern, routingKey));
      },
    ),
  );
}

/** No pattern (`""`) matches nothing. The regexes carry no g/y flag, so `test` keeps no state between calls. */
const test = (pattern: RegExp | null | undefined, text: string): boolean => pattern != null && pattern.test(text);

/** The default exchange's name in checks (configure never applies to it: it cannot be declared or deleted). */
const permissionName = (action: Action, name: string): string =>
  name === "" && action !== "configure" ? DEFAULT_EXCHANGE_PERMISSION_NAME : name;

/**
 * Wraps the name check with bounded caches (the oldest answer goes first when one is full); `route`
 * caches its own answers. One cache per action, keyed by the bare name: no string is built on the hot path.
 */
function cachedPermissions(
  check: (action: Action, name: string) => boolean,
  route: (exchange: string, routingKey: string, access: "write" | "read") => boolean,
): Permissions {
  const names: Record<Action, BoundedCache> = { configure: new BoundedCache(), write: new BoundedCache(), read: new BoundedCache() };
  const permissions: Permissions = {
    can: (action, name) => names[action].get(name, () => check(action, name)),
    canRoute: route,
    narrow: (other) => narrowed(permissions, other),
  };
  return permissions;
}

function narrowed(a: Permissions, b: Permissions): Permissions {
  if (b === FULL_ACCESS) return a;
  if (a === FULL_ACCESS) return b;
  if (a === NO_ACCESS || b === NO_ACCESS) return NO_ACCESS;
  return cachedPermissions(
    (action, name) => a.can(action, name) && b.can(action, name),
    (exchange, key, access) => a.canRoute(exchange, key, access) && b.canRoute(exchange, key, access),
  );
}

class BoundedCache {
  readonly #answers = new Map<string, boolean>();
  get(key: string, compute: () => boolean): boolean {
    const known = this.#answers.get(key);
    if (known !== undefined) return known;
    const answer = compute();
    if (this.#answers.size >= PERMISSION_CACHE_ENTRIES) this.#answers.delete(this.#answers.keys().next().value!);
    this.#answers.set(key, answer);
    return answer;
  }
}

// ---- the JSON shape ----------------------------------------------------------------------------

const SET_FIELDS = new Set(["configure", "write", "read", "deny", "topics"]);
const TOPIC_FIELDS = new Set(["exchange", "write", "read"]);

function permissionSetOf(raw: unknown, field: string): Result<PermissionSet> {
  if (!isObject(raw)) return fail(ErrorCodes.VALIDATION, `${field} must be an object with configure, write and read patterns`);
  const unknown = Object.keys(raw).find((k) => !SET_FIELDS.has(k));
  if (unknown !== undefined) return fail(ErrorCodes.VALIDATION, `${field}.${unknown}: unknown field (configure, write, read, deny, topics)`);
  const set: PermissionSet = { configure: "", write: "", read: "" };
  for (const action of ACTIONS) {
    const pattern = raw[action];
    if (pattern === undefined) continue;
    if (typeof pattern !== "string") return fail(ErrorCodes.VALIDATION, `${field}.${action} must be a string (a regular expression)`);
    set[action] = pattern;
  }
  if (raw.deny !== undefined) {
    if (!isObject(raw.deny)) return fail(ErrorCodes.VALIDATION, `${field}.deny must be an object with configure, write or read patterns`);
    const deny: Partial<Record<Action, string>> = {};
    for (const [action, pattern] of Object.entries(raw.deny)) {
      if (!(ACTIONS as readonly string[]).includes(action)) return fail(ErrorCodes.VALIDATION, `${field}.deny.${action}: unknown field (configure, write, read)`);
      if (typeof pattern !== "string") return fail(ErrorCodes.VALIDATION, `${field}.deny.${action} must be a string (a regular expression)`);
      deny[action as Action] = pattern;
    }
    set.deny = deny;
  }
  if (raw.topics !== undefined) {
    if (!Array.isArray(raw.topics)) return fail(ErrorCodes.VALIDATION, `${field}.topics must be an array of {exchange, write?, read?}`);
    const topics: TopicPermission[] = [];
    for (const [i, topic] of raw.topics.entries()) {
      const at = `${field}.topics[${i}]`;
      if (!isObject(topic) || typeof topic.exchange !== "string") return fail(ErrorCodes.VALIDATION, `${at} must be an object with an exchange name`);
      const unknownTopic = Object.keys(topic).find((k) => !TOPIC_FIELDS.has(k));
      if (unknownTopic !== undefined) return fail(ErrorCodes.VALIDATION, `${at}.${unknownTopic}: unknown field (exchange, write, read)`);
      for (const access of ["write", "read"] as const) {
        if (topic[access] !== undefined && typeof topic[access] !== "string") return fail(ErrorCodes.VALIDATION, `${at}.${access} must be a string (a regular expression)`);
      }
      topics.push({ exchange: topic.exchange, ...(topic.write !== undefined && { write: topic.write as string }), ...(topic.read !== undefined && { read: topic.read as string }) });
    }
    set.topics = topics;
  }
  return ok(set);
}

export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
