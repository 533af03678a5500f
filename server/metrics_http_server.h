// The HTTP endpoint for Prometheus scrapes, on HttpServer (libmicrohttpd,
// one thread per connection, so a slow or idle client holds only its own
// connection):
//
//   GET /metrics   200, the registry in text format 0.0.4
//                  (Content-Type: text/plain; version=0.0.4; charset=utf-8)
//   HEAD /metrics  the same headers, no body
//   other paths    404; other methods 405; a malformed request 400; a
//                  request head over Options::max_request_bytes 431
//
// One request per connection: every response carries `Connection: close`.
// A connection silent for Options::io_timeout is dropped. No authentication
// or TLS: bind it where only scrapers can reach it.
//
//   ASSIGN_OR_RETURN(auto server,
//                    MetricsHttpServer::Start("127.0.0.1:0", &registry));
//   int port = server->port();
//   server.reset();  // stops
#ifndef WEBHOOKS_SERVER_METRICS_HTTP_SERVER_H_
#define WEBHOOKS_SERVER_METRICS_HTTP_SERVER_H_

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "server/http/http_server.h"

namespace webhooks::server {

class MetricsHttpServer {
 public:
  struct Options {
    // Largest request line plus headers accepted.
    size_t max_request_bytes = 8 << 10;
    // A connection silent this long is dropped (whole seconds, at least 1).
    absl::Duration io_timeout = absl::Seconds(5);
    // Most scrape connections at once, and from one address.
    int max_connections = 64;
    int max_connections_per_ip = 48;
  };

  // Binds `address` — host:port, [ipv6]:port, or :port for every interface;
  // port 0 picks a free one — and starts serving `registry`, which must
  // outlive the server. INVALID_ARGUMENT when the address does not parse or
  // resolve; UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      std::string_view address, const MetricsRegistry* registry,
      const Options& options);
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      std::string_view address, const MetricsRegistry* registry) {
    return Start(address, registry, Options());
  }

  // Stops: closes every connection and joins their threads.
  ~MetricsHttpServer() = default;
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The bound port (useful with port 0).
  int port() const { return server_->port(); }

  // The response to one request (also served at /metrics on the JSON API's
  // port, when both are on).
  static HttpResponse Respond(const MetricsRegistry& registry,
                              const HttpRequest& request);

 private:
  explicit MetricsHttpServer(HttpServerPtr server)
      : server_(std::move(server)) {}

  const HttpServerPtr server_;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_METRICS_HTTP_SERVER_H_
