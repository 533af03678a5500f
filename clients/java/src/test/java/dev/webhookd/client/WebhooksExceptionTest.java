package dev.webhookd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How WebhooksException reads the server's messages and status details. */
class WebhooksExceptionTest {
  private static WebhooksException of(Status.Code code, String message) {
    return WebhooksException.of(Status.fromCode(code).withDescription(message).asRuntimeException());
  }

  @Test
  void splitsTheFieldPathFromTheMessage() {
    String[][] cases = {
      {"subscription.site: must be an absolute path starting with '/'", "subscription.site",
        "must be an absolute path starting with '/'"},
      {"events[0].resource_types is required", "events[0].resource_types", "is required"},
      {"events[0].representations[\"webhook-delivery\"].body: too large", 
        "events[0].representations[\"webhook-delivery\"].body", "too large"},
      {"update_mask: unknown path \"x\"", "update_mask", "unknown path \"x\""},
      {"subscription.filter.$or[1][\"amount\"].$gte: wants a number",
        "subscription.filter.$or[1][\"amount\"].$gte", "wants a number"},
      {"subscription \"sub_1\" not found", null, "subscription \"sub_1\" not found"},
      {"unknown bearer token", null, "unknown bearer token"},
    };
    for (String[] c : cases) {
      WebhooksException e = of(Status.Code.INVALID_ARGUMENT, c[0]);
      assertEquals(Optional.ofNullable(c[1]), e.field(), c[0]);
      assertEquals(c[2], e.description(), c[0]);
      assertEquals(c[0], e.serverMessage());
      assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
    }
  }

  @Test
  void readsBadRequestFieldViolations() {
    com.google.rpc.Status details =
        com.google.rpc.Status.newBuilder()
            .setCode(Code.INVALID_ARGUMENT_VALUE)
            .setMessage("invalid subscription")
            .addDetails(
                Any.pack(
                    BadRequest.newBuilder()
                        .addFieldViolations(
                            BadRequest.FieldViolation.newBuilder()
                                .setField("subscription.target_url")
                                .setDescription("must be https"))
                        .build()))
            .build();
    StatusRuntimeException raw = StatusProto.toStatusRuntimeException(details);
    WebhooksException e = WebhooksException.from(new RuntimeException("wrapped", raw)).orElseThrow();
    assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
    assertEquals(
        List.of(new WebhooksException.FieldViolation("subscription.target_url", "must be https")),
        e.violations());
    assertEquals(Optional.of("subscription.target_url"), e.field());
    assertEquals("must be https", e.description());
    assertSame(raw, e.getCause());
    assertTrue(e.getMessage().contains("subscription.target_url"), e.getMessage());
  }

  @Test
  void fromFindsNoStatusInOtherExceptions() {
    assertTrue(WebhooksException.from(new IllegalStateException("x")).isEmpty());
    assertTrue(WebhooksException.from(null).isEmpty());
    WebhooksException e = of(Status.Code.NOT_FOUND, "gone");
    assertSame(e, WebhooksException.of(e));
    assertEquals(List.of(), e.violations());
  }
}
