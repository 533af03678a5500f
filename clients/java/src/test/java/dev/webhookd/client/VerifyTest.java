package dev.webhookd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.webhookd.client.WebhookVerificationException.Reason;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Webhooks.verify against the shared vectors in testdata/webhook_signatures.json. */
class VerifyTest {
  private static JsonObject vectors;

  @BeforeAll
  static void loadVectors() throws IOException {
    String dir = System.getProperty("webhookd.testdata", "../../testdata");
    Path path = Paths.get(dir, "webhook_signatures.json");
    vectors = JsonParser.parseString(Files.readString(path, StandardCharsets.UTF_8)).getAsJsonObject();
    assertFalse(vectors.getAsJsonArray("valid").isEmpty(), "valid vectors");
    assertFalse(vectors.getAsJsonArray("invalid").isEmpty(), "invalid vectors");
    assertTrue(vectors.getAsJsonObject("rotation").has("signature"), "rotation vector");
  }

  /** A vector's fields. */
  private record Vector(String why, String secret, String msgId, long timestamp, String body, String signature) {
    static Vector of(JsonElement e) {
      JsonObject o = e.getAsJsonObject();
      return new Vector(
          o.has("why") ? o.get("why").getAsString() : o.get("msg_id").getAsString(),
          o.has("secret") ? o.get("secret").getAsString() : null,
          o.get("msg_id").getAsString(),
          o.get("timestamp").getAsLong(),
          o.get("body").getAsString(),
          o.get("signature").getAsString());
    }

    /** Headers as a receiver gets them, names in mixed case. */
    Map<String, List<String>> headers() {
      Map<String, List<String>> h = new HashMap<>();
      h.put("Webhook-Id", List.of(msgId));
      h.put("Webhook-Timestamp", List.of(Long.toString(timestamp)));
      h.put("Webhook-Signature", List.of(signature));
      return h;
    }

    byte[] bodyBytes() {
      return body.getBytes(StandardCharsets.UTF_8);
    }

    Instant sent() {
      return Instant.ofEpochSecond(timestamp);
    }

    /** A verifier whose clock is at the vector's timestamp (plus offset). */
    Webhooks.Verifier verifier(String secret, Duration offset) {
      return Webhooks.verifier(secret).withClock(Clock.fixed(sent().plus(offset), ZoneOffset.UTC));
    }
  }

  private static List<Vector> list(String name) {
    JsonArray a = vectors.getAsJsonArray(name);
    return a.asList().stream().map(Vector::of).toList();
  }

  private static Reason reasonOf(Runnable r) {
    try {
      r.run();
      return null;
    } catch (WebhookVerificationException e) {
      return e.reason();
    }
  }

  @Test
  void acceptsEveryValidVectorAndSignsIt() {
    List<Vector> valid = list("valid");
    for (Vector v : valid) {
      v.verifier(v.secret(), Duration.ZERO).verify(v.headers(), v.bodyBytes());
      assertEquals(v.signature(), Webhooks.sign(v.secret(), v.msgId(), v.timestamp(), v.bodyBytes()), v.msgId());
    }
  }

  @Test
  void rejectsEveryInvalidVector() {
    for (Vector v : list("invalid")) {
      assertEquals(
          Reason.NO_MATCHING_SIGNATURE,
          reasonOf(() -> v.verifier(v.secret(), Duration.ZERO).verify(v.headers(), v.bodyBytes())),
          v.why());
    }
  }

  @Test
  void eitherSecretVerifiesAfterRotation() {
    JsonObject r = vectors.getAsJsonObject("rotation");
    Vector v = Vector.of(r);
    for (String secret : List.of(r.get("new_secret").getAsString(), r.get("old_secret").getAsString())) {
      v.verifier(secret, Duration.ZERO).verify(v.headers(), v.bodyBytes());
    }
    String third = list("valid").get(3).secret();
    assertEquals(
        Reason.NO_MATCHING_SIGNATURE,
        reasonOf(() -> v.verifier(third, Duration.ZERO).verify(v.headers(), v.bodyBytes())));
  }

