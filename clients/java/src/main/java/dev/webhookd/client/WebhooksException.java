package dev.webhookd.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A call the server refused: the gRPC status code, the server's message and, when the server named
 * one, the request field it objected to.
 *
 * <p>The server starts the messages of field errors with the field's path: {@code
 * "subscription.site: must be an absolute path starting with '/'"}, {@code
 * "events[0].resource_types is required"}. {@link #field()} is that path ({@code
 * "subscription.site"}) and {@link #description()} the rest; for other errors the field is empty and
 * the description is the whole message. {@code google.rpc.BadRequest} field violations in the status
 * details, if the server sent any, are in {@link #violations()}.
 *
 * <p>It is a {@link StatusRuntimeException}, so code that catches those catches it too. The
 * generated stubs throw plain {@code StatusRuntimeException}s; {@link WebhooksClient#call} and
 * {@link #from(Throwable)} turn them into this.
 */
public final class WebhooksException extends StatusRuntimeException {
  private static final long serialVersionUID = 1L;

  /** One {@code google.rpc.BadRequest} field violation, or the field named by the message. */
  public record FieldViolation(String field, String description) {}

  // A field path as the server writes it: subscription.site, events[0].acl[2],
  // events[0].representations["webhook-delivery"], update_mask.
  private static final String FIELD_PATH =
      "[A-Za-z_][A-Za-z0-9_]*(?:\\.\\$?[A-Za-z_][A-Za-z0-9_]*|\\[[0-9]+\\]|\\[\"(?:[^\"\\\\]|\\\\.)*\"\\])*";
  private static final Pattern FIELD_PROBLEM =
      Pattern.compile("^(" + FIELD_PATH + "): (.*)$", Pattern.DOTALL);
  private static final Pattern FIELD_REQUIRED =
      Pattern.compile("^(" + FIELD_PATH + ") (is required)$");

  private final String field;
  private final String description;
  private final transient List<FieldViolation> violations;

  private WebhooksException(Status status, Metadata trailers) {
    super(status, trailers);
    String message = status.getDescription() == null ? "" : status.getDescription();
    String parsedField = null;
    String parsedDescription = message;
    Matcher m = FIELD_PROBLEM.matcher(message);
    if (!m.matches()) {
      m = FIELD_REQUIRED.matcher(message);
    }
    if (m.matches()) {
      parsedField = m.group(1);
      parsedDescription = m.group(2);
    }
    List<FieldViolation> found = badRequestViolations(status, trailers);
    if (parsedField == null && !found.isEmpty()) {
      parsedField = found.get(0).field();
      parsedDescription = found.get(0).description();
    }
    this.field = parsedField;
    this.description = parsedDescription;
    this.violations = Collections.unmodifiableList(found);
  }

  /** Wraps a status (with its trailers, which may be null) that a call ended with. */
  public static WebhooksException of(Status status, Metadata trailers) {
    return new WebhooksException(status, trailers);
  }

  /** Wraps what a generated stub threw. */
  public static WebhooksException of(StatusRuntimeException e) {
    if (e instanceof WebhooksException we) {
      return we;
    }
    return new WebhooksException(e.getStatus().withCause(e), e.getTrailers());
  }

  /** Wraps a checked {@link StatusException} (from the async or future stubs). */
  public static WebhooksException of(StatusException e) {
    return new WebhooksException(e.getStatus().withCause(e), e.getTrailers());
  }

  /**
   * The first gRPC status in {@code t} or its causes, as a WebhooksException; empty when there is
   * none (not from a call).
   */
  public static Optional<WebhooksException> from(Throwable t) {
    for (Throwable cause = t; cause != null; cause = cause.getCause()) {
      if (cause instanceof StatusRuntimeException sre) {
        return Optional.of(of(sre));
      }
      if (cause instanceof StatusException se) {
        return Optional.of(of(se));
      }
      if (cause.getCause() == cause) {
        break;
      }
    }
    return Optional.empty();
  }

  private static List<FieldViolation> badRequestViolations(Status status, Metadata trailers) {
    List<FieldViolation> out = new ArrayList<>();
    com.google.rpc.Status details;
    try {
      details = StatusProto.fromStatusAndTrailers(status, trailers);
    } catch (RuntimeException e) {
      return out;
    }
    if (details == null) {
      return out;
    }
    for (Any any : details.getDetailsList()) {
      if (!any.is(BadRequest.class)) {
        continue;
      }
      try {
        for (BadRequest.FieldViolation v : any.unpack(BadRequest.class).getFieldViolationsList()) {
          out.add(new FieldViolation(v.getField(), v.getDescription()));
        }
      } catch (InvalidProtocolBufferException ignored) {
        // A malformed detail is no violation.
      }
    }
    return out;
  }

  /** The gRPC status code. */
  public Status.Code code() {
    return getStatus().getCode();
  }

  /** The request field the server objected to ({@code "subscription.site"}), if it named one. */
  public Optional<String> field() {
    return Optional.ofNullable(field);
  }

  /** The server's message without the field path; the whole message when it named no field. */
  public String description() {
    return description;
  }

  /** The server's message as sent (the status description), or "" if it sent none. */
  public String serverMessage() {
    String d = getStatus().getDescription();
    return d == null ? "" : d;
  }

  /** The {@code google.rpc.BadRequest} field violations in the status details (often none). */
  public List<FieldViolation> violations() {
    return violations == null ? List.of() : violations;
  }

  @Override
  public String getMessage() {
    if (field != null) {
      return "webhookd: " + code() + ": " + field + ": " + description;
    }
    return "webhookd: " + code() + ": " + description;
  }
}
