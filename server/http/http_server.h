// An HTTP/1.1 server on libmicrohttpd: one thread per connection (a handler
// may block), bounded by a connection cap, a per-IP cap, an idle timeout, a
// request head limit (431) and a body limit (413). The handler sees every
// request, whole (head and body), and returns the whole response or a body
// source that is pulled chunk by chunk (chunked transfer encoding).
//
//   HttpServer::Options options;
//   options.max_body_bytes = 1 << 20;
//   ASSIGN_OR_RETURN(HttpServerPtr server, HttpServer::Start(
//       "127.0.0.1:0", options, [](const HttpRequest& request) {
//         return HttpResponse::Text(200, "hello\n");
//       }));
//   int port = server->port();
//   server.reset();  // closes every connection, joins every thread
//
// No TLS: bind it where only trusted callers reach it, or put a proxy in
// front. Thread-safe: the handler runs on many threads at once.
#ifndef WEBHOOKS_SERVER_HTTP_HTTP_SERVER_H_
#define WEBHOOKS_SERVER_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace webhooks::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  // In arrival order; names lowercased.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // True when the body was over Options::max_body_bytes: `body` is then
  // empty and the handler should answer 413.
  bool body_too_large = false;

  // The first value of header `name` (lowercase), or "".
  std::string_view Header(std::string_view name) const;
};

// A response body produced while it is sent, on the connection's thread.
class HttpBodySource {
 public:
  virtual ~HttpBodySource() = default;
  // The next chunk (may block), or nullopt at the end. `client_gone()` tells
  // whether the client has closed its side, so a source waiting for data
  // can give up. Never called again after nullopt.
  virtual std::optional<std::string> Next(
      const std::function<bool()>& client_gone) = 0;
};

struct HttpResponse {
  int status = 200;
  // Content-Type included; Content-Length is added by the server.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body comes from here (chunked) and `body` is ignored.
  std::unique_ptr<HttpBodySource> source;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  struct Options {
    // Most connections at once; more are closed as soon as accepted.
    int max_connections = 256;
    // Most connections at once from one address; 0: no limit.
    int max_connections_per_ip = 64;
    // A connection idle (nothing received or sent) this long is closed;
    // rounded up to whole seconds.
    absl::Duration idle_timeout = absl::Seconds(30);
    // Largest request line plus headers; larger ones get 431.
    size_t max_head_bytes = 16 << 10;
    // Largest request body; see HttpRequest::body_too_large.
    size_t max_body_bytes = 1 << 20;
    // Answer every request with `Connection: close`.
    bool close_after_response = false;
    // Names the server in errors ("metrics address ...").
    std::string name = "http";
  };

  // Binds `address` — host:port, [ipv6]:port, or :port for every interface;
  // port 0 picks a free one — and starts serving with `handler`.
  // INVALID_ARGUMENT when the address does not parse or resolve;
  // UNAVAILABLE when it cannot be bound or the server cannot start.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      std::string_view address, const Options& options, HttpHandler handler);

  // Stops: closes the listening socket and every connection, and joins
  // their threads (a body source being pulled must return first).
  virtual ~HttpServer() = default;

  // The bound port (useful with port 0).
  virtual int port() const = 0;
};

using HttpServerPtr = std::unique_ptr<HttpServer>;

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_HTTP_SERVER_H_