  @Test
  void checksTimestampTolerance() {
    Duration tolerance = Duration.ofSeconds(vectors.get("tolerance_seconds").getAsLong());
    assertEquals(Webhooks.DEFAULT_TOLERANCE, tolerance, "the vectors' tolerance");
    Vector v = list("valid").get(0);
    byte[] body = v.bodyBytes();
    Map<String, List<String>> h = v.headers();
    String s = v.secret();
    assertEquals(null, reasonOf(() -> v.verifier(s, tolerance).verify(h, body)), "at the edge, late");
    assertEquals(null, reasonOf(() -> v.verifier(s, tolerance.negated()).verify(h, body)), "at the edge, early");
    assertEquals(
        Reason.TIMESTAMP_TOO_OLD,
        reasonOf(() -> v.verifier(s, tolerance.plusSeconds(1)).verify(h, body)),
        "expired");
    assertEquals(
        Reason.TIMESTAMP_TOO_OLD, reasonOf(() -> v.verifier(s, Duration.ofDays(1)).verify(h, body)), "a day old");
    assertEquals(
        Reason.TIMESTAMP_TOO_NEW,
        reasonOf(() -> v.verifier(s, tolerance.negated().minusSeconds(1)).verify(h, body)),
        "from the future");
    assertEquals(
        null,
        reasonOf(() -> v.verifier(s, Duration.ofHours(1)).withTolerance(Duration.ofHours(2)).verify(h, body)),
        "an hour old, wider tolerance");
    assertEquals(
        Reason.TIMESTAMP_TOO_OLD,
        reasonOf(() -> v.verifier(s, Duration.ofMinutes(1)).withTolerance(Duration.ofSeconds(30)).verify(h, body)),
        "narrower tolerance");
    // Against the system clock the vector is years old.
    assertEquals(Reason.TIMESTAMP_TOO_OLD, reasonOf(() -> Webhooks.verify(s, h, body)), "now");
    assertFalse(Webhooks.isValid(s, h, body));
  }

  @Test
  void rejectsMalformedInput() {
    Vector v = list("valid").get(0);
    byte[] body = v.bodyBytes();
    Webhooks.Verifier verifier = v.verifier(v.secret(), Duration.ZERO);
    for (String name : List.of("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature")) {
      Map<String, List<String>> h = v.headers();
      h.remove(name);
      assertEquals(Reason.MISSING_HEADER, reasonOf(() -> verifier.verify(h, body)), "without " + name);
    }
    Map<String, List<String>> badTs = v.headers();
    badTs.put("Webhook-Timestamp", List.of("yesterday"));
    assertEquals(Reason.INVALID_TIMESTAMP, reasonOf(() -> verifier.verify(badTs, body)));
    assertEquals(
        Reason.INVALID_SECRET,
        reasonOf(() -> v.verifier("whsec_***", Duration.ZERO).verify(v.headers(), body)));
    for (String sig : List.of("v1,not-base64!", "v1", " ", "v1," + v.signature().substring(3, 10))) {
      Map<String, List<String>> h = v.headers();
      h.put("Webhook-Signature", List.of(sig));
      assertTrue(reasonOf(() -> verifier.verify(h, body)) != null, "signature '" + sig + "'");
    }
    // A valid entry among others that do not match verifies.
    Map<String, List<String>> several = v.headers();
    several.put("Webhook-Signature", List.of("v1a,xyz v1,AAAA " + v.signature() + " v2,foo"));
    verifier.verify(several, body);
    // The secret without its whsec_ prefix works too, and so do the headers given directly.
    v.verifier(v.secret().substring("whsec_".length()), Duration.ZERO).verify(v.headers(), body);
    verifier.verify(v.msgId(), Long.toString(v.timestamp()), v.signature(), body);
    assertThrows(
        WebhookVerificationException.class,
        () -> Webhooks.verify(v.secret(), v.msgId(), Long.toString(v.timestamp()), v.signature(), body));
  }
}
