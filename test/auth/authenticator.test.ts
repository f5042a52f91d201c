import { beforeAll, describe, expect, test } from "bun:test";
import { SignJWT, type JWTPayload } from "jose";
import { ErrorCodes } from "../../src/core/errors.ts";
import { createAuthenticator, looksLikeJwt, type Authenticator } from "../../src/auth/authenticator.ts";
import { JwtVerifier } from "../../src/auth/jwt.ts";
import { UserDirectory } from "../../src/auth/users.ts";
import type { Identity } from "../../src/auth/identity.ts";

const NOW_S = 1_800_000_000;
const SECRET = "a-shared-secret-of-at-least-32-bytes!";
const CHEAP = { memoryCost: 64, timeCost: 1 };
const ALL = { configure: ".*", write: ".*", read: ".*" };

const token = (claims: JWTPayload) =>
  new SignJWT({ exp: NOW_S + 60, ...claims }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));

let users: UserDirectory;
let auth: Authenticator;
let aliceKey: string;
let aliceKeyId: string;
beforeAll(async () => {
  const created = UserDirectory.fromDocument(
    { users: [{ name: "alice", admin: true, permissions: { ...ALL, deny: { read: "^audit$" } } }, { name: "bob", permissions: { configure: "", write: "", read: "^bob\\." } }] },
    { keyHashCost: CHEAP },
  );
  if (!created.ok) throw new Error(created.error.message);
  users = created.value;
  const key = await users.createKey("alice");
  if (!key.ok) throw new Error(key.error.message);
  ({ key: aliceKey, id: aliceKeyId } = key.value);
  const jwt = await JwtVerifier.create({ secret: SECRET, now: () => NOW_S * 1000 });
  if (!jwt.ok) throw new Error(jwt.error.message);
  auth = createAuthenticator({ users, jwt: jwt.value });
});

const identity = async (credential: Parameters<Authenticator["authenticate"]>[0]): Promise<Identity> => {
  const result = await auth.authenticate(credential);
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
};

describe("bearer credentials, told apart by shape", () => {
  test("an API key", async () => {
    expect(await identity({ bearer: aliceKey })).toMatchObject({ user: "alice", admin: true, via: "api_key", keyId: aliceKeyId });
    expect(await identity({ bearer: `  ${aliceKey}\t` })).toMatchObject({ user: "alice" });
  });

  test("a JWT of a known user without a claim: the user's permissions and admin flag", async () => {
    const id = await identity({ bearer: await token({ sub: "alice" }) });
    expect(id).toMatchObject({ user: "alice", admin: true, via: "jwt", expiresAt: (NOW_S + 60) * 1000 });
    expect(id.permissions.can("read", "orders")).toBe(true);
    expect(id.permissions.can("read", "audit")).toBe(false);
  });

  test("a JWT of a known user with a claim: narrowed, and never admin", async () => {
    const id = await identity({ bearer: await token({ sub: "alice", pubsub: { read: "^user\\.{user}\\.|^audit$" } }) });
    expect(id.admin).toBe(false);
    expect(id.permissions.can("read", "user.alice.inbox")).toBe(true);
    expect(id.permissions.can("read", "user.bob.inbox")).toBe(false);
    expect(id.permissions.can("read", "audit")).toBe(false); // the claim allows it, the user's deny wins
    expect(id.permissions.can("write", "orders")).toBe(false); // the user may, the claim says nothing
  });

  test("a claim cannot widen a user's permissions", async () => {
    const id = await identity({ bearer: await token({ sub: "bob", pubsub: ALL }) });
    expect(id.permissions.can("read", "bob.q")).toBe(true);
    expect(id.permissions.can("read", "alice.q")).toBe(false);
    expect(id.permissions.can("configure", "bob.q")).toBe(false);
  });

  test("a browser token of an unknown user: the claim alone (Centrifugo-like)", async () => {
    const id = await identity({ bearer: await token({ sub: "42", pubsub: { read: "^user\\.{user}\\." } }) });
    expect(id).toMatchObject({ user: "42", admin: false, via: "jwt" });
    expect(id.permissions.can("read", "user.42.notifications")).toBe(true);
    expect(id.permissions.can("read", "user.43.notifications")).toBe(false);
    expect(id.permissions.can("write", "user.42.notifications")).toBe(false);
  });

  test("an unknown user and no claim: FORBIDDEN", async () => {
    const result = await auth.authenticate({ bearer: await token({ sub: "stranger" }) });
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCodes.FORBIDDEN } });
  });

  test("a claim with an invalid pattern: TOKEN_INVALID", async () => {
    const result = await auth.authenticate({ bearer: await token({ sub: "42", pubsub: { read: "(" } }) });
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCodes.TOKEN_INVALID, reason: "claims" } });
  });

  test("a refused JWT keeps its code: TOKEN_EXPIRED", async () => {
    const result = await auth.authenticate({ bearer: await token({ sub: "alice", exp: NOW_S - 1 }) });
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCodes.TOKEN_EXPIRED } });
  });

  test("anything else: UNAUTHORIZED, with the same message for unknown, wrong and foreign keys", async () => {
    for (const bearer of ["", "   ", "hello", "pk_nothing", `pk_${"0".repeat(16)}_${"A".repeat(43)}`, "x".repeat(20_000)]) {
      const result = await auth.authenticate({ bearer });
      expect(result).toMatchObject({ ok: false, error: { code: ErrorCodes.UNAUTHORIZED } });
    }
    const wrong = await auth.authenticate({ bearer: `pk_${aliceKeyId}_${"A".repeat(43)}` });
    const unknown = await auth.authenticate({ bearer: `pk_${"0".repeat(16)}_${"A".repeat(43)}` });
    expect(!wrong.ok && !unknown.ok && wrong.error.message === unknown.error.message).toBe(true);
  });

  test("shapes", () => {
    expect(looksLikeJwt("eyJh.eyJz.c2ln")).toBe(true);
    expect(looksLikeJwt("eyJh.eyJz.")).toBe(true);
    expect(looksLikeJwt(aliceKey)).toBe(false);
    expect(looksLikeJwt("a.b")).toBe(false);
  });
});

