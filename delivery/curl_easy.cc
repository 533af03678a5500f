#include "delivery/curl_easy.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings.h"

namespace webhooks::delivery {
namespace {

using core::HttpResult;
using Outcome = core::HttpResult::Outcome;

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  // Returning less than given (only once the cap is passed) makes curl stop
  // with CURLE_WRITE_ERROR; the result then still counts as a response.
  return transfer->response.OnBody({data, size * count}) ? size * count : 0;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->response.OnHeaderLine({data, size * count});
  return size * count;
}

// The SSRF guard: every socket curl opens for a transfer comes through here
// with the address it is about to connect to.
curl_socket_t OpenSocket(void* user, curlsocktype purpose,
                         curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN ||
      (!transfer->proxied && !transfer->guard.Allow(&address->addr))) {
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC,
                address->protocol);
}

// CURLE_SSL_* and certificate verification failures.
constexpr CURLcode kTlsErrors[] = {
    CURLE_SSL_CONNECT_ERROR,     CURLE_SSL_ENGINE_NOTFOUND,
    CURLE_SSL_ENGINE_SETFAILED,  CURLE_SSL_CERTPROBLEM,
    CURLE_SSL_CIPHER,            CURLE_PEER_FAILED_VERIFICATION,
    CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CACERT_BADFILE,
    CURLE_SSL_SHUTDOWN_FAILED,   CURLE_SSL_CRL_BADFILE,
    CURLE_SSL_ISSUER_ERROR,      CURLE_SSL_PINNEDPUBKEYNOTMATCH,
    CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT,
    CURLE_USE_SSL_FAILED};

Outcome OutcomeOf(CURLcode code) {
  if (code == CURLE_OPERATION_TIMEDOUT) return Outcome::kTimeout;
  if (std::find(std::begin(kTlsErrors), std::end(kTlsErrors), code) !=
      std::end(kTlsErrors)) {
    return Outcome::kTlsError;
  }
  if (code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT) {
    return Outcome::kRejected;  // CheckRequest should have caught these
  }
  return Outcome::kConnectError;  // resolve, connect, send, receive, ...
}

// Sets options in order, keeping the first failure.
class EasySetter {
 public:
  explicit EasySetter(CURL* easy) : easy_(easy) {}
  template <typename T>
  EasySetter& Set(CURLoption option, T value) {
    if (code_ == CURLE_OK) code_ = curl_easy_setopt(easy_, option, value);
    return *this;
  }
  CURLcode code() const { return code_; }

 private:
  CURL* easy_;
  CURLcode code_ = CURLE_OK;
};

// What a timed-out transfer was waiting for (see TimeoutMessage).
std::string TimeoutMessageOf(CURL* easy, absl::Duration elapsed) {
  curl_off_t connected_us = 0, tls_us = 0, first_byte_us = 0;
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected_us);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
  char* scheme = nullptr;
  curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme);
  // curl 7.88 times the connect only once TLS is up too; a local port
  // means the TCP connection was made.
  long local_port = 0;
  curl_easy_getinfo(easy, CURLINFO_LOCAL_PORT, &local_port);
  return TimeoutMessage(
      {.connected = connected_us != 0 || local_port != 0,
       .https = scheme != nullptr && absl::EqualsIgnoreCase(scheme, "https"),
       .tls_done = tls_us != 0,
       .first_byte = first_byte_us != 0},
      elapsed);
}

// Names the proxy in failures that are its own (see ExplainProxyFailure).
void ExplainProxyFailureOf(CURL* easy, CURLcode code, const std::string& proxy,
                           HttpResult* result) {
  long connect_code = 0, verify = 0;
  curl_easy_getinfo(easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
  const bool bad_certificate =  // an https:// proxy's
      curl_easy_getinfo(easy, CURLINFO_PROXY_SSL_VERIFYRESULT, &verify) ==
          CURLE_OK &&
      verify != 0;
  ExplainProxyFailure(
      {.connect_code = connect_code,
       .timed_out = code == CURLE_OPERATION_TIMEDOUT,
       .unreachable = code == CURLE_COULDNT_RESOLVE_PROXY ||
                      code == CURLE_COULDNT_CONNECT || bad_certificate},
      proxy, result);
}

}  // namespace

