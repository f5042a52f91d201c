/**
 * The users and their API keys: loaded from USERS_FILE (users-file.ts has the format), managed by
 * an admin, saved back atomically. Owns the file and the verified-key cache, hence a class.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { generateKey, hashKey, keyIdOf, verifyKeyHash, VerifiedKeys, type KeyHashCost } from "./api-keys.ts";
import type { Identity } from "./identity.ts";
import { KEY_HASH_COST } from "./limits.ts";
import { parsePermissions, type PermissionSet } from "./permissions.ts";
import { parseUsersDocument, userNameProblem, usersDocumentText, type UserRecord } from "./users-file.ts";

/** What changed, for the transport to re-check open connections (`Authenticator.recheck`). */
export type UserChange =
  | { kind: "user_updated"; user: string }
  | { kind: "user_deleted"; user: string }
  | { kind: "key_deleted"; user: string; keyId: string };

/** A user as the admin API shows it: never a hash. */
export type UserView = {
  name: string;
  admin: boolean;
  permissions: PermissionSet;
  keys: { id: string; created_at: string | null }[];
};

export type UserDirectoryOptions = {
  /** USERS_FILE: changes are saved there. Without it the directory lives in memory only. */
  path?: string;
  now?: () => number;
  /** Argon2id cost of new key hashes; tests pass a tiny one. Verifying reads the cost from the hash. */
  keyHashCost?: KeyHashCost;
  /** Told when an onChange listener throws (the change is saved and the other listeners still run). */
  warn?: (message: string) => void;
};

export class UserDirectory {
  #users: ReadonlyMap<string, UserRecord>;
  /** Key id → its user's name: a lookup tries one hash, not all of them. */
  #keyOwners: ReadonlyMap<string, string>;
  readonly #verified: VerifiedKeys;
  readonly #listeners = new Set<(change: UserChange) => void>();
  /** Admin operations run one at a time: each reads the state the one before saved. */
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(users: ReadonlyMap<string, UserRecord>, private readonly options: UserDirectoryOptions) {
    this.#users = users;
    this.#keyOwners = keyOwnersOf(users);
    this.#verified = new VerifiedKeys(options.now ?? Date.now);
  }

