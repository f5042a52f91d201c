/**
 * The only reader of process.env. Bun itself loads `.env` (then the real environment wins), so the
 * seed's `.env` files keep working. Every value is validated once; a bad one stops start-up with a
 * line naming the variable.
 */
import { isIPv4, isIPv6 } from "node:net";
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { hostname } from "node:os";
import {
  DEDUP_WINDOW_SECONDS_BOUNDS,
  DEFAULT_DEDUP_WINDOW_SECONDS,
  DEFAULT_MAX_QUEUED_BYTES,
  MAX_QUEUED_BYTES_BOUNDS,
} from "./broker/limits.ts";
import { ACK_TIMEOUT_MS_BOUNDS, DEFAULT_ACK_TIMEOUT_MS } from "./core/limits.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
import { LimitsConfigError, parseLimitsConfig, type LimitsConfig } from "./server/abuse/limits.ts";
import {
  DEFAULT_DISK_FREE_LIMIT_BYTES,
  DEFAULT_HTTP_PORT,
  DEFAULT_MAX_PAYLOAD_BYTES,
  AUTH_TIMEOUT_MS_BOUNDS,
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_DELAY_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SUBSCRIBER_MAX_BUFFER_BYTES,
  DISK_FREE_LIMIT_BOUNDS,
  HTTP_PORT_BOUNDS,
  MAX_PAYLOAD_BYTES_BOUNDS,
  SEED_REALTIME_WORKERS,
  SEED_SYNC_WORKERS,
  SEED_WORKERS_BOUNDS,
  SHUTDOWN_DELAY_MS_BOUNDS,
  SHUTDOWN_TIMEOUT_MS_BOUNDS,
  SUBSCRIBER_MAX_BUFFER_BYTES_BOUNDS,
} from "./server/limits.ts";
import { DEFAULT_METRICS_QUEUE_LIMIT, METRICS_QUEUE_LIMIT_BOUNDS } from "./server/prometheus.ts";
import { CHECKPOINT_SECONDS_BOUNDS, DEFAULT_CHECKPOINT_SECONDS } from "./store/limits.ts";

export type Config = Readonly<{
  host: string;
  httpPort: number;
  /** Lower-cased host patterns; empty means allow all (the seed's `*`). */
  allowedHosts: readonly string[];
  dataDir: string;
  databaseName: string;
  /** Full path of the SQLite file. */
  databasePath: string;
  databaseUrl: string | undefined;
  doMigrations: boolean;
  checkpointSeconds: number;
  maxPayloadBytes: number;
  subscriberMaxBufferBytes: number;
  shutdownTimeoutMs: number;
  /** SHUTDOWN_DELAY_MS: serving on, not ready, after SIGTERM, before stopping. */
  shutdownDelayMs: number;
  /** LOG_FORMAT and LOG_LEVEL. */
  logFormat: LogFormat;
  logLevel: LogLevel;
  ackTimeoutMs: number;
  dedupWindowSeconds: number;
  maxQueuedBytes: number;
  fsync: boolean;
  /** Free space the SQLite database's filesystem keeps before durable publishes are refused; 0: off. */
  diskFreeLimitBytes: number;
  /** Queues with Prometheus series of their own; the rest are summed into `queue="_other"` [PROM-1]. */
  metricsQueueLimit: number;
  /** Who may connect, and how (see auth.ts and the README's Security section). */
  auth: AuthConfig;
  /** Limits against abuse: connections, publish rate, failed authentications (server/abuse). */
  limits: LimitsConfig;
  /** TLS_CERT_FILE and TLS_KEY_FILE: HTTPS and WSS on the same port. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Accepted for the seed's sake; Bun writes sockets and the database from one thread. */
  seedRealtimeWorkers: number;
  seedSyncWorkers: number;
  /** NATS_URL (with DATABASE_URL): this broker is a node of a cluster (src/cluster/). */
  cluster: ClusterConfig | undefined;
}>;

export type ClusterConfig = Readonly<{
  natsUrl: string;
  /** CLUSTER_NAME: the NATS subjects' prefix; clusters on one NATS keep apart by it. */
  name: string;
  /** NODE_NAME: unique in the cluster. */
  node: string;
  /** CLUSTER_ADVERTISE_URL: where the other nodes reach this one's HTTP port. */
  advertiseUrl: string;
}>;

