import { ErrorCodes, type BrokerError, type ErrorCode } from "../core/errors.ts";

/** The HTTP status for each error code; anything unlisted is a 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.BAD_JSON]: 400,
  [ErrorCodes.BAD_PATH]: 400,
  [ErrorCodes.METHOD_NOT_ALLOWED]: 405,
  [ErrorCodes.HOST_NOT_ALLOWED]: 403,
  [ErrorCodes.EXCHANGE_NOT_FOUND]: 404,
  [ErrorCodes.QUEUE_NOT_FOUND]: 404,
  [ErrorCodes.BINDING_NOT_FOUND]: 404,
  [ErrorCodes.SUBSCRIPTION_NOT_FOUND]: 404,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.EXCHANGE_EXISTS]: 409,
  [ErrorCodes.QUEUE_EXISTS]: 409,
  [ErrorCodes.EXCHANGE_IN_USE]: 409,
  [ErrorCodes.QUEUE_IN_USE]: 409,
  [ErrorCodes.QUEUE_NOT_EMPTY]: 409,
  [ErrorCodes.QUEUE_EXCLUSIVE]: 409,
  /** [RESERVED-1] RabbitMQ answers ACCESS_REFUSED (403) for the amq. prefix. */
  [ErrorCodes.EXCHANGE_RESERVED]: 403,
  [ErrorCodes.QUEUE_RESERVED]: 403,
  [ErrorCodes.UNKNOWN_DELIVERY_TAG]: 404,
  /** Back-pressure, not a mistake: retry later. */
  [ErrorCodes.QUEUE_FULL]: 429,
  [ErrorCodes.FLOW_CONTROL]: 503,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.VALIDATION]: 422,
  [ErrorCodes.INVALID_NAME]: 422,
  [ErrorCodes.EXCHANGE_TYPE_UNKNOWN]: 422,
  [ErrorCodes.BINDING_INVALID]: 422,
  [ErrorCodes.STORE_UNAVAILABLE]: 503,
  [ErrorCodes.DISK_ALARM]: 503,
  [ErrorCodes.SHUTTING_DOWN]: 503,
  [ErrorCodes.NO_LEADER]: 503,
  [ErrorCodes.LEADER_LOST]: 502,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.TOKEN_INVALID]: 401,
  [ErrorCodes.TOKEN_EXPIRED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.USER_NOT_FOUND]: 404,
  [ErrorCodes.KEY_NOT_FOUND]: 404,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.CONNECTION_LIMIT]: 503,
};

export const statusOf = (code: ErrorCode): number => STATUS[code] ?? 500;

/** What a 401 of the REST API asks for: a bearer token (API key or JWT), or Basic. */
export const HTTP_CHALLENGE = 'Bearer realm="pubsub", Basic realm="pubsub"';

export const errorBody = (error: BrokerError) => ({ error: { code: error.code, message: error.message } });

export const errorResponse = (error: BrokerError, headers?: Record<string, string>): Response =>
  Response.json(errorBody(error), { status: statusOf(error.code), headers });
