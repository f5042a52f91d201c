/**
 * One entry for every credential the transport receives: `Authorization: Bearer …` (an API key or
 * a JWT, told apart by shape), Basic (a user and an API key, or a JWT as the password as RabbitMQ's
 * OAuth 2 plugin takes it), a WebSocket AUTH frame's token. Transport-free: the caller extracts the
 * credential and turns a failure into a 401/403 or an ERROR frame.
 */
import { ErrorCodes, fail, ok, type Result } from "../core/errors.ts";
import { utf8ByteLength } from "../core/names.ts";
import { looksLikeApiKey } from "./api-keys.ts";
import type { Identity } from "./identity.ts";
import type { JwtVerifier, TokenRejection, VerifiedToken } from "./jwt.ts";
import { MAX_BEARER_BYTES } from "./limits.ts";
import { parsePermissions, type Permissions } from "./permissions.ts";
import type { UserDirectory } from "./users.ts";

export type Credential = { bearer: string } | { basic: { user: string; password: string } };

export type Authenticator = {
  /**
   * The identity a credential proves, or UNAUTHORIZED (nothing recognised), TOKEN_INVALID /
   * TOKEN_EXPIRED (a JWT refused: the error also has jwt.ts's `reason`), FORBIDDEN (a valid JWT
   * that grants nothing: an unknown user and no permission claim).
   */
  authenticate(credential: Credential): Promise<Result<Identity>>;
  /**
   * The identity again after a UserDirectory change (`onChange`): current permissions and admin
   * flag, or undefined when it lost all access (its user or key was deleted) and its connection
   * should close. Expiry is not its business: the transport compares `expiresAt` with its clock.
   */
  recheck(identity: Identity): Identity | undefined;
};

export type AuthenticatorOptions = { users?: UserDirectory; jwt?: JwtVerifier };

/** Three base64url segments: a JWS in compact form (the signature may be empty for alg none, refused later). */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
export const looksLikeJwt = (text: string): boolean => COMPACT_JWT.test(text);

export function createAuthenticator({ users, jwt }: AuthenticatorOptions): Authenticator {
  const unauthorized = (message: string) => fail<Identity>(ErrorCodes.UNAUTHORIZED, message);

  const byJwt = async (token: string, basicUser?: string): Promise<Result<Identity>> => {
    if (jwt === undefined) return unauthorized("this broker accepts no JWTs (no JWT key is configured)");
    const verified = await jwt.verify(token);
    if (!verified.ok) return verified;
    if (basicUser !== undefined && basicUser !== "" && basicUser !== verified.value.sub) return unauthorized("the user name is not the token's sub");
    return identityOfToken(verified.value, users);
  };

  const byKey = async (keyText: string, basicUser?: string): Promise<Result<Identity>> => {
    if (users === undefined || users.size === 0) return unauthorized("this broker has no API keys (no users are configured)");
    const identity = basicUser === undefined ? await users.authenticate(keyText) : await users.authenticateBasic(basicUser, keyText);
    // One message for an unknown id, a wrong secret and another user's key: which one it was is the attacker's question.
    return identity ? ok(identity) : unauthorized("invalid credentials");
  };

  return {
    async authenticate(credential) {
      const [secret, basicUser] = "bearer" in credential ? [credential.bearer.trim(), undefined] : [credential.basic.password, credential.basic.user];
      if (secret === "") return unauthorized("no credential");
      if (utf8ByteLength(secret) > MAX_BEARER_BYTES) return unauthorized(`credential over ${MAX_BEARER_BYTES} bytes`);
      if (looksLikeApiKey(secret)) return byKey(secret, basicUser);
      if (looksLikeJwt(secret)) return byJwt(secret, basicUser);
      return unauthorized(basicUser === undefined ? "the bearer credential is neither an API key (pk_…) nor a JWT" : "invalid credentials");
    },

    recheck(identity) {
      if (identity.via === "loopback" || identity.via === "none") return identity;
      const record = users?.record(identity.user);
      if (identity.via === "api_key") {
        if (record === undefined || identity.keyId === undefined || !users!.hasKey(identity.user, identity.keyId)) return undefined;
        return { ...identity, admin: record.admin, permissions: record.permissions };
      }
      // [AUTH-7] Narrowed by a user that is gone: revoked, never widened to the claim alone.
      if (identity.ofUser === true && record === undefined) return undefined;
      const effective = effectiveOf(record, identity.tokenPermissions);
      return effective && { ...identity, ...effective };
    },
  };
}

const claims = new WeakMap<VerifiedToken, ReturnType<typeof parsePermissions>>();

/**
 * A verified token's identity. A known user: their permissions narrowed by the claim (a token can
 * only restrict), admin only without a claim. An unknown user: the claim alone, never admin. No
 * claim and no such user: nothing, refused as FORBIDDEN.
 */
function identityOfToken(token: VerifiedToken, users: UserDirectory | undefined): Result<Identity> {
  let tokenPermissions: Permissions | undefined;
  if (token.claim !== undefined) {
    // The verifier hands out the same object for a token while it is valid: its claim is compiled once.
    let parsed = claims.get(token);
    if (parsed === undefined) claims.set(token, (parsed = parsePermissions(token.claim, token.sub, "token pubsub claim")));
    if (!parsed.ok) {
      const error: TokenRejection = { code: ErrorCodes.TOKEN_INVALID, message: parsed.error.message, reason: "claims" };
      return { ok: false, error };
    }
    tokenPermissions = parsed.value.permissions;
  }
  const record = users?.record(token.sub);
  const effective = effectiveOf(record, tokenPermissions);
  if (effective === undefined) return fail(ErrorCodes.FORBIDDEN, "the token's sub is no known user and it carries no pubsub claim: it grants nothing");
  return ok({
    user: token.sub,
    ...effective,
    expiresAt: token.expiresAt,
    via: "jwt",
    ...(tokenPermissions !== undefined && { tokenPermissions }),
    ...(record !== undefined && { ofUser: true }),
  });
}

function effectiveOf(
  record: { admin: boolean; permissions: Permissions } | undefined,
  tokenPermissions: Permissions | undefined,
): { admin: boolean; permissions: Permissions } | undefined {
  if (record !== undefined) {
    return tokenPermissions === undefined ? { admin: record.admin, permissions: record.permissions } : { admin: false, permissions: record.permissions.narrow(tokenPermissions) };
  }
  return tokenPermissions === undefined ? undefined : { admin: false, permissions: tokenPermissions };
}
