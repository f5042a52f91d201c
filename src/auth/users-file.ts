/**
 * The USERS_FILE format, read and written (README "Users and API keys"):
 *
 *   { "users": [ { "name": "alice", "admin": false,
 *                  "permissions": { "configure": "^alice\\.", "write": ".*", "read": ".*" },
 *                  "keys": [ { "id": "0123456789abcdef", "hash": "$argon2id$v=19$…", "created_at": "…" } ] } ] }
 *
 * Validated whole before it is used: an error names the user and the field. Unknown fields are
 * refused (a misspelt `permisions` must not leave a user with none unnoticed).
 */
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { isArgon2idHash, isKeyId } from "./api-keys.ts";
import { MAX_USER_NAME_LENGTH } from "./limits.ts";
import { isObject, parsePermissions, type PermissionSet, type Permissions } from "./permissions.ts";

export type UserKey = Readonly<{ id: string; hash: string; createdAt: string }>;

export type UserRecord = Readonly<{
  name: string;
  admin: boolean;
  /** As written in the file (for listing and saving); `permissions` is it compiled for this user. */
  permissionSet: PermissionSet;
  permissions: Permissions;
  keys: readonly UserKey[];
}>;

/**
 * Stricter than exchange and queue names (core/names.ts), for three reasons: a name travels in a
 * Basic header, where `:` ends it; ASCII only, so no two users look alike (`аlice` with a Cyrillic
 * а); and it lands in log lines and in `{user}`-expanded patterns. E-mail addresses and UUIDs fit.
 */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$/;

/** Null when `name` may name a user; otherwise why not. */
export function userNameProblem(name: unknown): string | null {
  if (typeof name !== "string") return "must be a string";
  if (name.length < 1 || name.length > MAX_USER_NAME_LENGTH) return `must be 1 to ${MAX_USER_NAME_LENGTH} characters, got ${name.length}`;
  if (!USER_NAME.test(name)) return "may hold only ASCII letters, digits and _ . @ + - (not first: . @ + -)";
  return null;
}

const DOCUMENT_FIELDS = new Set(["users"]);
const USER_FIELDS = new Set(["name", "admin", "permissions", "keys"]);
const KEY_FIELDS = new Set(["id", "hash", "created_at"]);

/** The users of a parsed USERS_FILE, by name; VALIDATION errors name the user and field. */
export function parseUsersDocument(raw: unknown): Result<Map<string, UserRecord>> {
  if (!isObject(raw) || !Array.isArray(raw.users)) return fail(ErrorCodes.VALIDATION, `must be an object {"users": [...]}`);
  const extra = Object.keys(raw).find((k) => !DOCUMENT_FIELDS.has(k));
  if (extra !== undefined) return fail(ErrorCodes.VALIDATION, `${extra}: unknown field (the file holds "users")`);
  const users = new Map<string, UserRecord>();
  const keyOwners = new Map<string, string>();
  for (const [i, entry] of raw.users.entries()) {
    const where = isObject(entry) && typeof entry.name === "string" ? `users[${i}] (${JSON.stringify(entry.name)})` : `users[${i}]`;
    const user = userOf(entry, where);
    if (!user.ok) return user;
    if (users.has(user.value.name)) return fail(ErrorCodes.VALIDATION, `${where}.name: a user of that name is listed before`);
    for (const key of user.value.keys) {
      const owner = keyOwners.get(key.id);
      if (owner !== undefined) return fail(ErrorCodes.VALIDATION, `${where}.keys: key id ${key.id} is also ${JSON.stringify(owner)}'s`);
      keyOwners.set(key.id, user.value.name);
    }
    users.set(user.value.name, user.value);
  }
  return ok(users);
}

/** One user entry, checked and compiled. */
export function userOf(entry: unknown, where: string): Result<UserRecord> {
  if (!isObject(entry)) return fail(ErrorCodes.VALIDATION, `${where} must be an object with name, admin, permissions and keys`);
  const extra = Object.keys(entry).find((k) => !USER_FIELDS.has(k));
  if (extra !== undefined) return fail(ErrorCodes.VALIDATION, `${where}.${extra}: unknown field (name, admin, permissions, keys)`);
  const nameProblem = userNameProblem(entry.name);
  if (nameProblem) return fail(ErrorCodes.VALIDATION, `${where}.name ${nameProblem}`);
  const name = entry.name as string;
  if (entry.admin !== undefined && typeof entry.admin !== "boolean") return fail(ErrorCodes.VALIDATION, `${where}.admin must be true or false`);
  // No permissions: none, as a new RabbitMQ user has none until they are set.
  const compiled = parsePermissions(entry.permissions ?? { configure: "", write: "", read: "" }, name, `${where}.permissions`);
  if (!compiled.ok) return compiled;
  const keys: UserKey[] = [];
  if (entry.keys !== undefined && !Array.isArray(entry.keys)) return fail(ErrorCodes.VALIDATION, `${where}.keys must be an array of {id, hash, created_at}`);
  for (const [k, key] of ((entry.keys as unknown[] | undefined) ?? []).entries()) {
    const at = `${where}.keys[${k}]`;
    if (!isObject(key)) return fail(ErrorCodes.VALIDATION, `${at} must be an object {id, hash, created_at}`);
    const extraKey = Object.keys(key).find((f) => !KEY_FIELDS.has(f));
    if (extraKey !== undefined) return fail(ErrorCodes.VALIDATION, `${at}.${extraKey}: unknown field (id, hash, created_at)`);
    if (typeof key.id !== "string" || !isKeyId(key.id)) return fail(ErrorCodes.VALIDATION, `${at}.id must be 16 lower-case hex digits (the id inside pk_<id>_<secret>)`);
    if (typeof key.hash !== "string" || !isArgon2idHash(key.hash)) {
      return fail(ErrorCodes.VALIDATION, `${at}.hash must be an argon2id hash ($argon2id$v=19$…, as \`pubsub key\` prints), never the key itself`);
    }
    if (key.created_at !== undefined && (typeof key.created_at !== "string" || Number.isNaN(Date.parse(key.created_at)))) {
      return fail(ErrorCodes.VALIDATION, `${at}.created_at must be an ISO 8601 date`);
    }
    if (keys.some((other) => other.id === key.id)) return fail(ErrorCodes.VALIDATION, `${at}.id ${key.id} is listed twice`);
    keys.push({ id: key.id, hash: key.hash, createdAt: (key.created_at as string | undefined) ?? "" });
  }
  return ok({ name, admin: entry.admin === true, permissionSet: compiled.value.set, permissions: compiled.value.permissions, keys });
}

/** The file's text for these users, in name order (so a save changes only what changed). */
export function usersDocumentText(users: Iterable<UserRecord>): string {
  const entries = [...users]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((u) => ({
      name: u.name,
      admin: u.admin,
      permissions: u.permissionSet,
      keys: u.keys.map((k) => ({ id: k.id, hash: k.hash, ...(k.createdAt !== "" && { created_at: k.createdAt }) })),
    }));
  return `${JSON.stringify({ users: entries }, null, 2)}\n`;
}
