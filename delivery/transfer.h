// The parts of one delivery transfer that do not need curl: checking a
// request before it is queued, the header lines curl is given, the record of
// SSRF refusals, and collecting a response within its caps. Used by
// curl_sender.cc and curl_easy.cc (the only files that include curl);
// tested on their own.
//
//   ASSIGN_OR_RETURN(CheckedRequest checked, CheckRequest(request, false));
//   ResponseCollector response(16 << 10, 16 << 10);
//   response.OnHeaderLine("HTTP/1.1 200 OK\r\n");
//   if (!response.OnBody(chunk)) { /* stop the transfer */ }
#ifndef WEBHOOKS_DELIVERY_TRANSFER_H_
#define WEBHOOKS_DELIVERY_TRANSFER_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/http_sender.h"
#include "delivery/address_policy.h"

namespace webhooks::delivery {

// A request that passed CheckRequest.
struct CheckedRequest {
  std::string url;          // normalized: lowercased scheme and host
  std::string destination;  // "scheme://host:port", the per-destination key
  std::string host;         // lowercased; IPv6 without brackets
  bool host_is_ipv6 = false;
  uint16_t port = 0;
};

// A request waiting for, or holding, a transfer slot.
struct Pending {
  core::HttpRequest request;
  core::HttpCallback done;
  // Set once checked; shared by the requests to one URL (RequestChecker).
  std::shared_ptr<const CheckedRequest> checked;
  // Proxied requests only: the receiver's address, resolved and allowed by
  // the AddressPolicy, that the proxy is asked to CONNECT to.
  std::string connect_ip = {};
};

// A result for a request that was not attempted (kRejected).
core::HttpResult RejectedResult(std::string error);

// The URL part of CheckRequest (below): `url` normalized, and its
// destination key.
absl::StatusOr<CheckedRequest> CheckUrl(std::string_view url, bool allow_http);

// INVALID_ARGUMENT when the URL is not an absolute http(s) URL that
// core::ParseTargetUrl accepts (https only unless `allow_http`; no
// credentials), the method is not POST, PUT or PATCH (upper case), or a
// header has a name that is not an RFC 9110 token, a value with a control
// character (CR, LF, NUL, ...), or is one the transfer itself controls
// (Host, Content-Length, Transfer-Encoding, Connection, Expect, TE, Upgrade).
absl::StatusOr<CheckedRequest> CheckRequest(const core::HttpRequest& request,
                                            bool allow_http);

// CheckRequest for a stream of requests that repeat their URLs (one per
// subscription): the URL's checks are remembered by URL, at most
// `capacity` of them (all forgotten when full), so a request whose URL was
// seen only has its method and headers checked, and shares the URL's
// CheckedRequest. Not thread-safe.
class RequestChecker {
 public:
  explicit RequestChecker(bool allow_http, size_t capacity = 4096)
      : allow_http_(allow_http), capacity_(capacity) {}
  absl::StatusOr<std::shared_ptr<const CheckedRequest>> Check(
      const core::HttpRequest& request);
  size_t cached() const { return urls_.size(); }

 private:
  const bool allow_http_;
  const size_t capacity_;
  absl::flat_hash_map<std::string, std::shared_ptr<const CheckedRequest>>
      urls_;
};

// "refused to connect to 127.0.0.1: loopback address (not in
// allowed_cidrs)" for an address the policy refuses as `why`.
std::string RefusedConnectMessage(const sockaddr* address, std::string_view why);

// The curl CONNECT_TO entry that sends a proxied request's tunnel to
// pending.connect_ip: "host:port:ip:port" (IPv6 in brackets).
std::string ConnectToEntry(const Pending& pending);

// What a transfer that timed out had reached, from curl's timings.
struct TimeoutFacts {
  bool connected = false;   // the TCP connection was made
  bool https = false;
  bool tls_done = false;    // the TLS handshake completed
  bool first_byte = false;  // the response began
};
// The attempt message for a timed-out transfer, naming the phase it was
// waiting for: "the receiver accepted the TCP connection but did not
// complete the TLS handshake (timed out after 5000 ms)". curl's own text
// can name the wrong phase ("Failed to resolve host '127.0.0.1' with
// timeout after 0 ms" for a receiver that never completes TLS).
std::string TimeoutMessage(const TimeoutFacts& facts, absl::Duration elapsed);

// How a proxied transfer failed, from curl.
struct ProxyFailureFacts {
  long connect_code = 0;  // the proxy's answer to CONNECT; 0: none
  bool timed_out = false;
  bool unreachable = false;  // not resolved or reached, or bad certificate
};
// Names the proxy (`proxy`, without credentials) in result->error for
// failures that are its own: it cannot be resolved or reached, its
// certificate does not verify, it answered CONNECT with something other
// than 2xx, or no tunnel came before the timeout. Others are left alone.
void ExplainProxyFailure(const ProxyFailureFacts& facts,
                         std::string_view proxy, core::HttpResult* result);

// An egress proxy, parsed from "scheme://[user:password@]host:port".
struct ProxyEndpoint {
  std::string url;  // scheme://host:port: no credentials (safe to show)
  std::string user;      // percent-decoded; empty: no authentication
  std::string password;  // percent-decoded
};

// INVALID_ARGUMENT "<field>: ..." unless `url` is http:// or https:// with a
// host and an explicit port, optionally credentials before the host
// (user:password@, percent-encoded, the user not empty), and nothing else
// but an optional "/". Messages never repeat the password.
absl::StatusOr<ProxyEndpoint> ParseProxyUrl(std::string_view field,
                                            std::string_view url);
inline absl::Status CheckProxyUrl(std::string_view field,
                                  std::string_view url) {
  return ParseProxyUrl(field, url).status();
}

// A TLS alert about client certificates (TLS 1.3 sends it after curl's
// handshake, so curl reports a read error) made a kTlsError with a plain
// reason: "the receiver requires a TLS client certificate and none is
// configured (...)" or, when one was `presented`, "the receiver refused the
// TLS client certificate (...)". Other results are left as they are.
void ExplainClientCertificateFailure(bool presented, core::HttpResult* result);

// The header lines for curl, so that exactly `headers` are sent (besides
// Host and Content-Length): "Name: value", "Name;" for an empty value, and
// "Expect:", "Accept:" and "Content-Type:" (which remove curl's defaults)
// unless the request sets them.
std::vector<std::string> CurlHeaderLines(const core::HttpHeaders& headers);
// The same lines appended to `text`, each ending in a NUL: one buffer, not
// a string per line.
void AppendCurlHeaderText(const core::HttpHeaders& headers, std::string* text);

// The SSRF guard's record for one transfer: each address curl is about to
// connect to is checked with the policy, and refusals are remembered so a
// transfer that failed because every address was refused can say why.
class ConnectGuard {
 public:
  explicit ConnectGuard(const AddressPolicy* policy) : policy_(policy) {}

