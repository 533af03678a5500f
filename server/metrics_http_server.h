// A minimal HTTP/1.1 endpoint for Prometheus scrapes, on a thread of its
// own (POSIX sockets and poll, no dependencies):
//
//   GET /metrics   200, the registry in text format 0.0.4
//                  (Content-Type: text/plain; version=0.0.4; charset=utf-8)
//   HEAD /metrics  the same headers, no body
//   other paths    404; other methods 405; a malformed request 400; a
//                  request head over Options::max_request_bytes 431
//
// One connection at a time, one request per connection: every response
// carries `Connection: close` and the connection is closed after it. A
// client gets Options::io_timeout to send its request and read the answer;
// a slower one is dropped. No authentication or TLS: bind it where only
// scrapers can reach it.
//
//   ASSIGN_OR_RETURN(auto server,
//                    MetricsHttpServer::Start("127.0.0.1:0", &registry));
//   int port = server->port();
//   server.reset();  // stops
#ifndef WEBHOOKS_SERVER_METRICS_HTTP_SERVER_H_
#define WEBHOOKS_SERVER_METRICS_HTTP_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics.h"

namespace webhooks::server {

class MetricsHttpServer {
 public:
  struct Options {
    // Largest request line plus headers accepted.
    size_t max_request_bytes = 8 << 10;
    // Time a connection may take, from accept to the response's last byte.
    absl::Duration io_timeout = absl::Seconds(5);
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

  // Stops: wakes the thread (cutting off a connection being served),
  // joins it and closes the socket. Returns promptly.
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The bound port (useful with port 0).
  int port() const { return port_; }

 private:
  MetricsHttpServer(const MetricsRegistry* registry, const Options& options,
                    int listen_fd, int wake_read, int wake_write, int port);

  void Loop();
  // Reads one request from `fd`, answers it. The caller closes `fd`.
  void Serve(int fd);
  // Waits until `fd` has `events` or the deadline passes or Stop wakes us.
  // False on timeout, wake-up or error.
  bool WaitFor(int fd, short events, absl::Time deadline) const;
  // The whole response to one request head.
  std::string Respond(std::string_view head) const;

  const MetricsRegistry* const registry_;
  const Options options_;
  const int listen_fd_;
  const int wake_read_;  // readable once the destructor runs
  const int wake_write_;
  const int port_;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_METRICS_HTTP_SERVER_H_
