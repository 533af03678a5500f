package dev.webhookd.client;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import java.util.concurrent.Executor;

/** Sends {@code authorization: Bearer <token>}; over TLS only, unless plaintext was chosen. */
final class BearerToken extends CallCredentials {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String header;
  private final boolean allowInsecure;

  BearerToken(String token, boolean allowInsecure) {
    if (token.isBlank() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw new IllegalArgumentException("token must be printable ASCII without spaces");
    }
    this.header = "Bearer " + token;
    this.allowInsecure = allowInsecure;
  }

  @Override
  public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
    if (!allowInsecure && info.getSecurityLevel() != SecurityLevel.PRIVACY_AND_INTEGRITY) {
      applier.fail(
          Status.UNAUTHENTICATED.withDescription(
              "webhookd: refusing to send the bearer token over a connection without TLS"));
      return;
    }
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, header);
    applier.apply(headers);
  }

  @Override
  public String toString() {
    return "BearerToken[***]";
  }
}
