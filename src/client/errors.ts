import type { ErrorCode } from "../core/errors.ts";

/** Codes the client itself gives, for what never reached the broker or never came back. */
export const ClientErrorCodes = {
  /** The broker could not be reached at all (refused, DNS, TLS): the first connection attempt failed. */
  UNREACHABLE: "UNREACHABLE",
  /** The connection dropped before the broker answered. */
  CONNECTION_LOST: "CONNECTION_LOST",
  /** No answer within the time allowed. The request may or may not have taken effect. */
  TIMEOUT: "TIMEOUT",
  /** The client was closed before the request could be answered. */
  CLOSED: "CLOSED",
  /** ack()/nack() of a delivery from a connection that has since dropped: the broker requeued it. */
  DELIVERY_STALE: "DELIVERY_STALE",
  /** Already subscribed to (or consuming from) this queue on this client. */
  ALREADY_ATTACHED: "ALREADY_ATTACHED",
  /** The broker answered something that is not its JSON API. */
  BAD_RESPONSE: "BAD_RESPONSE",
  /** The `token` function threw, or gave something that is not a token. */
  TOKEN_UNAVAILABLE: "TOKEN_UNAVAILABLE",
} as const;

export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];

/** A broker code (README's table, `E002`, `Q005`, `FLOW_CONTROL` …) or one of the client's own. */
export type PubsubErrorCode = ErrorCode | ClientErrorCode;

/** Every failure the client reports: test and branch on `code`, never on the message. */
export class PubsubError extends Error {
  override readonly name = "PubsubError";

  constructor(
    readonly code: PubsubErrorCode,
    message: string,
    /** The HTTP status, for an answer to a REST call. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isPubsubError = (error: unknown, code?: PubsubErrorCode): error is PubsubError =>
  error instanceof PubsubError && (code === undefined || error.code === code);

/**
 * The broker did not take the credential (REST 401, or the WebSocket refused and closed with 4001),
 * or the client had none to give: retrying with the same token will not help.
 */
export const AUTH_ERROR_CODES: ReadonlySet<PubsubErrorCode> = new Set<PubsubErrorCode>([
  "UNAUTHORIZED",
  "TOKEN_INVALID",
  "TOKEN_EXPIRED",
  ClientErrorCodes.TOKEN_UNAVAILABLE,
]);

export const isAuthError = (error: unknown): error is PubsubError => error instanceof PubsubError && AUTH_ERROR_CODES.has(error.code);

/** The broker's codes arrive as strings; unknown ones are kept as they are. */
export const brokerError = (payload: { code: string; message: string }, status?: number): PubsubError =>
  new PubsubError(payload.code as PubsubErrorCode, payload.message, status);