std::shared_ptr<CURLU> UrlCache::Get(const std::string& url) {
  auto it = urls_.find(url);
  if (it != urls_.end()) return it->second;
  std::shared_ptr<CURLU> parsed(curl_url(), &curl_url_cleanup);
  if (parsed == nullptr ||
      curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) !=
          CURLUE_OK) {
    return nullptr;
  }
  if (urls_.size() >= capacity_) urls_.clear();
  urls_.emplace(url, parsed);
  return parsed;
}

CURLcode ConfigureHandle(CURL* easy, const CurlSenderOptions& options) {
  EasySetter set(easy);
  set.Set(CURLOPT_NOSIGNAL, 1L)
      .Set(CURLOPT_FOLLOWLOCATION, 0L)
      .Set(CURLOPT_PROTOCOLS_STR, options.allow_http ? "http,https" : "https")
      .Set(CURLOPT_SSL_VERIFYPEER, 1L)
      .Set(CURLOPT_SSL_VERIFYHOST, 2L)  // 2 is "verify"; 1 means the same
      .Set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS))
      .Set(CURLOPT_WRITEFUNCTION, &OnBody)
      .Set(CURLOPT_HEADERFUNCTION, &OnHeader)
      .Set(CURLOPT_OPENSOCKETFUNCTION, &OpenSocket)
      // The same for every transfer: Basic with a proxy's CONNECT, PEM
      // client certificates.
      .Set(CURLOPT_PROXYAUTH, static_cast<long>(CURLAUTH_BASIC))
      .Set(CURLOPT_SSLCERTTYPE, "PEM")
      .Set(CURLOPT_SSLKEYTYPE, "PEM");
  if (!options.ca_bundle.empty()) {
    set.Set(CURLOPT_CAINFO, options.ca_bundle.c_str())
        .Set(CURLOPT_PROXY_CAINFO, options.ca_bundle.c_str());  // https://
  }
  return set.code();
}

