import { afterAll, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCodes } from "../../src/core/errors.ts";
import { generateKey, hashKey, keyIdOf } from "../../src/auth/api-keys.ts";
import { VERIFIED_KEY_TTL_MS } from "../../src/auth/limits.ts";
import { UserDirectory, type UserChange, type UserDirectoryOptions } from "../../src/auth/users.ts";

/** Argon2id at its cheapest: the tests check behaviour, not cost. */
const CHEAP = { memoryCost: 64, timeCost: 1 };
const dir = mkdtempSync(join(tmpdir(), "pubsub-users-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `users-${++files}.json`);

const directory = (raw: unknown, options: UserDirectoryOptions = {}): UserDirectory => {
  const result = UserDirectory.fromDocument(raw, { keyHashCost: CHEAP, ...options });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};
const unwrap = <T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};
const ALL = { configure: ".*", write: ".*", read: ".*" };

describe("USERS_FILE validation: errors name the user and the field", () => {
  const hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
  const cases: [unknown, string][] = [
    [[], 'must be an object {"users": [...]}'],
    [{ users: [], extra: 1 }, "extra: unknown field"],
    [{ users: [{ name: "a:b" }] }, 'users[0] ("a:b").name may hold only ASCII letters'],
    [{ users: [{ name: "аlice" }] }, 'users[0] ("аlice").name may hold only ASCII'], // Cyrillic а: a look-alike
    [{ users: [{ name: "" }] }, 'users[0] ("").name must be 1 to 128 characters'],
    [{ users: [{ name: 7 }] }, "users[0].name must be a string"],
    [{ users: [{ name: "bob", admin: "yes" }] }, 'users[0] ("bob").admin must be true or false'],
    [{ users: [{ name: "bob", permisions: ALL }] }, 'users[0] ("bob").permisions: unknown field'],
    [{ users: [{ name: "ok" }, { name: "bob", permissions: { ...ALL, write: "(" } }] }, 'users[1] ("bob").permissions.write: invalid regular expression'],
    [{ users: [{ name: "bob" }, { name: "bob" }] }, 'users[1] ("bob").name: a user of that name is listed before'],
    [{ users: [{ name: "bob", keys: [{ id: "XYZ", hash }] }] }, 'users[0] ("bob").keys[0].id must be 16 lower-case hex digits'],
    [{ users: [{ name: "bob", keys: [{ id: "0123456789abcdef", hash: "pk_0123456789abcdef_secret" }] }] }, 'users[0] ("bob").keys[0].hash must be an argon2id hash'],
    [{ users: [{ name: "bob", keys: [{ id: "0123456789abcdef", hash: "$2b$10$bcryptbcryptbcryptbcrypt" }] }] }, "keys[0].hash must be an argon2id hash"],
    [{ users: [{ name: "bob", keys: [{ id: "0123456789abcdef", hash, created_at: "yesterday" }] }] }, "keys[0].created_at must be an ISO 8601 date"],
    [{ users: [{ name: "bob", keys: [{ id: "0123456789abcdef", hash, key: "pk_…" }] }] }, "keys[0].key: unknown field"],
    [
      { users: [{ name: "bob", keys: [{ id: "0123456789abcdef", hash }] }, { name: "eve", keys: [{ id: "0123456789abcdef", hash }] }] },
      'users[1] ("eve").keys: key id 0123456789abcdef is also "bob"\'s',
    ],
  ];
  for (const [raw, message] of cases) {
    test(message, () => {
      const result = UserDirectory.fromDocument(raw);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe(ErrorCodes.VALIDATION);
        expect(result.error.message).toContain(message);
      }
    });
  }

  test("a valid file loads; a user without permissions has none", async () => {
    const path = freshPath();
    writeFileSync(path, JSON.stringify({ users: [{ name: "alice@example.com", admin: true, permissions: ALL }, { name: "bob" }] }));
    const users = unwrap(await UserDirectory.load(path));
    expect(users.size).toBe(2);
    expect(users.get("alice@example.com")).toEqual({ name: "alice@example.com", admin: true, permissions: ALL, keys: [] });
    expect(users.record("bob")!.permissions.can("read", "anything")).toBe(false);
  });

  test("a file that is not JSON names the file", async () => {
    const path = freshPath();
    writeFileSync(path, "{users:");
    const result = await UserDirectory.load(path);
    expect(!result.ok && result.error.message).toContain(`USERS_FILE ${path}: not JSON`);
  });

  test("a file that does not exist yet is an empty directory, written on the first change", async () => {
    const path = freshPath();
    const users = unwrap(await UserDirectory.load(path, { keyHashCost: CHEAP }));
    expect(users.size).toBe(0);
    unwrap(await users.putUser("first", { admin: true, permissions: ALL }));
    expect(JSON.parse(readFileSync(path, "utf8")).users[0].name).toBe("first");
  });
});

