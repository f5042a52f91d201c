/** Where a DATABASE_URL points, for messages that must name it without leaking its password. */
export type PostgresTarget = { readonly host: string; readonly port: number; readonly database: string };

export class DatabaseUrlError extends Error {}

/** Postgres' own default port, used when the URL names none. */
const DEFAULT_PORT = 5432;

export function parseDatabaseUrl(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError("DATABASE_URL is not a URL (expected postgres://user@host:port/database)");
  }
  // Bun's SQL client would also accept mysql:// or sqlite URLs and silently change engines.
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new DatabaseUrlError(`DATABASE_URL must start with postgres:// or postgresql://, got "${parsed.protocol}//"`);
  }
  const host = decodeURIComponent(parsed.hostname) || "localhost";
  return {
    host: host.startsWith("[") ? host : host.includes(":") ? `[${host}]` : host,
    port: parsed.port === "" ? DEFAULT_PORT : Number(parsed.port),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || decodeURIComponent(parsed.username) || "postgres",
  };
}

/** `host:port/database`: what log lines and start-up errors show. */
export const describeTarget = (t: PostgresTarget): string => `${t.host}:${t.port}/${t.database}`;
