/**
 * Errors are values with stable codes; tests assert the code, never the prose.
 * The seed's codes (E001, E002, Q001, Q002, S001) keep their meaning. Only the transport edge
 * turns an error into an HTTP status or a WebSocket ERROR frame.
 */
export const ErrorCodes = {
  EXCHANGE_EXISTS: "E001",
  EXCHANGE_NOT_FOUND: "E002",
  EXCHANGE_IN_USE: "E003",
  EXCHANGE_TYPE_UNKNOWN: "E004",
  EXCHANGE_RESERVED: "E005",
  QUEUE_EXISTS: "Q001",
  QUEUE_NOT_FOUND: "Q002",
  QUEUE_NOT_EMPTY: "Q003",
  QUEUE_IN_USE: "Q004",
  /** A reject-publish queue at its max_length / max_bytes. */
  QUEUE_FULL: "Q005",
  /** An exclusive queue used from a connection that does not own it. */
  QUEUE_EXCLUSIVE: "Q006",
  /** [RESERVED-1] A new queue named `amq.…`: the prefix is the broker's (RabbitMQ's ACCESS_REFUSED). */
  QUEUE_RESERVED: "Q007",
  UNKNOWN_DELIVERY_TAG: "D001",
  /** The broker holds as many message bytes as it may (MAX_QUEUED_BYTES): publish later. */
  FLOW_CONTROL: "FLOW_CONTROL",
  SUBSCRIPTION_NOT_FOUND: "S001",
  BINDING_NOT_FOUND: "B001",
  BINDING_INVALID: "B002",
  INVALID_NAME: "INVALID_NAME",
  BAD_JSON: "BAD_JSON",
  /** A path that is not valid percent-encoded UTF-8 (`%zz`, a lone `%`). */
  BAD_PATH: "BAD_PATH",
  /** The route exists, with other methods (listed in the Allow header). */
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  VALIDATION: "VALIDATION",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNKNOWN_FRAME: "UNKNOWN_FRAME",
  NOT_FOUND: "NOT_FOUND",
  HOST_NOT_ALLOWED: "HOST_NOT_ALLOWED",
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
  /** Free space where the database lives is below DISK_FREE_LIMIT: publishes that need the store wait for space. */
  DISK_ALARM: "DISK_ALARM",
  SHUTTING_DOWN: "SHUTTING_DOWN",
  /** [CLUSTER-1] A follower node knows no leader to forward to (a failover is under way, or NATS is down): retry. */
  NO_LEADER: "NO_LEADER",
  /** [CLUSTER-1] A follower passed the request on and the leader went away before answering: it may or may not have been handled. */
  LEADER_LOST: "LEADER_LOST",
  /** No credential, or one the broker does not recognise (unknown API key, wrong password, no JWT verifier). */
  UNAUTHORIZED: "UNAUTHORIZED",
  /** A JWT that does not verify: malformed, bad signature, refused algorithm, wrong issuer or audience, not valid yet. */
  TOKEN_INVALID: "TOKEN_INVALID",
  /** A JWT past its `exp`: the client should fetch a new one (it is not a mistake, so it has a code of its own). */
  TOKEN_EXPIRED: "TOKEN_EXPIRED",
  /** Authenticated, but its permissions do not cover the operation. */
  FORBIDDEN: "FORBIDDEN",
  USER_NOT_FOUND: "U001",
  /** No API key with that id for that user. */
  KEY_NOT_FOUND: "U002",
  /** Too many requests: a publish rate, or failed authentications from one address (429, with Retry-After). */
  RATE_LIMITED: "RATE_LIMITED",
  /** MAX_CONNECTIONS or MAX_CONNECTIONS_PER_ADDRESS reached: the connection is refused. */
  CONNECTION_LIMIT: "CONNECTION_LIMIT",
  INTERNAL: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export type BrokerError = { readonly code: ErrorCode; readonly message: string };

export type Result<T> = { ok: true; value: T } | { ok: false; error: BrokerError };

/** Builds an error value (never thrown): the client's `brokerError` instead reads one off the wire. */
export const errorOf = (code: ErrorCode, message: string): BrokerError => ({ code, message });
export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(code: ErrorCode, message: string): Result<T> => ({
  ok: false,
  error: { code, message },
});

/** Thrown only at the transport edge (and by the store when the database fails). */
export class BrokerFailure extends Error {
  constructor(readonly error: BrokerError) {
    super(error.message);
  }
}