  // True when a connection to `address` may be opened.
  bool Allow(const sockaddr* address);
  // Forgets the refusals and allowances (for another transfer).
  void Clear() {
    refusal_.clear();
    allowed_any_ = false;
  }
  // At least one address was refused and none was allowed.
  bool refused_all() const { return !refusal_.empty() && !allowed_any_; }
  // The last refusal: "refused to connect to 127.0.0.1: loopback address
  // (not in allowed_cidrs)"; empty when there was none.
  const std::string& refusal() const { return refusal_; }

 private:
  const AddressPolicy* policy_;
  std::string refusal_;
  bool allowed_any_ = false;
};

// Collects one response from curl's header and body callbacks. A status line
// ("HTTP/1.1 200 OK", "HTTP/2 204") starts a new response, so interim 1xx
// responses are dropped. Header lines are kept, in order, while their total
// size (with CRLF) stays within `max_headers` bytes; later ones are dropped.
// Lines after the final header block (trailers) are ignored. The reason and
// headers are made valid UTF-8 (core::ToValidUtf8): receivers send Latin-1,
// and attempt records and the API hold them in proto3 strings.
class ResponseCollector {
 public:
  ResponseCollector(size_t max_body, size_t max_headers);

  // One header line as curl passes it, with its CRLF.
  void OnHeaderLine(std::string_view line);
  // A chunk of the body. Keeps what fits under the cap; returns false when
  // the chunk went beyond it (the body is then truncated and the transfer
  // should stop), true otherwise.
  bool OnBody(std::string_view chunk);

  int status_code() const { return status_code_; }
  bool body_truncated() const { return body_truncated_; }
  bool headers_truncated() const { return headers_truncated_; }

  // Moves the status code, reason, headers, body and truncation flag into
  // `result`.
  void MoveInto(core::HttpResult* result);
  // As constructed, with the same caps (for another transfer).
  void Clear();

 private:
  void ClearHead();  // the status line's and headers' state

  size_t max_body_;
  size_t max_headers_;
  int status_code_ = 0;
  std::string reason_;
  core::HttpHeaders headers_;
  size_t header_bytes_ = 0;
  bool headers_truncated_ = false;
  bool headers_done_ = false;  // the blank line ending a block was seen
  std::string body_;
  bool body_truncated_ = false;
};

// What one transfer keeps besides curl's handles: the request, its header
// lines, the SSRF guard's record and the response. The sender reuses them:
// Reset makes a finished one new for another request, keeping the buffers'
// storage.
struct TransferState {
  TransferState(size_t max_response_body, size_t max_response_headers,
                const AddressPolicy* policy)
      : guard(policy), response(max_response_body, max_response_headers) {}

  // For `next`, started now.
  void Reset(Pending next);
  // Lets the request's storage go (it may be large) while the state waits
  // to be reused.
  void Empty() { pending = Pending{}; }

  Pending pending;
  // Through the egress proxy: curl connects only to it (trusted), and the
  // receiver's address was checked by the DestinationResolver.
  bool proxied = false;
  // The header lines, each NUL-terminated (AppendCurlHeaderText).
  std::string header_text;
  ConnectGuard guard;
  ResponseCollector response;
  absl::Time start = absl::Now();
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_TRANSFER_H_
