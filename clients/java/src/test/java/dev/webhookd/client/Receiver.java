package dev.webhookd.client;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A local HTTP receiver (JDK HttpServer on 127.0.0.1) that answers 200 and records requests. */
final class Receiver implements AutoCloseable {
  /** One request the receiver got; header names are lower case. */
  record Request(String method, String path, Map<String, List<String>> headers, byte[] body) {
    String header(String name) {
      List<String> v = headers.get(name);
      return v == null || v.isEmpty() ? null : v.get(0);
    }
  }

  private final HttpServer server;
  private final BlockingQueue<Request> queue = new LinkedBlockingQueue<>();
  private final List<Request> all = new ArrayList<>();

  Receiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        exchange -> {
          byte[] body;
          try (InputStream in = exchange.getRequestBody()) {
            body = in.readAllBytes();
          }
          Map<String, List<String>> headers = new TreeMap<>();
          exchange
              .getRequestHeaders()
              .forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), List.copyOf(v)));
          Request r =
              new Request(
                  exchange.getRequestMethod(), exchange.getRequestURI().getPath(), headers, body);
          synchronized (all) {
            all.add(r);
          }
          queue.add(r);
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    server.start();
  }

  /** http://127.0.0.1:port + path */
  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  /** The next request, or an AssertionError after timeout. */
  Request next(Duration timeout) throws InterruptedException {
    Request r = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (r == null) {
      throw new AssertionError("no delivery within " + timeout);
    }
    return r;
  }

  /** Every request so far. */
  List<Request> requests() {
    synchronized (all) {
      return List.copyOf(all);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
