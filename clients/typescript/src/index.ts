/**
 * @webhookd/client: a TypeScript client for webhookd.
 *
 * - WebhookdClient: the five services as promise clients, TLS/mTLS, bearer token
 * - client.transaction(): prepare events, commit on success, abort on failure
 * - verify(): check a delivery's Standard Webhooks signature (receiver side)
 * - ApiError: gRPC status code and the request field the server objected to
 *
 * The generated messages and grpc-js clients (ts-proto) are exported as `v1`.
 */
export {
  WebhookdClient,
  type WebhookdClientOptions,
  type TlsOptions,
  type CallOptions,
  type DeepPartial,
  type PromiseClient,
  type ServerStream,
  type SubscriptionServiceClient,
  type PrincipalServiceClient,
  type DialectServiceClient,
  type EventServiceClient,
  type DeliveryServiceClient,
  type ApiKeyServiceClient,
} from "./client";
export { Tx, newTransactionId, type TransactionOptions } from "./transaction";
export { ApiError, errorCode, statusName, splitField } from "./errors";
export {
  verify,
  sign,
  WebhookVerificationError,
  DEFAULT_TOLERANCE_SECONDS,
  type VerifyOptions,
  type VerifiedWebhook,
  type VerificationFailure,
  type WebhookHeaders,
  type HeadersLike,
} from "./verify";
export { status } from "@grpc/grpc-js";
export * as v1 from "./v1";