describe("API keys", () => {
  test("the key text: pk_<16 hex>_<43 base64url> (256 random bits), its id inside", () => {
    const { id, key } = generateKey();
    expect(key).toMatch(/^pk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(keyIdOf(key)).toBe(id);
    expect(generateKey().key).not.toBe(key);
    expect(keyIdOf("pk_0123_short")).toBeUndefined();
  });

  test("create → authenticate → delete; only the hash reaches the file", async () => {
    const path = freshPath();
    const users = unwrap(await UserDirectory.load(path, { keyHashCost: CHEAP }));
    unwrap(await users.putUser("alice", { permissions: { ...ALL, configure: "^{user}\\." } }));
    const { id, key } = unwrap(await users.createKey("alice"));
    const text = readFileSync(path, "utf8");
    expect(text).toContain(id);
    expect(text).toContain("$argon2id$");
    expect(text).not.toContain(key.slice(20)); // the secret part never
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);

    const identity = await users.authenticate(key);
    expect(identity).toMatchObject({ user: "alice", admin: false, via: "api_key", keyId: id });
    expect(identity!.permissions.can("configure", "alice.q")).toBe(true);
    expect(identity!.permissions.can("configure", "bob.q")).toBe(false);
    expect(users.get("alice")!.keys).toEqual([{ id, created_at: expect.any(String) }]);

    // The file reloads to the same directory.
    const reloaded = unwrap(await UserDirectory.load(path));
    expect((await reloaded.authenticate(key))?.user).toBe("alice");

    unwrap(await users.deleteKey("alice", id));
    expect(await users.authenticate(key)).toBeUndefined(); // although it was verified (cached) a moment ago
    expect(readFileSync(path, "utf8")).not.toContain(id);
  });

  test("a wrong secret with a right id is refused", async () => {
    const users = directory({ users: [{ name: "alice", permissions: ALL }] });
    const { id, key } = unwrap(await users.createKey("alice"));
    const forged = `pk_${id}_${"A".repeat(43)}`;
    expect(keyIdOf(forged)).toBe(id);
    expect(await users.authenticate(forged)).toBeUndefined();
    expect(await users.authenticate(key.slice(0, -1) + (key.endsWith("A") ? "B" : "A"))).toBeUndefined();
    expect(await users.authenticate(`pk_${"0".repeat(16)}_${key.slice(20)}`)).toBeUndefined(); // unknown id
    expect(await users.authenticate("not a key")).toBeUndefined();
    expect((await users.authenticate(key))?.user).toBe("alice");
  });

  test("Basic: the key must be that user's", async () => {
    const users = directory({ users: [{ name: "alice", permissions: ALL }, { name: "bob", permissions: ALL }] });
    const { key } = unwrap(await users.createKey("alice"));
    expect((await users.authenticateBasic("alice", key))?.user).toBe("alice");
    expect(await users.authenticateBasic("bob", key)).toBeUndefined();
  });

  test("a key written by hand (pubsub key's hash line) authenticates", async () => {
    const { id, key } = generateKey();
    const users = directory({ users: [{ name: "ci", permissions: ALL, keys: [{ id, hash: await hashKey(key, CHEAP), created_at: "2026-12-01T00:00:00.000Z" }] }] });
    expect((await users.authenticate(key))?.user).toBe("ci");
  });

  test("verified keys skip argon2 until the cache entry expires; a failure is never cached", async () => {
    let now = 1_000_000;
    const users = directory({ users: [{ name: "alice", permissions: ALL }] }, { now: () => now });
    const { key, id } = unwrap(await users.createKey("alice"));
    const verify = spyOn(Bun.password, "verify");
    try {
      await users.authenticate(key);
      await users.authenticate(key);
      await users.authenticate(key);
      expect(verify).toHaveBeenCalledTimes(1);
      await users.authenticate(`pk_${id}_${"B".repeat(43)}`); // same id, other digest: argon2 again, refused
      expect(verify).toHaveBeenCalledTimes(2);
      await users.authenticate(key);
      expect(verify).toHaveBeenCalledTimes(2);
      now += VERIFIED_KEY_TTL_MS;
      expect((await users.authenticate(key))?.user).toBe("alice");
      expect(verify).toHaveBeenCalledTimes(3);
    } finally {
      verify.mockRestore();
    }
  });

  test("keys of unknown users and ids are refused with errors that say which", async () => {
    const users = directory({ users: [{ name: "alice" }] });
    expect(await users.createKey("nobody")).toMatchObject({ ok: false, error: { code: ErrorCodes.USER_NOT_FOUND } });
    expect(await users.deleteKey("alice", "0123456789abcdef")).toMatchObject({ ok: false, error: { code: ErrorCodes.KEY_NOT_FOUND } });
    expect(await users.deleteKey("nobody", "0123456789abcdef")).toMatchObject({ ok: false, error: { code: ErrorCodes.USER_NOT_FOUND } });
    expect(await users.deleteUser("nobody")).toMatchObject({ ok: false, error: { code: ErrorCodes.USER_NOT_FOUND } });
  });
});

