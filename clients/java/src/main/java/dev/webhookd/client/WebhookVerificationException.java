package dev.webhookd.client;

/** A webhook request failed Standard Webhooks verification; {@link #reason()} says why. */
public final class WebhookVerificationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why verification failed. */
  public enum Reason {
    /** webhook-id, webhook-timestamp or webhook-signature is missing or empty. */
    MISSING_HEADER("missing webhook-id, webhook-timestamp or webhook-signature header"),
    /** webhook-timestamp is not a Unix time in seconds. */
    INVALID_TIMESTAMP("webhook-timestamp is not a Unix time in seconds"),
    /** webhook-timestamp is further in the past than the tolerance. */
    TIMESTAMP_TOO_OLD("webhook-timestamp is too old"),
    /** webhook-timestamp is further in the future than the tolerance. */
    TIMESTAMP_TOO_NEW("webhook-timestamp is too far in the future"),
    /** The secret is not "whsec_" followed by base64. */
    INVALID_SECRET("secret is not whsec_ followed by base64"),
    /** No v1 signature in webhook-signature matches the body. */
    NO_MATCHING_SIGNATURE("no matching signature");

    private final String text;

    Reason(String text) {
      this.text = text;
    }
  }

  private final Reason reason;

  WebhookVerificationException(Reason reason) {
    super("webhookd: " + reason.text);
    this.reason = reason;
  }

  /** Why verification failed. */
  public Reason reason() {
    return reason;
  }
}