CURLcode ConfigureTransfer(Transfer* t, const CurlSenderOptions& options,
                           const ProxyEndpoint& proxy, UrlCache& urls) {
  AppendCurlHeaderText(t->pending.request.headers, &t->header_text);  // empty: Reset
  t->headers.clear();
  // Checked: no NUL inside a line, so each NUL ends one.
  char* const end = t->header_text.data() + t->header_text.size();
  for (char* line = t->header_text.data(); line < end;
       line = static_cast<char*>(memchr(line, '\0', end - line)) + 1) {
    t->headers.push_back(curl_slist{line, nullptr});
  }
  for (size_t i = 1; i < t->headers.size(); ++i) {
    t->headers[i - 1].next = &t->headers[i];
  }
  const core::HttpRequest& request = t->pending.request;
  if (t->proxied) {
    t->connect_to = curl_slist_append(nullptr,
                                      ConnectToEntry(t->pending).c_str());
    if (t->connect_to == nullptr) return CURLE_OUT_OF_MEMORY;
  }
  // curl copies blobs (CURL_BLOB_COPY) while setting them.
  curl_blob cert{const_cast<char*>(request.client_certificate_pem.data()),
                 request.client_certificate_pem.size(), CURL_BLOB_COPY};
  curl_blob key{const_cast<char*>(request.client_key_pem.data()),
                request.client_key_pem.size(), CURL_BLOB_COPY};
  const bool has_cert = !request.client_certificate_pem.empty();
  const bool authenticate = t->proxied && !proxy.user.empty();
  // Every option a transfer sets differently, all of them each time: the
  // handle keeps the previous transfer's values.
  EasySetter set(t->easy);
  t->url = urls.Get(t->pending.checked->url);
  if (t->url == nullptr) return CURLE_URL_MALFORMAT;
  set.Set(CURLOPT_CURLU, t->url.get())
      .Set(CURLOPT_ERRORBUFFER, t->error)
      // Over TLS, wait for ALPN to tell whether an existing connection can
      // multiplex (HTTP/2) rather than open more. Not over plain http, where
      // curl learns "HTTP/1.1, no multiplexing" only from the first response
      // and would hold the other transfers back until then.
      .Set(CURLOPT_PIPEWAIT,
           absl::StartsWith(t->pending.checked->url, "https:") ? 1L : 0L)
      .Set(CURLOPT_HTTPHEADER, t->headers.empty() ? nullptr : &t->headers[0])
      .Set(CURLOPT_WRITEDATA, static_cast<void*>(t))
      .Set(CURLOPT_HEADERDATA, static_cast<void*>(t))
      .Set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(t))
      .Set(CURLOPT_POSTFIELDSIZE_LARGE,
           static_cast<curl_off_t>(request.body.size()))
      .Set(CURLOPT_POSTFIELDS, request.body.data())
      .Set(CURLOPT_CUSTOMREQUEST,
           request.method == "POST" ? nullptr : request.method.c_str())
      // "" ignores the *_proxy environment variables.
      .Set(CURLOPT_PROXY, t->proxied ? proxy.url.c_str() : "")
      // Basic, sent with the CONNECT (an https:// proxy keeps it private).
      .Set(CURLOPT_PROXYUSERNAME, authenticate ? proxy.user.c_str() : nullptr)
      .Set(CURLOPT_PROXYPASSWORD,
           authenticate ? proxy.password.c_str() : nullptr)
      .Set(CURLOPT_HTTPPROXYTUNNEL, t->proxied ? 1L : 0L)
      .Set(CURLOPT_CONNECT_TO, t->connect_to)
      .Set(CURLOPT_SSLCERT_BLOB, has_cert ? &cert : nullptr)
      .Set(CURLOPT_SSLKEY_BLOB, has_cert ? &key : nullptr)
      // The request's own timeouts (a subscription's), else the server's.
      .Set(CURLOPT_CONNECTTIMEOUT_MS,
           static_cast<long>(absl::ToInt64Milliseconds(
               request.connect_timeout > absl::ZeroDuration()
                   ? request.connect_timeout
                   : options.connect_timeout)))
      .Set(CURLOPT_TIMEOUT_MS,
           static_cast<long>(absl::ToInt64Milliseconds(
               request.total_timeout > absl::ZeroDuration()
                   ? request.total_timeout
                   : options.total_timeout)));
  return set.code();
}

HttpResult ResultOf(Transfer* t, CURLcode code, const ProxyEndpoint& proxy) {
  HttpResult result;
  curl_off_t total_us = 0;
  if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us) ==
      CURLE_OK) {
    result.elapsed = absl::Microseconds(total_us);
  } else {
    result.elapsed = absl::Now() - t->start;
  }
  if (code == CURLE_OK ||
      (code == CURLE_WRITE_ERROR && t->response.body_truncated())) {
    result.outcome = Outcome::kResponse;
    t->response.MoveInto(&result);
    long status = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) ==
            CURLE_OK &&
        status != 0) {
      result.status_code = static_cast<int>(status);
    }
    return result;
  }
  if (t->guard.refused_all()) {
    result.outcome = Outcome::kRefusedAddress;
    result.error = t->guard.refusal();
    return result;
  }
  result.outcome = OutcomeOf(code);
  result.error = code == CURLE_OPERATION_TIMEDOUT
                     ? TimeoutMessageOf(t->easy, result.elapsed)
                 : t->error[0] != '\0' ? std::string(t->error)
                                       : std::string(curl_easy_strerror(code));
  if (t->proxied) ExplainProxyFailureOf(t->easy, code, proxy.url, &result);
  ExplainClientCertificateFailure(
      !t->pending.request.client_certificate_pem.empty(), &result);
  if (!t->guard.refusal().empty()) {
    result.error += StrCat("; ", t->guard.refusal());
  }
  return result;
}

}  // namespace webhooks::delivery