describe("Basic", () => {
  test("a user and their API key", async () => {
    expect(await identity({ basic: { user: "alice", password: aliceKey } })).toMatchObject({ user: "alice", via: "api_key" });
    expect(await auth.authenticate({ basic: { user: "bob", password: aliceKey } })).toMatchObject({ ok: false, error: { code: ErrorCodes.UNAUTHORIZED } });
    expect(await auth.authenticate({ basic: { user: "alice", password: "guess" } })).toMatchObject({ ok: false, error: { code: ErrorCodes.UNAUTHORIZED } });
  });
  test("a JWT as the password: the user must be its sub (or empty)", async () => {
    const jwt = await token({ sub: "alice" });
    expect(await identity({ basic: { user: "alice", password: jwt } })).toMatchObject({ user: "alice", via: "jwt" });
    expect(await identity({ basic: { user: "", password: jwt } })).toMatchObject({ user: "alice", via: "jwt" });
    expect(await auth.authenticate({ basic: { user: "bob", password: jwt } })).toMatchObject({ ok: false, error: { code: ErrorCodes.UNAUTHORIZED } });
  });
});

describe("without users or a JWT key", () => {
  test("a JWT where no verifier is configured, a key where no users are", async () => {
    const bare = createAuthenticator({});
    expect(await bare.authenticate({ bearer: await token({ sub: "alice" }) })).toMatchObject({ ok: false, error: { code: ErrorCodes.UNAUTHORIZED } });
    expect(await bare.authenticate({ bearer: aliceKey })).toMatchObject({ ok: false, error: { code: ErrorCodes.UNAUTHORIZED } });
  });
});

describe("recheck after a change", () => {
  test("a permission change reaches an API-key identity; deleting the key ends it", async () => {
    const dir = UserDirectory.fromDocument({ users: [{ name: "carol", permissions: ALL }] }, { keyHashCost: CHEAP });
    if (!dir.ok) throw new Error();
    const key = await dir.value.createKey("carol");
    if (!key.ok) throw new Error();
    const a = createAuthenticator({ users: dir.value });
    const before = await a.authenticate({ bearer: key.value.key });
    if (!before.ok) throw new Error();
    await dir.value.putUser("carol", { permissions: { configure: "", write: "", read: "^only$" } });
    const after = a.recheck(before.value)!;
    expect(after.permissions.can("read", "other")).toBe(false);
    expect(after.permissions.can("read", "only")).toBe(true);
    await dir.value.deleteKey("carol", key.value.id);
    expect(a.recheck(before.value)).toBeUndefined();
  });

  test("[AUTH-7] a JWT identity: narrowed again by its claim; its user gone, nothing (never widened to the claim alone)", async () => {
    const dir = UserDirectory.fromDocument({ users: [{ name: "dave", admin: true, permissions: ALL }] }, { keyHashCost: CHEAP });
    const jwt = await JwtVerifier.create({ secret: SECRET, now: () => NOW_S * 1000 });
    if (!dir.ok || !jwt.ok) throw new Error();
    const a = createAuthenticator({ users: dir.value, jwt: jwt.value });
    const plain = await a.authenticate({ bearer: await token({ sub: "dave" }) });
    const claimed = await a.authenticate({ bearer: await token({ sub: "dave", pubsub: { read: "^dave\\." } }) });
    if (!plain.ok || !claimed.ok) throw new Error();
    await dir.value.putUser("dave", { permissions: { configure: "", write: "", read: "^dave\\.a" } });
    expect(a.recheck(plain.value)!.admin).toBe(false);
    expect(a.recheck(claimed.value)!.permissions.can("read", "dave.b")).toBe(false);
    expect(a.recheck(claimed.value)!.permissions.can("read", "dave.a1")).toBe(true);
    await dir.value.deleteUser("dave");
    expect(a.recheck(plain.value)).toBeUndefined();
    // Its claim alone would grant dave.b, which the user never could: the identity ends instead.
    expect(a.recheck(claimed.value)).toBeUndefined();
  });
});
