package dev.webhookd.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real webhookd process on a free loopback port with its data in a temporary directory, as
 * clients/go/server_test.go runs it. The binary is $WEBHOOKD_BINARY, or the CMake build's server
 * next to this module.
 */
final class WebhookdServer implements AutoCloseable {
  static final String ADMIN_TOKEN = "admin-token-0123456789";
  static final String PUBLISHER_TOKEN = "publisher-token-0123456789";
  static final String SUBSCRIBER_TOKEN = "alice-token-0123456789";
  static final String SUBSCRIBER = "alice";

  /** An admin, a publisher and a subscriber ("alice"), and a short retry schedule. */
  static final String TOKENS_CONFIG =
      "tokens { token: \"" + ADMIN_TOKEN + "\" principal: \"ops\" roles: ADMIN }\n"
          + "tokens { token: \"" + PUBLISHER_TOKEN + "\" principal: \"app\" roles: PUBLISHER }\n"
          + "tokens { token: \"" + SUBSCRIBER_TOKEN + "\" principal: \"" + SUBSCRIBER
          + "\" roles: SUBSCRIBER }\n"
          + "delivery { retry_schedule_seconds: [0, 1, 1] total_timeout_ms: 5000 }\n";

  private static WebhookdServer shared;

  private final Path dir;
  private final Process process;
  private final Path log;
  private final String address;
  private final boolean ownsDir;

  /** The server the tests share: started by the first caller, stopped when the JVM exits. */
  static synchronized WebhookdServer shared() {
    if (shared == null) {
      try {
        Path dir = Files.createTempDirectory("webhookd-java-test-");
        shared = start(dir, TOKENS_CONFIG, true);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      WebhookdServer s = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(s::close, "webhookd-stop"));
    }
    return shared;
  }

  static Path binary() {
    String bin = System.getenv("WEBHOOKD_BINARY");
    Path path =
        (bin == null || bin.isEmpty() ? Paths.get("..", "..", "build", "server", "webhookd") : Paths.get(bin))
            .toAbsolutePath()
            .normalize();
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException(
          "webhookd binary not found at " + path + "; build it or set WEBHOOKD_BINARY");
    }
    return path;
  }

  /**
   * Runs webhookd with its data under dir and config (text format) as its config file, and waits
   * until it serves.
   */
  static WebhookdServer start(Path dir, String config, boolean ownsDir) throws IOException {
    Path configPath = Files.writeString(dir.resolve("webhookd.textproto"), config);
    Path portFile = dir.resolve("port");
    Path log = dir.resolve("webhookd.log");
    ProcessBuilder pb =
        new ProcessBuilder(
                binary().toString(),
                "--listen=127.0.0.1:0",
                "--data_dir=" + dir.resolve("data"),
                "--port_file=" + portFile,
                "--config=" + configPath,
                "--allow_http_targets",
                "--allowed_cidrs=127.0.0.1/32",
                "--shutdown_grace_seconds=2")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    Process process = pb.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (Files.exists(portFile)) {
        String text = Files.readString(portFile).trim();
        if (text.matches("[0-9]+") && Integer.parseInt(text) > 0) {
          return new WebhookdServer(dir, process, log, "127.0.0.1:" + text, ownsDir);
        }
      }
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "webhookd exited (" + process.exitValue() + ") before serving\n" + readLog(log));
      }
      if (System.nanoTime() > deadline) {
        process.destroyForcibly();
        throw new IllegalStateException("webhookd did not write its port within 60s\n" + readLog(log));
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private WebhookdServer(Path dir, Process process, Path log, String address, boolean ownsDir) {
    this.dir = dir;
    this.process = process;
    this.log = log;
    this.address = address;
    this.ownsDir = ownsDir;
  }

  /** 127.0.0.1:port */
  String address() {
    return address;
  }

  /** A plaintext client with token (none when null). */
  WebhooksClient client(String token) {
    return WebhooksClient.builder(address).plaintext().token(token).build();
  }

  String log() {
    return readLog(log);
  }

  private static String readLog(Path log) {
    try {
      return "---- webhookd log ----\n"
          + Files.readString(log, StandardCharsets.UTF_8)
          + "---- end of webhookd log ----";
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** SIGTERM, then SIGKILL after 15 s; removes the data directory if it made it. */
  @Override
  public synchronized void close() {
    if (process.isAlive()) {
      process.destroy(); // SIGTERM
      try {
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    if (ownsDir) {
      deleteTree(dir);
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      List<Path> all = paths.sorted(Comparator.reverseOrder()).toList();
      for (Path p : all) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // Best effort: a temporary directory.
    }
  }
}
