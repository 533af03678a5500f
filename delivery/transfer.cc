#include "delivery/transfer.h"

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"
#include "core/target_url.h"
#include "core/validation.h"

namespace webhooks::delivery {
namespace {

// Headers whose values curl derives from the transfer itself.
constexpr std::string_view kControlledHeaders[] = {
    "host", "content-length", "transfer-encoding", "connection",
    "expect", "te", "upgrade"};

// RFC 9110 tchar, by byte.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}();

bool IsTokenChar(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

core::HttpResult RejectedResult(std::string error) {
  core::HttpResult result;
  result.outcome = core::HttpResult::Outcome::kRejected;
  result.error = std::move(error);
  return result;
}

absl::StatusOr<CheckedRequest> CheckUrl(std::string_view url, bool allow_http) {
  core::TargetUrlOptions url_options;
  url_options.allow_http = allow_http;
  url_options.max_length = 0;  // the subscription's limit applied already
  ASSIGN_OR_RETURN(core::TargetUrl parsed,
                   core::ParseTargetUrl("url", url, url_options));
  CheckedRequest checked;
  checked.url = std::move(parsed.normalized);
  checked.host = parsed.host;
  checked.host_is_ipv6 = parsed.host_is_ipv6;
  checked.port = parsed.port;
  checked.destination =
      parsed.host_is_ipv6
          ? StrCat(parsed.scheme, "://[", parsed.host, "]:", parsed.port)
          : StrCat(parsed.scheme, "://", parsed.host, ":", parsed.port);
  return checked;
}

namespace {

// The method and header part of CheckRequest (no allocation unless it
// fails).
absl::Status CheckMethodAndHeaders(const core::HttpRequest& request) {
  if (request.method != "POST" && request.method != "PUT" &&
      request.method != "PATCH") {
    return core::error::InvalidField(
        "method", StrCat("\"", request.method, "\" is not POST, PUT or PATCH"));
  }
  for (size_t i = 0; i < request.headers.size(); ++i) {
    const auto& [name, value] = request.headers[i];
    auto field = [i] { return StrCat("headers[", i, "]"); };
    bool token = !name.empty();
    for (char c : name) token = token && IsTokenChar(c);
    if (!token) {
      return core::error::InvalidField(
          field(), StrCat("\"", name, "\" is not a header name"));
    }
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        return core::error::InvalidField(
            field(), StrCat("value of \"", name, "\" has a control character"));
      }
    }
    for (std::string_view controlled : kControlledHeaders) {
      if (absl::EqualsIgnoreCase(AsAbsl(name), AsAbsl(controlled))) {
        return core::error::InvalidField(
            field(), StrCat("\"", name, "\" is set by the sender itself"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CheckedRequest> CheckRequest(const core::HttpRequest& request,
                                            bool allow_http) {
  ASSIGN_OR_RETURN(CheckedRequest checked, CheckUrl(request.url, allow_http));
  RETURN_IF_ERROR(CheckMethodAndHeaders(request));
  return checked;
}

absl::StatusOr<std::shared_ptr<const CheckedRequest>> RequestChecker::Check(
    const core::HttpRequest& request) {
  auto it = urls_.find(request.url);
  if (it == urls_.end()) {
    // The URL first, as CheckRequest: its error wins.
    ASSIGN_OR_RETURN(CheckedRequest checked, CheckUrl(request.url, allow_http_));
    if (urls_.size() >= capacity_) urls_.clear();
    it = urls_
             .emplace(request.url,
                      std::make_shared<const CheckedRequest>(std::move(checked)))
             .first;
  }
  RETURN_IF_ERROR(CheckMethodAndHeaders(request));
  return it->second;
}

void AppendCurlHeaderText(const core::HttpHeaders& headers, std::string* text) {
  bool expect = false, accept = false, content_type = false;
  for (const auto& [name, value] : headers) {
    // curl drops "Name:" (no value) and sends "Name;" as an empty header.
    text->append(name);
    if (value.empty()) {
      text->push_back(';');
    } else {
      text->append(": ").append(value);
    }
    text->push_back('\0');
    const absl::string_view n = AsAbsl(name);
    expect = expect || absl::EqualsIgnoreCase(n, "Expect");
    accept = accept || absl::EqualsIgnoreCase(n, "Accept");
    content_type = content_type || absl::EqualsIgnoreCase(n, "Content-Type");
  }
  // Each removes a header curl would otherwise add.
  if (!expect) text->append("Expect:").push_back('\0');
  if (!accept) text->append("Accept:").push_back('\0');
  if (!content_type) text->append("Content-Type:").push_back('\0');
}

std::vector<std::string> CurlHeaderLines(const core::HttpHeaders& headers) {
  std::string text;
  AppendCurlHeaderText(headers, &text);
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\0', start);
    lines.emplace_back(text, start, end - start);
    start = end + 1;
  }
  return lines;
}

bool ConnectGuard::Allow(const sockaddr* address) {
  const std::string why = policy_->RefusedClass(address);
  if (why.empty()) {
    allowed_any_ = true;
    return true;
  }
  refusal_ = RefusedConnectMessage(address, why);
  return false;
}

std::string RefusedConnectMessage(const sockaddr* address, std::string_view why) {
  return StrCat("refused to connect to ", AddressPolicy::AddressText(address),
                ": ", why, " (not in allowed_cidrs)");
}

std::string ConnectToEntry(const Pending& pending) {
  const CheckedRequest& c = *pending.checked;
  const bool ip6 = pending.connect_ip.find(':') != std::string::npos;
  return StrCat(c.host_is_ipv6 ? StrCat("[", c.host, "]") : c.host, ":", c.port,
                ":", ip6 ? StrCat("[", pending.connect_ip, "]") : pending.connect_ip,
                ":", c.port);
}

namespace {

// Percent-decodes `in` (RFC 3986); false for a malformed escape or a
// control character, which no proxy credential needs.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size() || !absl::ascii_isxdigit(in[i + 1]) ||
          !absl::ascii_isxdigit(in[i + 2])) {
        return false;
      }
      c = static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)),
                                      nullptr, 16));
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    out->push_back(c);
  }
  return true;
}

}  // namespace

