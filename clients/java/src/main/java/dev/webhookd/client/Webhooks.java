package dev.webhookd.client;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks signatures, as webhookd sends them.
 *
 * <p>A delivery carries the headers {@code webhook-id}, {@code webhook-timestamp} (Unix seconds)
 * and {@code webhook-signature}: space-separated {@code v1,<base64>} entries, each an HMAC-SHA256 of
 * {@code "<id>.<timestamp>.<body>"} keyed by the base64-decoded part of the subscription's secret
 * after {@code whsec_}. After a secret rotation the server signs with both secrets for a while, so
 * either verifies.
 *
 * <pre>{@code
 * Webhooks.verify(secret, exchange.getRequestHeaders(), body); // throws if not authentic
 * }</pre>
 */
public final class Webhooks {
  /** How far webhook-timestamp may be from now, in either direction, by default. */
  public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);

  private static final String SECRET_PREFIX = "whsec_";
  private static final Pattern TIMESTAMP = Pattern.compile("-?[0-9]{1,18}");

  private Webhooks() {}

  /**
   * Verifies a delivery with the default tolerance against the system clock.
   *
   * @param secret the subscription's signing secret, {@code "whsec_..."} (the prefix is optional)
   * @param headers the request headers; names are matched case-insensitively
   *     ({@code com.sun.net.httpserver.Headers}, {@code java.net.http.HttpHeaders.map()}, ...)
   * @param body the request body exactly as received
   * @throws WebhookVerificationException when the request is not authentic or too old/new
   */
  public static void verify(String secret, Map<String, ? extends List<String>> headers, byte[] body) {
    verifier(secret).verify(headers, body);
  }

  /** {@link #verify(String, Map, byte[])} with the three headers' values given directly. */
  public static void verify(
      String secret, String webhookId, String webhookTimestamp, String webhookSignature, byte[] body) {
    verifier(secret).verify(webhookId, webhookTimestamp, webhookSignature, body);
  }

  /** True when {@link #verify(String, Map, byte[])} accepts the request. */
  public static boolean isValid(String secret, Map<String, ? extends List<String>> headers, byte[] body) {
    try {
      verify(secret, headers, body);
      return true;
    } catch (WebhookVerificationException e) {
      return false;
    }
  }

  /** A verifier for secret, with the default tolerance and the system clock. */
  public static Verifier verifier(String secret) {
    return new Verifier(key(secret), DEFAULT_TOLERANCE, Clock.systemUTC());
  }

  /**
   * The webhook-signature entry ({@code "v1,<base64>"}) for a message, as the server computes it.
   * Useful to test receivers.
   */
  public static String sign(String secret, String webhookId, long timestamp, byte[] body) {
    byte[] mac = hmac(key(secret), webhookId, Long.toString(timestamp), body);
    return "v1," + Base64.getEncoder().encodeToString(mac);
  }

  /** Verifies deliveries for one secret; immutable, safe to share. */
  public static final class Verifier {
    private final byte[] key;
    private final Duration tolerance;
    private final Clock clock;

    /** The same verifier with another timestamp tolerance (either direction). */
    public Verifier withTolerance(Duration tolerance) {
      return new Verifier(key, tolerance, clock);
    }

    /** The same verifier with another clock (for tests, or replaying old requests). */
    public Verifier withClock(Clock clock) {
      return new Verifier(key, tolerance, clock);
    }

    private Verifier(byte[] key, Duration tolerance, Clock clock) {
      this.key = key;
      this.tolerance = Objects.requireNonNull(tolerance, "tolerance");
      this.clock = Objects.requireNonNull(clock, "clock");
      if (tolerance.isNegative()) {
        throw new IllegalArgumentException("tolerance is negative");
      }
    }

    /** See {@link Webhooks#verify(String, Map, byte[])}. */
    public void verify(Map<String, ? extends List<String>> headers, byte[] body) {
      Objects.requireNonNull(headers, "headers");
      verify(
          header(headers, "webhook-id", false),
          header(headers, "webhook-timestamp", false),
          header(headers, "webhook-signature", true),
          body);
    }

    /** See {@link Webhooks#verify(String, String, String, String, byte[])}. */
    public void verify(String webhookId, String webhookTimestamp, String webhookSignature, byte[] body) {
      if (isEmpty(webhookId) || isEmpty(webhookTimestamp) || isEmpty(webhookSignature)) {
        throw new WebhookVerificationException(WebhookVerificationException.Reason.MISSING_HEADER);
      }
      String ts = webhookTimestamp.trim();
      if (!TIMESTAMP.matcher(ts).matches()) {
        throw new WebhookVerificationException(WebhookVerificationException.Reason.INVALID_TIMESTAMP);
      }
      Instant sent = Instant.ofEpochSecond(Long.parseLong(ts));
      Instant now = clock.instant();
      if (Duration.between(sent, now).compareTo(tolerance) > 0) {
        throw new WebhookVerificationException(WebhookVerificationException.Reason.TIMESTAMP_TOO_OLD);
      }
      if (Duration.between(now, sent).compareTo(tolerance) > 0) {
        throw new WebhookVerificationException(WebhookVerificationException.Reason.TIMESTAMP_TOO_NEW);
      }
      byte[] want = hmac(key, webhookId, ts, body == null ? new byte[0] : body);
      boolean matched = false;
      for (String entry : webhookSignature.trim().split("\\s+")) {
        int comma = entry.indexOf(',');
        if (comma < 0 || !entry.substring(0, comma).equals("v1")) {
          continue;
        }
        byte[] got;
        try {
          got = Base64.getDecoder().decode(entry.substring(comma + 1));
        } catch (IllegalArgumentException e) {
          continue;
        }
        // Constant-time; every entry is compared (no early exit on a match).
        matched |= MessageDigest.isEqual(got, want);
      }
      if (!matched) {
        throw new WebhookVerificationException(
            WebhookVerificationException.Reason.NO_MATCHING_SIGNATURE);
      }
    }
  }

  private static boolean isEmpty(String s) {
    return s == null || s.isBlank();
  }

  private static String header(
      Map<String, ? extends List<String>> headers, String name, boolean joinAll) {
    List<String> values = new ArrayList<>();
    for (Map.Entry<String, ? extends List<String>> e : headers.entrySet()) {
      if (e.getKey() != null && e.getKey().equalsIgnoreCase(name) && e.getValue() != null) {
        values.addAll(e.getValue());
      }
    }
    if (values.isEmpty()) {
      return null;
    }
    return joinAll ? String.join(" ", values) : values.get(0);
  }

  /** The HMAC key of secret, or null when it is not (whsec_) base64. */
  private static byte[] key(String secret) {
    if (secret == null) {
      return null;
    }
    String b64 = secret.startsWith(SECRET_PREFIX) ? secret.substring(SECRET_PREFIX.length()) : secret;
    try {
      byte[] key = Base64.getDecoder().decode(b64);
      return key.length == 0 ? null : key;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static byte[] hmac(byte[] key, String id, String timestamp, byte[] body) {
    if (key == null) {
      throw new WebhookVerificationException(WebhookVerificationException.Reason.INVALID_SECRET);
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
      mac.update(body);
      return mac.doFinal();
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }
}