describe("admin operations", () => {
  test("putUser validates before anything changes", async () => {
    const users = directory({ users: [] });
    expect(await users.putUser("a b", { permissions: ALL })).toMatchObject({ ok: false, error: { code: ErrorCodes.VALIDATION } });
    const bad = await users.putUser("bob", { permissions: { ...ALL, read: "[" } });
    expect(!bad.ok && bad.error.message).toContain("permissions.read: invalid regular expression");
    expect(users.size).toBe(0);
  });

  test("putUser replaces flag and permissions, keeps the keys; created says which", async () => {
    const users = directory({ users: [] });
    expect(unwrap(await users.putUser("alice", { permissions: ALL }))).toEqual({ created: true });
    const { key } = unwrap(await users.createKey("alice"));
    expect(unwrap(await users.putUser("alice", { admin: true, permissions: { configure: "", write: "", read: "^only$" } }))).toEqual({ created: false });
    const identity = await users.authenticate(key);
    expect(identity?.admin).toBe(true);
    expect(identity!.permissions.can("read", "only")).toBe(true);
    expect(identity!.permissions.can("read", "other")).toBe(false);
  });

  test("deleteUser ends its keys", async () => {
    const users = directory({ users: [{ name: "alice", permissions: ALL }] });
    const { key } = unwrap(await users.createKey("alice"));
    expect(await users.authenticate(key)).toBeDefined();
    unwrap(await users.deleteUser("alice"));
    expect(await users.authenticate(key)).toBeUndefined();
    expect(users.size).toBe(0);
  });

  test("onChange tells each saved change; a throwing listener does not stop the others", async () => {
    const warnings: string[] = [];
    const users = directory({ users: [] }, { warn: (m) => warnings.push(m) });
    const seen: UserChange[] = [];
    users.onChange(() => {
      throw new Error("boom");
    });
    const stop = users.onChange((change) => seen.push(change));
    await users.putUser("alice", { permissions: ALL });
    const { id } = unwrap(await users.createKey("alice"));
    await users.deleteKey("alice", id);
    await users.deleteUser("alice");
    await users.deleteUser("alice"); // fails: no event
    stop();
    await users.putUser("bob", {});
    expect(seen).toEqual([
      { kind: "user_updated", user: "alice" },
      { kind: "user_updated", user: "alice" },
      { kind: "key_deleted", user: "alice", keyId: id },
      { kind: "user_deleted", user: "alice" },
    ]);
    expect(warnings.length).toBe(5);
  });

  test("a failed save changes nothing, in memory or on disk", async () => {
    const path = join(dir, "no-such-dir", "users.json");
    const users = directory({ users: [{ name: "alice", permissions: ALL }] }, { path });
    const events: UserChange[] = [];
    users.onChange((c) => events.push(c));
    const result = await users.putUser("bob", { permissions: ALL });
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCodes.INTERNAL } });
    expect(!result.ok && result.error.message).toContain("could not save USERS_FILE");
    expect(users.get("bob")).toBeUndefined();
    expect(events).toEqual([]);
  });

  test("deny and topics survive a save and a reload", async () => {
    const path = freshPath();
    const users = unwrap(await UserDirectory.load(path, { keyHashCost: CHEAP }));
    const permissions = { configure: "^{user}\\.", write: ".*", read: ".*", deny: { read: "^audit$" }, topics: [{ exchange: "events", write: "^user\\.{user}\\." }] };
    unwrap(await users.putUser("alice", { admin: true, permissions }));
    const reloaded = unwrap(await UserDirectory.load(path));
    expect(reloaded.get("alice")).toEqual({ name: "alice", admin: true, permissions, keys: [] });
    const p = reloaded.record("alice")!.permissions;
    expect([p.can("read", "audit"), p.canRoute("events", "user.alice.x", "write"), p.canRoute("events", "user.bob.x", "write")]).toEqual([false, true, false]);
  });

  test("concurrent operations all land, one after another", async () => {
    const path = freshPath();
    const users = unwrap(await UserDirectory.load(path, { keyHashCost: CHEAP }));
    await users.putUser("alice", { permissions: ALL });
    const created = await Promise.all([users.createKey("alice"), users.createKey("alice"), users.putUser("bob", {}), users.createKey("alice")]);
    expect(created.every((r) => r.ok)).toBe(true);
    const reloaded = unwrap(await UserDirectory.load(path));
    expect(reloaded.get("alice")!.keys.length).toBe(3);
    expect(reloaded.get("bob")).toBeDefined();
  });
});