export type AuthConfig = Readonly<{
  /** AUTH: `auto` (users and tokens if configured, else RabbitMQ's guest: full access from loopback only) or `none` (everyone, full access: unsafe). */
  mode: "auto" | "none";
  usersFile: string | undefined;
  jwtSecret: string | undefined;
  jwtPublicKeyFile: string | undefined;
  jwtJwksFile: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  /** AUTH_URL_TOKEN: accept `?token=` on /ws (for clients that can send neither a frame first nor a protocol header). */
  urlToken: boolean;
  /** AUTH_TIMEOUT_MS: a WebSocket must authenticate within this. */
  timeoutMs: number;
}>;

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

/** Where a value may lie; each variable's bounds are in its layer's limits.ts, with their reason. */
type Bounds = { readonly min: number; readonly max: number };

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const dataDirRaw = str(env, "DATA_DIR", cwd);
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : join(cwd, dataDirRaw);
  const databaseName = str(env, "DATABASE_NAME", "pub-sub");
  if (databaseName === "" || databaseName.includes("/") || databaseName.includes("\\")) {
    throw new ConfigError(`DATABASE_NAME must be a plain file name, got "${databaseName}"`);
  }
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  return Object.freeze({
    host: listenHost(str(env, "HOST", "127.0.0.1")),
    httpPort: int(env, "HTTP_PORT", DEFAULT_HTTP_PORT, HTTP_PORT_BOUNDS),
    allowedHosts: allowedHostsOf(env),
    dataDir,
    databaseName,
    databasePath: join(dataDir, databaseName.endsWith(".db") ? databaseName : `${databaseName}.db`),
    databaseUrl,
    doMigrations: bool(env, "DO_MIGRATIONS", true),
    checkpointSeconds: num(env, "CHECKPOINT_IN_SECONDS", DEFAULT_CHECKPOINT_SECONDS, CHECKPOINT_SECONDS_BOUNDS),
    maxPayloadBytes: int(env, "MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES_BOUNDS),
    subscriberMaxBufferBytes: int(env, "SUBSCRIBER_MAX_BUFFER_BYTES", DEFAULT_SUBSCRIBER_MAX_BUFFER_BYTES, SUBSCRIBER_MAX_BUFFER_BYTES_BOUNDS),
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", DEFAULT_SHUTDOWN_TIMEOUT_MS, SHUTDOWN_TIMEOUT_MS_BOUNDS),
    shutdownDelayMs: int(env, "SHUTDOWN_DELAY_MS", DEFAULT_SHUTDOWN_DELAY_MS, SHUTDOWN_DELAY_MS_BOUNDS),
    logFormat: oneOf(env, "LOG_FORMAT", LOG_FORMATS, "text"),
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    ackTimeoutMs: int(env, "ACK_TIMEOUT_MS", DEFAULT_ACK_TIMEOUT_MS, ACK_TIMEOUT_MS_BOUNDS),
    dedupWindowSeconds: num(env, "DEDUP_WINDOW_SECONDS", DEFAULT_DEDUP_WINDOW_SECONDS, DEDUP_WINDOW_SECONDS_BOUNDS),
    maxQueuedBytes: int(env, "MAX_QUEUED_BYTES", DEFAULT_MAX_QUEUED_BYTES, MAX_QUEUED_BYTES_BOUNDS),
    fsync: bool(env, "FSYNC", false),
    diskFreeLimitBytes: byteSize(env, "DISK_FREE_LIMIT", DEFAULT_DISK_FREE_LIMIT_BYTES, DISK_FREE_LIMIT_BOUNDS),
    metricsQueueLimit: int(env, "METRICS_QUEUE_LIMIT", DEFAULT_METRICS_QUEUE_LIMIT, METRICS_QUEUE_LIMIT_BOUNDS),
    auth: {
      mode: oneOf(env, "AUTH", ["auto", "none"] as const, "auto"),
      // Created on the first change made over the admin API: it need not exist yet.
      usersFile: optional(env, "USERS_FILE"),
      jwtSecret: optional(env, "JWT_SECRET"),
      jwtPublicKeyFile: optionalFile(env, "JWT_PUBLIC_KEY_FILE"),
      jwtJwksFile: optionalFile(env, "JWT_JWKS_FILE"),
      jwtIssuer: optional(env, "JWT_ISSUER"),
      jwtAudience: optional(env, "JWT_AUDIENCE"),
      urlToken: bool(env, "AUTH_URL_TOKEN", false),
      timeoutMs: int(env, "AUTH_TIMEOUT_MS", DEFAULT_AUTH_TIMEOUT_MS, AUTH_TIMEOUT_MS_BOUNDS),
    },
    limits: limitsOf(env),
    tls: tlsOf(env),
    seedRealtimeWorkers: int(env, "MAX_WORKERS_ALLOWED_CONCURRENTLY_FOR_REAL_TIME_UPDATES", SEED_REALTIME_WORKERS, SEED_WORKERS_BOUNDS),
    seedSyncWorkers: int(env, "WORKERS_ALLOWED_FOR_SYNC", SEED_SYNC_WORKERS, SEED_WORKERS_BOUNDS),
    cluster: clusterOf(env, databaseUrl),
  });
}

