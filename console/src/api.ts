// The JSON API through clients generated from the protos (protoc-gen-es and
// Connect-Web): one client per service, the bearer key in a header (never a
// cookie), the key kept in sessionStorage for this tab only.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { SubscriptionService } from "./gen/webhooks/v1/subscription_pb.js";
import { DeliveryService } from "./gen/webhooks/v1/delivery_pb.js";
import { EventService } from "./gen/webhooks/v1/event_pb.js";
import { ApiKeyService } from "./gen/webhooks/v1/api_key_pb.js";

const KEY = "webhookd.apiKey";

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}
export function setApiKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}

/** Fired on document when the server refuses the key (revoked, expired). */
export const REFUSED_EVENT = "webhookd:key-refused";

const bearer: Interceptor = (next) => async (req) => {
  const key = apiKey();
  if (key) req.header.set("Authorization", `Bearer ${key}`);
  try {
    return await next(req);
  } catch (err) {
    if (isUnauthenticated(err)) document.dispatchEvent(new CustomEvent(REFUSED_EVENT, { detail: err }));
    throw err;
  }
};

const transport = createConnectTransport({
  baseUrl: location.origin,
  interceptors: [bearer],
  // JSON, as curl users see it; credentials are never sent (no cookies).
  useBinaryFormat: false,
  fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: "omit" }),
});

export const subscriptions: Client<typeof SubscriptionService> = createClient(SubscriptionService, transport);
export const deliveries: Client<typeof DeliveryService> = createClient(DeliveryService, transport);
export const events: Client<typeof EventService> = createClient(EventService, transport);
export const apiKeys: Client<typeof ApiKeyService> = createClient(ApiKeyService, transport);

/** A readable message for a failed call. */
export function describe(err: unknown): string {
  if (err instanceof ConnectError) {
    if (err.code === Code.Unauthenticated) return `Not signed in: ${err.rawMessage}`;
    return `${Code[err.code]}: ${err.rawMessage}`;
  }
  return String(err);
}

export function isUnauthenticated(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unauthenticated;
}
