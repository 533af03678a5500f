// HTTP/1.1 over one blocking socket, plain or TLS, for the test receivers
// (delivery/test_http_server.cc for the delivery layer's tests,
// tests/https_receiver.cc for the end-to-end tests): reading a request and
// writing bytes live here once.
//
//   HttpWire wire(fd, ssl);  // takes `ssl` (may be null), not `fd`
//   while (std::optional<WireRequest> request = wire.ReadRequest()) {
//     ... wire.WriteAll("HTTP/1.1 204 No Content\r\n\r\n");
//   }
//
// Not thread-safe: one thread serves one connection.
#ifndef WEBHOOKS_TESTS_HTTP_WIRE_H_
#define WEBHOOKS_TESTS_HTTP_WIRE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

typedef struct ssl_st SSL;

namespace webhooks::test_support {

using WireHeaders = std::vector<std::pair<std::string, std::string>>;

struct WireRequest {
  std::string method;
  std::string target;    // as sent, query included
  WireHeaders headers;   // as received, in order, values trimmed
  std::string body;      // Content-Length bytes
  bool close = false;    // the client sent "Connection: close"

  // The target without its query.
  std::string_view path() const {
    return std::string_view(target).substr(0, target.find('?'));
  }
};

// The first value of header `name` (any case); empty when absent.
std::string HeaderValue(const WireHeaders& headers, std::string_view name);

struct WireLimits {
  size_t max_head_bytes = 64 << 10;
  size_t max_body_bytes = 16 << 20;
};

class HttpWire {
 public:
  HttpWire(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~HttpWire();
  HttpWire(const HttpWire&) = delete;
  HttpWire& operator=(const HttpWire&) = delete;

  // The next request on the connection; nullopt at the end of the stream,
  // on a read error, or when the request is malformed or over `limits`.
  std::optional<WireRequest> ReadRequest(WireLimits limits = {});

  // Writes all of `data`; false when the connection fails first.
  bool WriteAll(std::string_view data);

 private:
  // Appends what one read returns to buffer_; false at EOF or on error.
  bool Fill();

  const int fd_;
  SSL* const ssl_;
  std::string buffer_;  // read but not yet consumed
};

}  // namespace webhooks::test_support

#endif  // WEBHOOKS_TESTS_HTTP_WIRE_H_