/** [CLUSTER-1] NATS_URL joins a cluster; its state is the shared Postgres, so DATABASE_URL must be set too. */
function clusterOf(env: Env, databaseUrl: string | undefined): ClusterConfig | undefined {
  const natsUrl = optional(env, "NATS_URL");
  if (natsUrl === undefined) return undefined;
  if (databaseUrl === undefined) throw new ConfigError("NATS_URL (a cluster) needs DATABASE_URL: the nodes share one Postgres database");
  if (!/^(nats|tls|wss?):\/\/[^\s]+$/.test(natsUrl)) throw new ConfigError(`NATS_URL must be a nats:// URL (nats://127.0.0.1:4222), got "${natsUrl}"`);
  const name = str(env, "CLUSTER_NAME", "pubsub");
  if (!SUBJECT_TOKEN.test(name)) throw new ConfigError(`CLUSTER_NAME must be letters, digits, - or _ (it is a NATS subject token), got "${name}"`);
  const node = str(env, "NODE_NAME", `${hostname()}-${process.pid}`);
  if (!SUBJECT_TOKEN.test(node.replaceAll(".", "_"))) throw new ConfigError(`NODE_NAME must be letters, digits, ., - or _, got "${node}"`);
  const host = str(env, "HOST", "127.0.0.1");
  const port = str(env, "HTTP_PORT", String(DEFAULT_HTTP_PORT));
  const scheme = env.TLS_CERT_FILE ? "https" : "http";
  // A node listening on every address is reached by its host name; one on a single address by it.
  const reachable = host === "0.0.0.0" || host === "::" ? hostname() : host.includes(":") ? `[${host}]` : host;
  const advertiseUrl = str(env, "CLUSTER_ADVERTISE_URL", `${scheme}://${reachable}:${port}`).replace(/\/+$/, "");
  if (!URL.canParse(advertiseUrl) || !/^https?:$/.test(new URL(advertiseUrl).protocol)) {
    throw new ConfigError(`CLUSTER_ADVERTISE_URL must be an http(s) URL the other nodes reach this one at, got "${advertiseUrl}"`);
  }
  return { natsUrl, name, node, advertiseUrl };
}
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** `*` allows all; otherwise comma-separated hosts, `*.example.com` for subdomains, optional `:port`. */
export function parseAllowedHosts(raw: string): string[] {
  const hosts = raw
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  return hosts.includes("*") ? [] : hosts;
}

/**
 * Set but empty is a mistake, not "allow all" [CONFIG-2]: an unset variable means `*` (the
 * seed's default), an empty one would silently open a broker its operator meant to close.
 */
function allowedHostsOf(env: Env): string[] {
  const raw = env.ALLOWED_HOSTS;
  if (raw === undefined) return [];
  const hosts = parseAllowedHosts(raw);
  if (hosts.length === 0 && !raw.includes("*")) {
    throw new ConfigError(`ALLOWED_HOSTS is set but empty: list hosts (example.com,*.example.com:8060) or use * to allow all`);
  }
  for (const host of hosts) {
    if (!ALLOWED_HOST_PATTERN.test(host)) throw new ConfigError(`ALLOWED_HOSTS: "${host}" is not a host, *.domain or host:port`);
  }
  return hosts;
}

