// The HttpSender over a libcurl multi loop on a thread of its own: many
// transfers in flight, connection reuse (HTTP/1.1 keep-alive, HTTP/2 over
// TLS where the receiver offers it), a global and a per-destination cap,
// connect and total timeouts, TLS verification always on, no redirects, and
// the SSRF guard applied to the address actually connected to. This header
// does not include curl; only curl_sender.cc does.
//
//   ASSIGN_OR_RETURN(auto sender, CurlSender::Create(options));
//   sender->Send(request, [](core::HttpResult r) { ... });
//   sender->Shutdown(absl::Seconds(10));
#ifndef WEBHOOKS_DELIVERY_CURL_SENDER_H_
#define WEBHOOKS_DELIVERY_CURL_SENDER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/http_sender.h"

namespace webhooks::delivery {

struct CurlSenderOptions {
  int max_in_flight = 512;           // transfers at once, all destinations
  int max_per_destination = 32;      // per scheme://host:port
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(15);
  bool allow_http = false;           // development: http:// targets
  std::string ca_bundle;             // PEM file; empty: the system's
  size_t max_response_body = 16 << 10;
  size_t max_response_headers = 16 << 10;  // bytes of header lines kept
  std::vector<std::string> allowed_cidrs;  // SSRF allow-list
};

class CurlSender : public core::HttpSender {
 public:
  // INVALID_ARGUMENT for bad options (e.g. a malformed CIDR, a missing CA
  // bundle file); INTERNAL when libcurl cannot be set up.
  static absl::StatusOr<std::unique_ptr<CurlSender>> Create(
      const CurlSenderOptions& options);

  // Stops taking requests (later Sends complete at once as kRejected), lets
  // transfers in flight finish for up to `grace`, then aborts the rest
  // (kRejected, "shutting down"). Idempotent; the destructor calls it with
  // no grace.
  virtual void Shutdown(absl::Duration grace) = 0;
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_CURL_SENDER_H_
