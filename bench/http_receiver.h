// A fast webhook receiver for delivery_bench: HTTP/1.1 (or HTTPS through
// OpenSSL) on 127.0.0.1, keep-alive, epoll, many connections per thread.
// Every request is read whole — headers and the Content-Length body —
// before it is answered (204 No Content by default, at once or after a
// set delay), unlike nginx's
// `return 204`, which answers before reading the body. Each thread has its
// own epoll and its own SO_REUSEPORT listening socket, so the kernel
// spreads connections over threads.
//
//   auto receiver = HttpReceiver::Start({.threads = 1}, [](const Received& r) {
//     ... r.body, r.arrival (bench::Now()) ...   // on a receiver thread
//   });
//   int64_t n = (*receiver)->requests();
//
// Requests with Transfer-Encoding (chunked bodies) are answered 501 and the
// connection closed: libcurl, wrk and the product all send Content-Length.
#ifndef WEBHOOKS_BENCH_HTTP_RECEIVER_H_
#define WEBHOOKS_BENCH_HTTP_RECEIVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace webhooks::bench {

struct ReceiverOptions {
  int port = 0;     // 0: an ephemeral port
  int threads = 1;  // event loops
  // Ports listened on (the first is `port`, the others ephemeral): each is
  // a destination of its own to a sender, with its own connections.
  int ports = 1;
  // Both set: HTTPS with this PEM certificate chain and key.
  std::string cert_file;
  std::string key_file;
  int status = 204;  // 200 or 204
  // Each response is sent this long after its request was read, as a real
  // endpoint's work would hold it (in order per connection).
  double delay_s = 0;
};

// One whole request, valid during the callback.
struct Received {
  std::string_view head;  // request line and headers, without the blank line
  std::string_view body;
  double arrival;  // Now() when its last byte had been read
  int thread;      // which event loop
};

using OnRequest = std::function<void(const Received&)>;

class HttpReceiver {
 public:
  // `on_request` (may be empty) runs on the receiver's threads, before the
  // response is sent; it must be quick and thread-safe.
  static absl::StatusOr<std::unique_ptr<HttpReceiver>> Start(
      const ReceiverOptions& options, OnRequest on_request = nullptr);
  ~HttpReceiver();  // stops and joins

  int port() const { return ports_[0]; }
  bool tls() const { return tls_; }
  // "http://127.0.0.1:<port>" or "https://..."; no trailing slash. The
  // i-th port's, when there are several (ReceiverOptions::ports).
  std::string base_url(int i = 0) const;
  int ports() const { return static_cast<int>(ports_.size()); }
  // The base URL for the i-th of a set of targets: port i mod ports(), so
  // the targets are spread over the ports.
  std::string base_url_for_target(int64_t i) const {
    return base_url(static_cast<int>(i % ports()));
  }

  // Whole requests answered so far (all threads).
  int64_t requests() const;
  // Connections accepted so far.
  int64_t connections() const;
  // Connections closed for a protocol error (bad request, TLS failure).
  int64_t errors() const;
  // Kernel thread ids of the event loops (for per-thread CPU figures).
  std::vector<int> thread_ids() const;

  struct Loop;

 private:
  HttpReceiver() = default;

  std::vector<int> ports_;
  bool tls_ = false;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*; this header does not include OpenSSL
  OnRequest on_request_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
};

// "Expect", "content-length", ...: case-insensitive header lookup in a
// request head; empty when absent.
std::string_view HeaderValue(std::string_view head, std::string_view name);

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_HTTP_RECEIVER_H_
