package dev.webhookd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.webhookd.webhooks.v1.GetTransactionRequest;
import dev.webhookd.webhooks.v1.ListDialectsRequest;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A webhookd with TLS and client certificates (mTLS), with a test CA made by the openssl CLI: the
 * client verifies the server with a custom root CA, presents its certificate, and sends its token
 * over TLS.
 */
class TlsTest {
  private static Path dir;
  private static WebhookdServer server;

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("openssl.log").toFile())
            .start();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(
          "openssl " + String.join(" ", args) + " failed:\n" + Files.readString(dir.resolve("openssl.log")));
    }
  }

  private static boolean haveOpenssl() {
    try {
      return new ProcessBuilder("openssl", "version")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start()
              .waitFor()
          == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** A P-256 key and a certificate for name signed by the test CA, with extensions. */
  private static void issue(String name, String extensions, int serial) throws Exception {
    Files.writeString(dir.resolve(name + ".ext"), extensions);
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name);
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-set_serial", Integer.toString(serial), "-days", "1", "-out", name + ".pem",
        "-extfile", name + ".ext");
  }

  @BeforeAll
  static void startTlsServer() throws Exception {
    assumeTrue(haveOpenssl(), "the openssl CLI is needed to make the test CA");
    dir = Files.createTempDirectory("webhookd-java-tls-");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", "/CN=webhookd Java SDK test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,digitalSignature");
    issue("localhost",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nkeyUsage=digitalSignature\n"
            + "extendedKeyUsage=serverAuth\n", 2);
    issue("client", "keyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n", 3);
    String config =
        WebhookdServer.TOKENS_CONFIG
            + "tls {\n"
            + "  cert_file: \"" + dir.resolve("localhost.pem") + "\"\n"
            + "  key_file: \"" + dir.resolve("localhost.key") + "\"\n"
            + "  client_ca_file: \"" + dir.resolve("ca.pem") + "\"\n"
            + "}\n";
    server = WebhookdServer.start(dir, config, true);
  }

  @AfterAll
  static void stopTlsServer() {
    if (server != null) {
      server.close();
    } else if (dir != null) {
      WebhookdServer.deleteTree(dir);
    }
  }

  private static byte[] read(String name) {
    try {
      return Files.readAllBytes(dir.resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void mutualTlsWithRootCaFileAndClientCertificateFiles() {
    try (WebhooksClient client =
        WebhooksClient.builder(server.address())
            .rootCertificates(dir.resolve("ca.pem"))
            .clientCertificate(dir.resolve("client.pem"), dir.resolve("client.key"))
            .token(WebhookdServer.ADMIN_TOKEN)
            .build()) {
      var dialects =
          client.call(c -> c.dialects().listDialects(ListDialectsRequest.getDefaultInstance()));
      assertFalse(dialects.getDialectsList().isEmpty(), "the built-in default dialect");
    }
  }

  @Test
  void mutualTlsWithPemBytesAndServerName() {
    try (WebhooksClient client =
        WebhooksClient.builder(server.address())
            .rootCertificates(read("ca.pem"))
            .clientCertificate(read("client.pem"), read("client.key"))
            .serverName("localhost")
            .token(WebhookdServer.PUBLISHER_TOKEN)
            .build()) {
      WebhooksException e =
          assertThrows(
              WebhooksException.class,
              () ->
                  client.call(
                      c ->
                          c.events()
                              .getTransaction(
                                  GetTransactionRequest.newBuilder().setTransactionId("none").build())));
      assertEquals(Status.Code.NOT_FOUND, e.code(), e.getMessage());
    }
  }

  @Test
  void withoutClientCertificateOrTrustedCaCallsFail() {
    try (WebhooksClient noCert =
            WebhooksClient.builder(server.address())
                .rootCertificates(dir.resolve("ca.pem"))
                .token(WebhookdServer.ADMIN_TOKEN)
                .build();
        WebhooksClient untrusted =
            WebhooksClient.builder(server.address())
                .clientCertificate(dir.resolve("client.pem"), dir.resolve("client.key"))
                .token(WebhookdServer.ADMIN_TOKEN)
                .build();
        WebhooksClient plaintext = server.client(WebhookdServer.ADMIN_TOKEN)) {
      for (WebhooksClient client : List.of(noCert, untrusted, plaintext)) {
        WebhooksException e =
            assertThrows(
                WebhooksException.class,
                () -> client.call(c -> c.dialects().listDialects(ListDialectsRequest.getDefaultInstance())));
        assertEquals(Status.Code.UNAVAILABLE, e.code(), e.getMessage());
      }
    }
  }
}
