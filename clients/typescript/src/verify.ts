import { createHmac, timingSafeEqual } from "node:crypto";

/** How far (seconds) webhook-timestamp may be from now for verify() to accept it. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type VerificationFailure =
  | "missing_header"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "invalid_secret"
  | "no_matching_signature";

/** Thrown by verify(); `reason` says why. */
export class WebhookVerificationError extends Error {
  readonly reason: VerificationFailure;
  constructor(reason: VerificationFailure, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
    this.reason = reason;
  }
}

/** Anything with a case-insensitive get(): the Fetch API's Headers, for one. */
export interface HeadersLike {
  get(name: string): string | null | undefined;
}

/**
 * Request headers: a Headers-like object, or a plain record such as Node's
 * IncomingMessage.headers (names matched case-insensitively; the values of an array
 * are joined with spaces).
 */
export type WebhookHeaders = HeadersLike | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** How far webhook-timestamp may be from `now`, either way. Default 300. */
  toleranceSeconds?: number;
  /** The time to check against: a Date or milliseconds since the epoch. Default: now. */
  now?: Date | number;
}

/** What verify() accepted. */
export interface VerifiedWebhook {
  /** webhook-id: the delivery id, stable across retries (use it to de-duplicate). */
  id: string;
  /** webhook-timestamp, seconds since the epoch. */
  timestamp: number;
}

/**
 * Checks a delivery's Standard Webhooks signature: headers webhook-id,
 * webhook-timestamp and webhook-signature (space-separated "v1,<base64>"
 * entries, any of which may match); `body` the request body exactly as
 * received (bytes, or a string taken as UTF-8); `secret` the subscription's
 * "whsec_..." signing secret. Returns the id and timestamp when a signature
 * matches and the timestamp is within tolerance; throws
 * WebhookVerificationError otherwise.
 *
 * After a secret rotation the server signs with both secrets for a while;
 * verifying with either succeeds.
 */
export function verify(
  secret: string,
  headers: WebhookHeaders,
  body: Uint8Array | string,
  options: VerifyOptions = {},
): VerifiedWebhook {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowMs = options.now === undefined ? Date.now() : typeof options.now === "number" ? options.now : options.now.getTime();

  const id = header(headers, "webhook-id");
  const ts = header(headers, "webhook-timestamp");
  const sigs = header(headers, "webhook-signature");
  if (!id || !ts || !sigs) {
    throw new WebhookVerificationError(
      "missing_header",
      "missing webhook-id, webhook-timestamp or webhook-signature header",
    );
  }
  if (!/^-?[0-9]{1,15}$/.test(ts)) {
    throw new WebhookVerificationError("invalid_timestamp", "webhook-timestamp is not a Unix time in seconds");
  }
  const timestamp = Number(ts);
  const now = nowMs / 1000;
  if (now - timestamp > tolerance) {
    throw new WebhookVerificationError("timestamp_too_old", "webhook-timestamp is too old");
  }
  if (timestamp - now > tolerance) {
    throw new WebhookVerificationError("timestamp_too_new", "webhook-timestamp is too far in the future");
  }

  const want = hmac(secret, id, ts, body);
  for (const entry of sigs.split(/\s+/)) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    const got = decodeBase64(entry.slice(comma + 1));
    if (got && got.length === want.length && timingSafeEqual(got, want)) {
      return { id, timestamp };
    }
  }
  throw new WebhookVerificationError("no_matching_signature", "no matching signature");
}

/**
 * The webhook-signature entry ("v1,<base64>") for a message, as the server
 * computes it. Useful to test receivers.
 */
export function sign(secret: string, msgId: string, timestamp: number, body: Uint8Array | string): string {
  return "v1," + hmac(secret, msgId, String(timestamp), body).toString("base64");
}

function hmac(secret: string, id: string, ts: string, body: Uint8Array | string): Buffer {
  const key = decodeBase64(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
  if (!key || key.length === 0) {
    throw new WebhookVerificationError("invalid_secret", "secret is not whsec_ followed by base64");
  }
  const mac = createHmac("sha256", key);
  mac.update(`${id}.${ts}.`);
  mac.update(typeof body === "string" ? Buffer.from(body, "utf8") : body);
  return mac.digest();
}

// Strict standard base64 (Buffer.from silently skips bad characters).
function decodeBase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, "base64");
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as HeadersLike).get === "function") {
    return (headers as HeadersLike).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === name) {
      const value = record[key];
      return Array.isArray(value) ? value.join(" ") : value;
    }
  }
  return undefined;
}
