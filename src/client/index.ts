/**
 * The TypeScript client of pubsub: ESM, no dependencies, for Bun, Node ≥ 22 and browsers (it uses
 * the global fetch and WebSocket only). See src/client/README.md.
 */
export { connect, DEFAULT_URL, PubsubClient, type ClientOptions, type ConnectionEvent, type PublishOptions } from "./client.ts";
export { AUTH_ERROR_CODES, ClientErrorCodes, isAuthError, isPubsubError, PubsubError, type ClientErrorCode, type PubsubErrorCode } from "./errors.ts";
export { jwtExpiry, type TokenSource } from "./tokens.ts";
export { backoffDelay, DEFAULT_RECONNECT, type ReconnectPolicy } from "./backoff.ts";
export type { Confirm } from "./publisher.ts";
export type { Gap, MessageHandler, SubscribeOptions, Subscription } from "./subscription.ts";
export type { ConsumeOptions, Consumer, Delivery, DeliveryHandler } from "./consumer.ts";
export type { BindingsApi, ExchangesApi, QueuesApi } from "./admin.ts";
export type {
  Binding,
  BindingDeclare,
  Declared,
  Exchange,
  ExchangeDeclare,
  Headers,
  HeaderValue,
  Message,
  ConsumerFields,
  Metrics,
  PublishFields,
  PublishResult,
  Queue,
  QueueDeclare,
  QueueDeclareFrame,
  Removed,
} from "./wire.ts";