  /** Reads USERS_FILE. A file that does not exist yet is an empty directory, written on the first change. */
  static async load(path: string, options: Omit<UserDirectoryOptions, "path"> = {}): Promise<Result<UserDirectory>> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return ok(new UserDirectory(new Map(), { ...options, path }));
      return fail(ErrorCodes.VALIDATION, `USERS_FILE ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      return fail(ErrorCodes.VALIDATION, `USERS_FILE ${path}: not JSON (${(error as Error).message})`);
    }
    const directory = UserDirectory.fromDocument(raw, { ...options, path });
    return directory.ok ? directory : fail(ErrorCodes.VALIDATION, `USERS_FILE ${path}: ${directory.error.message}`);
  }

  /** A directory from an already parsed document (`{"users": [...]}`). */
  static fromDocument(raw: unknown, options: UserDirectoryOptions = {}): Result<UserDirectory> {
    const users = parseUsersDocument(raw);
    return users.ok ? ok(new UserDirectory(users.value, options)) : users;
  }

  /** Keys of all users together: the bootstrap (no key yet) asks on every request, so no list is built. */
  get keyCount(): number {
    return this.#keyOwners.size;
  }

  /** How many users there are: none means the loopback guest rule applies. */
  get size(): number {
    return this.#users.size;
  }

  list(): UserView[] {
    return [...this.#users.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(viewOf);
  }

  get(name: string): UserView | undefined {
    const user = this.#users.get(name);
    return user && viewOf(user);
  }

  /** The user's current record (compiled permissions included), for a JWT naming a known user. */
  record(name: string): UserRecord | undefined {
    return this.#users.get(name);
  }

  /** The identity of a key's text, or undefined: unknown id, wrong secret, or not a key at all. */
  async authenticate(keyText: string): Promise<Identity | undefined> {
    const id = keyIdOf(keyText);
    if (id === undefined) return undefined;
    const owner = this.#keyOwners.get(id);
    const key = owner === undefined ? undefined : this.#users.get(owner)?.keys.find((k) => k.id === id);
    if (owner === undefined || key === undefined) return undefined;
    if (!this.#verified.has(id, keyText)) {
      if (!(await verifyKeyHash(keyText, key.hash))) return undefined;
      this.#verified.remember(id, keyText);
    }
    // Read again after the await: the key or its user may have gone while argon2 ran.
    const user = this.#users.get(owner);
    if (user === undefined || !user.keys.some((k) => k.id === id)) return undefined;
    return { user: user.name, admin: user.admin, permissions: user.permissions, via: "api_key", keyId: id };
  }

  /** Basic authentication: the password is an API key, and it must belong to that user. */
  async authenticateBasic(user: string, keyText: string): Promise<Identity | undefined> {
    const identity = await this.authenticate(keyText);
    return identity?.user === user ? identity : undefined;
  }

  /** Whether `keyId` still belongs to `user` (for re-checking a connection after a change). */
  hasKey(user: string, keyId: string): boolean {
    return this.#users.get(user)?.keys.some((k) => k.id === keyId) ?? false;
  }

  /** Creates or replaces a user's admin flag and permissions; its keys stay. Validated before anything is saved. */
  putUser(name: string, fields: { admin?: boolean; permissions?: unknown }): Promise<Result<{ created: boolean }>> {
    const nameProblem = userNameProblem(name);
    if (nameProblem) return Promise.resolve(fail(ErrorCodes.VALIDATION, `user name ${nameProblem}`));
    if (fields.admin !== undefined && typeof fields.admin !== "boolean") return Promise.resolve(fail(ErrorCodes.VALIDATION, "admin must be true or false"));
    const compiled = parsePermissions(fields.permissions ?? { configure: "", write: "", read: "" }, name);
    if (!compiled.ok) return Promise.resolve(compiled);
    return this.#change(async (users) => {
      const before = users.get(name);
      const next = new Map(users).set(name, {
        name,
        admin: fields.admin ?? false,
        permissionSet: compiled.value.set,
        permissions: compiled.value.permissions,
        keys: before?.keys ?? [],
      });
      return { users: next, value: { created: before === undefined }, change: { kind: "user_updated", user: name } };
    });
  }

  deleteUser(name: string): Promise<Result<void>> {
    return this.#change(async (users) => {
      const user = users.get(name);
      if (user === undefined) return fail(ErrorCodes.USER_NOT_FOUND, `no user ${JSON.stringify(name)}`);
      const next = new Map(users);
      next.delete(name);
      for (const key of user.keys) this.#verified.forget(key.id);
      return { users: next, value: undefined, change: { kind: "user_deleted", user: name } };
    });
  }

  /** A new key for `user`: its text is in the answer only, its hash is what is saved. */
  async createKey(user: string): Promise<Result<{ id: string; key: string }>> {
    if (!this.#users.has(user)) return fail(ErrorCodes.USER_NOT_FOUND, `no user ${JSON.stringify(user)}`);
    const created = generateKey();
    const hash = await hashKey(created.key, this.options.keyHashCost ?? KEY_HASH_COST);
    const createdAt = new Date((this.options.now ?? Date.now)()).toISOString();
    return this.#change(async (users) => {
      const record = users.get(user);
      if (record === undefined) return fail(ErrorCodes.USER_NOT_FOUND, `no user ${JSON.stringify(user)}`);
      const next = new Map(users).set(user, { ...record, keys: [...record.keys, { id: created.id, hash, createdAt }] });
      return { users: next, value: created, change: { kind: "user_updated", user } };
    });
  }

  deleteKey(user: string, id: string): Promise<Result<void>> {
    return this.#change(async (users) => {
      const record = users.get(user);
      if (record === undefined) return fail(ErrorCodes.USER_NOT_FOUND, `no user ${JSON.stringify(user)}`);
      if (!record.keys.some((k) => k.id === id)) return fail(ErrorCodes.KEY_NOT_FOUND, `user ${JSON.stringify(user)} has no key ${JSON.stringify(id)}`);
      this.#verified.forget(id);
      const next = new Map(users).set(user, { ...record, keys: record.keys.filter((k) => k.id !== id) });
      return { users: next, value: undefined, change: { kind: "key_deleted", user, keyId: id } };
    });
  }

  /** Called after each saved change; returns the function that stops it. */
  onChange(listener: (change: UserChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs one admin operation after the ones before it: it computes the next state from the current
   * one, the file is written, and only then does the directory switch to it and tell its listeners.
   * A failed save leaves the directory (and the file) as they were.
   */
  #change<T>(
    operation: (users: ReadonlyMap<string, UserRecord>) => Promise<{ users: ReadonlyMap<string, UserRecord>; value: T; change: UserChange } | Result<never>>,
  ): Promise<Result<T>> {
    const run = async (): Promise<Result<T>> => {
      const outcome = await operation(this.#users);
      if ("ok" in outcome) return outcome;
      if (this.options.path !== undefined) {
        const saved = await saveAtomically(this.options.path, usersDocumentText(outcome.users.values()));
        if (!saved.ok) return saved;
      }
      this.#users = outcome.users;
      this.#keyOwners = keyOwnersOf(outcome.users);
      for (const listener of this.#listeners) {
        try {
          listener(outcome.change);
        } catch (error) {
          this.options.warn?.(`a users onChange listener failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return ok(outcome.value);
    };
    const result = this.#writes.then(run, run);
    this.#writes = result;
    return result;
  }
}

const viewOf = (user: UserRecord): UserView => ({
  name: user.name,
  admin: user.admin,
  permissions: user.permissionSet,
  keys: user.keys.map((k) => ({ id: k.id, created_at: k.createdAt === "" ? null : k.createdAt })),
});

function keyOwnersOf(users: ReadonlyMap<string, UserRecord>): Map<string, string> {
  const owners = new Map<string, string>();
  for (const user of users.values()) for (const key of user.keys) owners.set(key.id, user.name);
  return owners;
}

/**
 * Write a temporary file beside it, flush it, rename it over: a crash leaves the old file or the
 * new one, never half of either. 0600: the hashes are not keys, but nobody else needs to read them.
 */
async function saveAtomically(path: string, text: string): Promise<Result<void>> {
  const temporary = join(dirname(path), `.${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2)}.users.tmp`);
  try {
    const file = await open(temporary, "w", 0o600);
    try {
      await file.writeFile(text, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    return ok(undefined);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    return fail(ErrorCodes.INTERNAL, `could not save USERS_FILE ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
