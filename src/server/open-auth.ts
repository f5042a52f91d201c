import { readFile } from "node:fs/promises";
import { createAuthenticator, type Authenticator } from "../auth/authenticator.ts";
import { JwtVerifier } from "../auth/jwt.ts";
import { UserDirectory } from "../auth/users.ts";
import { ConfigError, type Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { isLoopback, type AuthMode } from "./auth-edge.ts";

export type OpenedAuth = { mode: AuthMode; authenticator?: Authenticator; users?: UserDirectory; jwt?: JwtVerifier };

/** `localhost` and loopback addresses: a broker listening only there serves this machine alone. */
const servesOnlyThisMachine = (host: string): boolean => host === "localhost" || isLoopback(host);

/**
 * [AUTH-5] The authentication mode from the configuration: users (USERS_FILE) and JWT keys when
 * any are configured; otherwise RabbitMQ's guest, full access from loopback only, which a broker
 * listening beyond loopback refuses to start with unless AUTH=none says so (unsafe).
 */
export async function openAuth(config: Config, logger: Logger): Promise<OpenedAuth> {
  const { auth } = config;
  if (auth.mode === "none") {
    logger.warn("auth", { msg: "AUTH=none: every client has full access, from anywhere (unsafe)" });
    return { mode: "none" };
  }
  let users: UserDirectory | undefined;
  if (auth.usersFile !== undefined) {
    const loaded = await UserDirectory.load(auth.usersFile, { warn: logger.line("warn", "auth") });
    if (!loaded.ok) throw new ConfigError(loaded.error.message);
    users = loaded.value;
  }
  let jwt: JwtVerifier | undefined;
  if (auth.jwtSecret !== undefined || auth.jwtPublicKeyFile !== undefined || auth.jwtJwksFile !== undefined) {
    const created = await JwtVerifier.create({
      secret: auth.jwtSecret,
      publicKeyPem: auth.jwtPublicKeyFile === undefined ? undefined : await readFile(auth.jwtPublicKeyFile, "utf8"),
      jwksJson: auth.jwtJwksFile === undefined ? undefined : await readFile(auth.jwtJwksFile, "utf8"),
      issuer: auth.jwtIssuer,
      audience: auth.jwtAudience,
    });
    if (!created.ok) throw new ConfigError(created.error.message);
    jwt = created.value;
  }
  if (users === undefined && jwt === undefined) {
    if (!servesOnlyThisMachine(config.host)) {
      throw new ConfigError(
        `HOST=${config.host} serves other machines, but no users (USERS_FILE) or token keys (JWT_SECRET, JWT_PUBLIC_KEY_FILE, JWT_JWKS_FILE) are configured: ` +
          "configure them, or set AUTH=none to give every client full access (unsafe)",
      );
    }
    return { mode: "guest" };
  }
  return { mode: "users", authenticator: createAuthenticator({ users, jwt }), users, jwt };
}