const ALLOWED_HOST_PATTERN = /^(?:\*\.)?(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;
const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const DOTTED_NUMBERS = /^[0-9.]+$/;

/** An IP address or a DNS name to listen on [CONFIG-1]: Bun's own error for 999.1.1.1 named no variable. */
function listenHost(host: string): string {
  if (host.includes(":")) {
    if (isIPv6(host.replace(/^\[|\]$/g, ""))) return host.replace(/^\[|\]$/g, "");
  } else if (DOTTED_NUMBERS.test(host) ? isIPv4(host) : DNS_NAME.test(host)) {
    return host;
  }
  throw new ConfigError(`HOST must be an IP address or a host name to listen on (127.0.0.1, 0.0.0.0, ::1, localhost), got "${host}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const v = env[name]?.trim().toLowerCase();
  if (v === undefined || v === "") return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${env[name]}"`);
  return v as T;
}

function optional(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** A file the broker reads at start-up: it must exist (named in the error otherwise). */
function optionalFile(env: Env, name: string): string | undefined {
  const path = optional(env, name);
  if (path !== undefined && !existsSync(path)) throw new ConfigError(`${name}: no file at "${path}"`);
  return path;
}

function limitsOf(env: Env): LimitsConfig {
  try {
    return parseLimitsConfig(env);
  } catch (error) {
    if (error instanceof LimitsConfigError) throw new ConfigError(error.message);
    throw error;
  }
}

function tlsOf(env: Env): { certFile: string; keyFile: string } | undefined {
  const certFile = optionalFile(env, "TLS_CERT_FILE");
  const keyFile = optionalFile(env, "TLS_KEY_FILE");
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new ConfigError("TLS_CERT_FILE and TLS_KEY_FILE go together: set both (PEM files) or neither");
  return { certFile, keyFile };
}

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v.trim() === "" ? fallback : v.trim();
}

function num(env: Env, name: string, fallback: number, { min, max }: Bounds): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return v;
}

function int(env: Env, name: string, fallback: number, bounds: Bounds): number {
  const v = num(env, name, fallback, bounds);
  if (!Number.isInteger(v)) throw new ConfigError(`${name} must be a whole number, got "${env[name]}"`);
  return v;
}

/**
 * RabbitMQ's information units (disk_free_limit.absolute, since 3.13, as Kubernetes writes them):
 * `k`/`kB`, `M`/`MB`, `G`/`GB`, `T`/`TB`, `P`/`PB` count in powers of 1000; `Ki`/`KiB`, `Mi`/`MiB`,
 * `Gi`/`GiB`, `Ti`/`TiB`, `Pi`/`PiB` in powers of 1024; `B` or none is bytes. Case does not matter,
 * one space before the unit is allowed, and a fraction is rounded to whole bytes (`1.5GiB`). A Map,
 * not an object: `50constructor` must find no unit.
 */
const BYTE_UNITS: ReadonlyMap<string, number> = new Map([
  ["", 1],
  ["b", 1],
  ...["k", "m", "g", "t", "p"].flatMap((prefix, i): [string, number][] => [
    [prefix, 1000 ** (i + 1)],
    [`${prefix}b`, 1000 ** (i + 1)],
    [`${prefix}i`, 1024 ** (i + 1)],
    [`${prefix}ib`, 1024 ** (i + 1)],
  ]),
]);
const BYTE_SIZE = /^([0-9]+(?:\.[0-9]+)?) ?([a-z]*)$/i;

/** A byte count with an optional unit (`50MiB`, `1GB`, `52428800`), or undefined if it is none. */
export function parseByteSize(raw: string): number | undefined {
  const match = BYTE_SIZE.exec(raw.trim());
  const multiplier = match ? BYTE_UNITS.get(match[2]!.toLowerCase()) : undefined;
  return match && multiplier !== undefined ? Math.round(Number(match[1]) * multiplier) : undefined;
}

function byteSize(env: Env, name: string, fallback: number, { min, max }: Bounds): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = parseByteSize(raw);
  if (v === undefined) {
    throw new ConfigError(`${name} must be a byte count with an optional unit (52428800, 50MiB, 50MB, 1GiB; 0 turns it off), got "${raw}"`);
  }
  if (v < min || v > max) throw new ConfigError(`${name} must be from ${min} to ${max} bytes, got "${raw}"`);
  return v;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["true", "1", "yes", "on"].includes(raw)) return true;
  if (["false", "0", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}
