// The HttpSender over a libcurl multi loop on a thread of its own (or
// several: sender_threads): many transfers in flight, connection reuse
// (HTTP/1.1 keep-alive, HTTP/2 over TLS where the receiver offers it), a
// global and a per-destination cap, connect and total timeouts, TLS
// verification always on, no redirects, and the SSRF guard applied to the
// address actually connected to. This header does not include curl; only
// curl_sender.cc and curl_easy.{h,cc} do.
//
//   ASSIGN_OR_RETURN(auto sender, CurlSender::Create(options));
//   sender->Send(request, [](core::HttpResult r) { ... });
//   sender->Shutdown(absl::Seconds(10));
#ifndef WEBHOOKS_DELIVERY_CURL_SENDER_H_
#define WEBHOOKS_DELIVERY_CURL_SENDER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/http_sender.h"

namespace webhooks::delivery {

struct CurlSenderOptions {
  int max_in_flight = 512;           // transfers at once, all destinations
  int max_per_destination = 32;      // per scheme://host:port
  // Kept-alive connections left open beyond those in use, for the
  // destinations used lately (the oldest idle one is closed past this).
  // Without room for them, each transfer returning its connection to a full
  // cache closes another destination's, which that destination then opens
  // again (a TLS handshake over https).
  int max_idle_connections = 512;
  // Loop threads, each with its own multi handle and connections; a
  // destination's requests all go to one of them (sender_pool.h). The
  // caps above are shared out between them: each thread gets its part of
  // max_in_flight and max_idle_connections, and max_per_destination
  // whole. At most max_in_flight.
  int sender_threads = 1;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(15);
  bool allow_http = false;           // development: http:// targets
  std::string ca_bundle;             // PEM file; empty: the system's
  size_t max_response_body = 16 << 10;
  size_t max_response_headers = 16 << 10;  // bytes of header lines kept
  std::vector<std::string> allowed_cidrs;  // SSRF allow-list
  // Egress proxy, "http://host:port" or "https://host:port", optionally
  // with "user:password@" (Basic, see ParseProxyUrl); empty: none.
  // Requests without bypass_proxy go through it (see below).
  std::string proxy_url;
};

// sender_threads for this machine when none is configured: one per two
// cores, at least 2 and at most 8 (one on a single core), and at most
// `max_in_flight`.
int DefaultSenderThreads(int max_in_flight);

// INVALID_ARGUMENT naming the option for what Create would refuse: caps
// below 1, timeouts under 1ms, an unreadable ca_bundle, a malformed CIDR
// ("allowed_cidrs[i]: ..."). For checking a config file early.
absl::Status ValidateCurlSenderOptions(const CurlSenderOptions& options);

// Results, beyond core::HttpSender's contract:
//  - kRejected, not attempted, for a request that core::ParseTargetUrl
//    refuses (https only unless allow_http; no credentials), a method other
//    than POST/PUT/PATCH, or a header that is malformed or one the transfer
//    sets itself (Host, Content-Length, Transfer-Encoding, Connection,
//    Expect, TE, Upgrade). Besides Host and Content-Length exactly the given
//    headers are sent (curl's Accept, Expect and default Content-Type are
//    removed).
//  - kResponse for any status, 1xx dropped, 3xx not followed. A body over
//    max_response_body is cut there (body_truncated) and the connection
//    closed; header lines beyond max_response_headers bytes are dropped.
//  - kRefusedAddress when every address the host resolved to is refused by
//    the AddressPolicy; error: "refused to connect to 127.0.0.1: loopback
//    address (not in allowed_cidrs)". No connection is made.
//  - kTimeout (connect or total), kTlsError (CURLE_SSL_*, peer verification)
//    and kConnectError (anything else: DNS, refused, reset, empty reply)
//    with curl's error text.
//  - kRejected with error exactly "shutting down" for requests cut off by
//    Shutdown (queued, in flight past the grace, or sent afterwards); the
//    other kRejected results are requests that will never be sendable.
//  - elapsed is curl's total time for the transfer.
//  - With proxy_url set, a request without bypass_proxy is sent through a
//    CONNECT tunnel (https and http targets alike). The receiver's host is
//    resolved by the sender itself and its addresses checked with the
//    AddressPolicy before the proxy is involved: kRefusedAddress as above
//    when all are refused (no CONNECT is sent), kConnectError "could not
//    resolve host ..." when the name does not resolve. The proxy is then
//    asked to CONNECT to the allowed IP literal, with the original Host
//    header and TLS server name. The proxy's own address is trusted
//    (allowed_cidrs does not apply to it). Failures to reach the proxy say
//    "egress proxy <url>: ...", and a refused tunnel "egress proxy <url>
//    answered CONNECT with <status>".
//  - A request with a client certificate presents it in the TLS handshake
//    with the receiver (never to the proxy). A receiver that requires one
//    and gets none fails as kTlsError "the receiver requires a TLS client
//    certificate and none is configured (...)".
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
  //
  // Requests still queued (not started) complete as kRejected "shutting
  // down" at once. Sends after Shutdown began run their callback on the
  // calling thread, before Send returns. Returns once the loop thread has
  // ended and every callback has run, except when called from a callback
  // (the loop thread): then it only starts the shutdown. Do not destroy the
  // sender from one of its callbacks.
  virtual void Shutdown(absl::Duration grace) = 0;

  // What Shutdown does from a callback: stops taking requests and starts
  // the grace, without waiting for the loop to end.
  virtual void StartShutdown(absl::Duration grace) = 0;
  // Whether the caller is on a loop thread of this sender (in a callback).
  virtual bool OnLoopThread() const = 0;
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_CURL_SENDER_H_
