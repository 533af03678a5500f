package dev.webhookd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The README's example compiles and runs as printed against a fresh server configured with the
 * tokens the repository README shows.
 */
class ReadmeExampleTest {
  private static final String README_TOKENS =
      "tokens { token: \"admin-token-0123456789\" principal: \"ops\" roles: ADMIN }\n"
          + "tokens { token: \"publisher-token-0123456\" principal: \"app\" roles: PUBLISHER }\n"
          + "tokens { token: \"alice-token-0123456789\" principal: \"alice\" roles: SUBSCRIBER }\n"
          + "delivery { retry_schedule_seconds: [0, 1, 1] total_timeout_ms: 5000 }\n";

  @Test
  void exampleRunsAsPrinted() throws Exception {
    String readme = Files.readString(Paths.get("README.md"), StandardCharsets.UTF_8);
    List<String> blocks = new ArrayList<>();
    Matcher m = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
    while (m.find()) {
      if (m.group(1).contains("public class Example")) {
        blocks.add(m.group(1));
      }
    }
    assertEquals(1, blocks.size(), "README blocks with the Example class");

    Path dir = Files.createTempDirectory("webhookd-java-readme-");
    try {
      Path source = Files.writeString(dir.resolve("Example.java"), blocks.get(0));
      JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
      String classpath =
          System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
      int rc =
          javac.run(null, diagnostics, diagnostics, "-proc:none", "-Xlint:none", "-classpath",
              classpath, "-d", dir.toString(), source.toString());
      assertEquals(0, rc, "javac:\n" + diagnostics.toString(StandardCharsets.UTF_8));

      Path serverDir = Files.createDirectory(dir.resolve("server"));
      String printed;
      try (WebhookdServer server = WebhookdServer.start(serverDir, README_TOKENS, false);
          URLClassLoader loader =
              new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
        Method main = loader.loadClass("Example").getMethod("main", String[].class);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream original = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
          main.invoke(null, (Object) new String[] {server.address()});
        } finally {
          System.setOut(original);
        }
        printed = out.toString(StandardCharsets.UTF_8);
      }
      assertTrue(printed.contains("deliveries created: 1\n"), printed);
      assertTrue(
          Pattern.compile("^delivery \\S+ \\{\"id\":42,\"name\":\"Ada\"\\}$", Pattern.MULTILINE)
              .matcher(printed)
              .find(),
          printed);
      assertFalse(printed.contains("rejected"), printed);
      assertTrue(printed.contains("INVALID_ARGUMENT subscription.site "), printed);
    } finally {
      WebhookdServer.deleteTree(dir);
    }
  }
}
