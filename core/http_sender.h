// The delivery interface: sends one HTTP request and reports what happened.
// Implemented by delivery/curl_sender (libcurl multi loop); tests may fake it.
//
//   sender->Send(std::move(request), [](HttpResult result) { ... });
//
// Implementations are thread-safe; Send never blocks on the network. The
// callback runs exactly once, on the sender's own thread, and must not block.
#ifndef WEBHOOKS_CORE_HTTP_SENDER_H_
#define WEBHOOKS_CORE_HTTP_SENDER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "core/request_body.h"

namespace webhooks::core {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string url;
  std::string method;  // POST, PUT or PATCH
  HttpHeaders headers;
  RequestBody body;  // may share its bytes with the event (request_body.h)
  // Egress: send directly even when the sender has a proxy.
  bool bypass_proxy = false;
  // PEM chain and private key presented to the receiver (mTLS); empty:
  // none.
  std::string client_certificate_pem = {};
  std::string client_key_pem = {};
  // Zero: the sender's own.
  absl::Duration connect_timeout = absl::ZeroDuration();
  absl::Duration total_timeout = absl::ZeroDuration();
};

struct HttpResult {
  enum class Outcome {
    kResponse,        // a response was received (any status)
    kTimeout,         // connect or total timeout
    kConnectError,    // DNS, refused, reset, ...
    kTlsError,        // handshake or certificate verification failed
    kRefusedAddress,  // the destination address is not allowed (SSRF guard)
    kRejected,        // not attempted: bad URL, scheme not allowed, shutdown
  };
  Outcome outcome = Outcome::kRejected;
  int status_code = 0;     // kResponse only
  std::string reason;      // reason phrase, kResponse only
  HttpHeaders headers;     // up to the header cap
  std::string body;        // up to the body cap
  bool body_truncated = false;
  std::string error;       // human text for the other outcomes
  absl::Duration elapsed;  // from start of the attempt to its end
};

using HttpCallback = std::function<void(HttpResult)>;

class HttpSender {
 public:
  virtual ~HttpSender() = default;
  // Queues the request. `done` is called once with the result.
  virtual void Send(HttpRequest request, HttpCallback done) = 0;
  // Requests currently being sent.
  virtual int InFlight() const = 0;
  // Stops taking requests (later Sends complete at once as kRejected), lets
  // requests in flight finish for up to `grace`, then completes the rest as
  // kRejected. Idempotent.
  virtual void Shutdown(absl::Duration grace) = 0;
};

using HttpSenderPtr = std::unique_ptr<HttpSender>;

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_HTTP_SENDER_H_