absl::StatusOr<ProxyEndpoint> ParseProxyUrl(std::string_view field,
                                            std::string_view url) {
  ProxyEndpoint proxy;
  // Credentials first, so that no later message repeats them.
  const size_t scheme_end = url.find("://");
  const size_t authority_end =
      scheme_end == std::string_view::npos
          ? std::string_view::npos
          : url.find_first_of("/?#", scheme_end + 3);
  const size_t at = url.substr(0, authority_end).rfind('@');
  std::string without_credentials(url);
  if (scheme_end != std::string_view::npos && at != std::string_view::npos &&
      at > scheme_end) {
    const std::string_view userinfo =
        url.substr(scheme_end + 3, at - scheme_end - 3);
    const size_t colon = userinfo.find(':');
    if (!PercentDecode(userinfo.substr(0, colon), &proxy.user) ||
        (colon != std::string_view::npos &&
         !PercentDecode(userinfo.substr(colon + 1), &proxy.password))) {
      return core::error::InvalidField(
          field, "has malformed credentials (user:password@, percent-encoded)");
    }
    if (proxy.user.empty()) {
      return core::error::InvalidField(
          field, "has credentials without a user name");
    }
    without_credentials = StrCat(url.substr(0, scheme_end + 3), url.substr(at + 1));
  }
  core::TargetUrlOptions options;
  options.allow_http = true;
  options.max_length = 2048;
  ASSIGN_OR_RETURN(core::TargetUrl parsed,
                   core::ParseTargetUrl(field, without_credentials, options));
  if (parsed.path_and_query != "/") {
    return core::error::InvalidField(
        field, "must be scheme://host:port with no path or query");
  }
  // The authority must end in ":<port>": no implied default port.
  const std::string_view rest(without_credentials);
  const size_t authority_start = rest.find("://") + 3;
  std::string_view authority = rest.substr(authority_start);
  authority = authority.substr(0, authority.find('/'));
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == authority.size() ||
      authority.back() == ']') {
    return core::error::InvalidField(field, "must name the port: host:port");
  }
  proxy.url = StrCat(rest.substr(0, authority_start), authority);
  return proxy;
}

std::string TimeoutMessage(const TimeoutFacts& facts, absl::Duration elapsed) {
  const std::string after =
      StrCat(" (timed out after ", absl::ToInt64Milliseconds(elapsed), " ms)");
  if (!facts.connected) {
    return StrCat("no TCP connection to the receiver", after);
  }
  if (facts.https && !facts.tls_done) {
    return StrCat(
        "the receiver accepted the TCP connection but did not complete the "
        "TLS handshake",
        after);
  }
  if (!facts.first_byte) {
    return StrCat("the request was sent but no response came", after);
  }
  return StrCat("the response did not arrive in full", after);
}

void ExplainProxyFailure(const ProxyFailureFacts& facts,
                         std::string_view proxy, core::HttpResult* result) {
  const long code = facts.connect_code;
  if (code != 0 && (code < 200 || code > 299)) {
    result->error = StrCat("egress proxy ", proxy, " answered CONNECT with ",
                           code, " (", result->error, ")");
  } else if (facts.timed_out && code == 0) {
    result->error = StrCat("egress proxy ", proxy,
                           ": no tunnel to the receiver (", result->error, ")");
  } else if (facts.unreachable) {
    result->error = StrCat("egress proxy ", proxy, ": ", result->error);
  }
}

// TLS alerts about client certificates arrive after curl's handshake (TLS
// 1.3), as read errors; they are TLS failures with a plain reason.
void ExplainClientCertificateFailure(bool presented, core::HttpResult* result) {
  if (!absl::StrContains(result->error, "alert certificate required") &&
      !absl::StrContains(result->error, "alert bad certificate") &&
      !absl::StrContains(result->error, "alert unknown ca")) {
    return;
  }
  result->outcome = core::HttpResult::Outcome::kTlsError;
  result->error =
      presented
          ? StrCat("the receiver refused the TLS client certificate (",
                   result->error, ")")
          : StrCat("the receiver requires a TLS client certificate and none "
                   "is configured (",
                   result->error, ")");
}

ResponseCollector::ResponseCollector(size_t max_body, size_t max_headers)
    : max_body_(max_body), max_headers_(max_headers) {}

void ResponseCollector::OnHeaderLine(std::string_view line) {
  if (absl::StartsWith(AsAbsl(line), "HTTP/")) {
    // "HTTP/1.1 200 OK", "HTTP/2 200": a new response starts.
    ClearHead();
    std::string_view rest = line.substr(line.find(' ') == std::string_view::npos
                                            ? line.size()
                                            : line.find(' ') + 1);
    int code = 0;
    size_t digits = 0;
    while (digits < rest.size() && digits < 3 &&
           absl::ascii_isdigit(static_cast<unsigned char>(rest[digits]))) {
      code = code * 10 + (rest[digits] - '0');
      ++digits;
    }
    if (digits == 3) status_code_ = code;
    reason_ = core::ToValidUtf8(TrimWhitespace(rest.substr(digits)));
    return;
  }
  if (headers_done_) return;  // trailers
  const std::string_view content = TrimWhitespace(line);
  if (content.empty()) {
    headers_done_ = true;
    return;
  }
  if (headers_truncated_) return;
  if (header_bytes_ + line.size() > max_headers_) {
    headers_truncated_ = true;
    return;
  }
  header_bytes_ += line.size();
  if ((line[0] == ' ' || line[0] == '\t') && !headers_.empty()) {
    // Obsolete line folding: part of the previous value.
    std::string& value = headers_.back().second;
    value = StrCat(value, " ", core::ToValidUtf8(content));
    return;
  }
  const size_t colon = content.find(':');
  if (colon == std::string_view::npos) return;
  headers_.emplace_back(
      core::ToValidUtf8(TrimWhitespace(content.substr(0, colon))),
      core::ToValidUtf8(TrimWhitespace(content.substr(colon + 1))));
}

bool ResponseCollector::OnBody(std::string_view chunk) {
  const size_t room = max_body_ - body_.size();
  if (chunk.size() <= room) {
    body_.append(chunk.data(), chunk.size());
    return true;
  }
  body_.append(chunk.data(), room);
  body_truncated_ = true;
  return false;
}

void ResponseCollector::ClearHead() {
  status_code_ = 0;
  reason_.clear();
  headers_.clear();
  header_bytes_ = 0;
  headers_truncated_ = false;
  headers_done_ = false;
}

void ResponseCollector::Clear() {
  ClearHead();
  body_.clear();
  body_truncated_ = false;
}

void ResponseCollector::MoveInto(core::HttpResult* result) {
  result->status_code = status_code_;
  result->reason = std::move(reason_);
  result->headers = std::move(headers_);
  result->body = std::move(body_);
  result->body_truncated = body_truncated_;
}

void TransferState::Reset(Pending next) {
  pending = std::move(next);
  proxied = false;
  header_text.clear();
  guard.Clear();
  response.Clear();
  start = absl::Now();
}

}  // namespace webhooks::delivery
