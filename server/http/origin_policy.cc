#include "server/http/origin_policy.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "core/errors.h"
#include "server/http/connect_error.h"

namespace webhooks::server {
namespace {

// Request headers a Connect (or gRPC-Web) client sends.
constexpr char kAllowedHeaders[] =
    "authorization, content-type, connect-protocol-version, "
    "connect-timeout-ms, connect-accept-encoding, connect-content-encoding, "
    "accept-encoding, x-user-agent, x-grpc-web, grpc-timeout";
constexpr char kAllowedMethods[] = "POST, GET";
constexpr char kPreflightMaxAgeSeconds[] = "7200";

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.' || c == '_' || c == '[' || c == ']' || c == ':';
}

HttpResponse Refusal(std::string message) {
  return HttpResponse::Json(
      403, ConnectErrorJson(ConnectError(grpc::StatusCode::PERMISSION_DENIED,
                                         std::move(message))));
}

}  // namespace

absl::StatusOr<std::string> CanonicalOrigin(std::string_view field,
                                            std::string_view origin) {
  const std::string lower = absl::AsciiStrToLower(std::string(origin));
  std::string_view rest = lower;
  std::string_view scheme;
  if (rest.starts_with("https://")) {
    scheme = "https";
  } else if (rest.starts_with("http://")) {
    scheme = "http";
  } else {
    return core::error::InvalidField(
        field, StrCat("\"", origin,
                            "\" is not an origin: it must start with "
                            "http:// or https://"));
  }
  rest.remove_prefix(scheme.size() + 3);
  if (rest.empty() ||
      !std::all_of(rest.begin(), rest.end(), IsHostChar)) {
    return core::error::InvalidField(
        field, StrCat("\"", origin,
                            "\" is not an origin: scheme://host[:port] with "
                            "no path, query or trailing slash"));
  }
  std::string_view host = rest;
  std::string_view port;
  if (const size_t colon = rest.rfind(':');
      colon != std::string_view::npos && rest.find(']', colon) ==
                                             std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return core::error::InvalidField(
          field, StrCat("\"", origin, "\" has no valid port after ':'"));
    }
  }
  if (host.empty()) {
    return core::error::InvalidField(
        field, StrCat("\"", origin, "\" has no host"));
  }
  if ((scheme == "https" && port == "443") ||
      (scheme == "http" && port == "80")) {
    port = "";
  }
  return StrCat(scheme, "://", host, port.empty() ? "" : ":", port);
}

absl::StatusOr<OriginPolicy> OriginPolicy::Create(
    const std::vector<std::string>& allowed) {
  std::vector<std::string> canonical;
  for (size_t i = 0; i < allowed.size(); ++i) {
    absl::StatusOr<std::string> origin = CanonicalOrigin(
        StrCat("http.allowed_origins[", i, "]"), allowed[i]);
    if (!origin.ok()) return origin.status();
    canonical.push_back(*std::move(origin));
  }
  return OriginPolicy(std::move(canonical));
}

OriginPolicy::Verdict OriginPolicy::Judge(const HttpRequest& request) const {
  const std::string_view origin = request.Header("origin");
  if (origin.empty()) return Verdict::kNotCrossOrigin;
  if (request.Header("sec-fetch-site") == "same-origin") {
    return Verdict::kNotCrossOrigin;
  }
  absl::StatusOr<std::string> canonical = CanonicalOrigin("Origin", origin);
  if (!canonical.ok()) return Verdict::kRefused;  // "null", junk
  // Same origin: the page was served by this host[:port] (the Host header
  // as the browser sent it, the scheme's default port left out).
  std::string_view authority = *canonical;
  authority.remove_prefix(authority.find("://") + 3);
  const std::string host =
      absl::AsciiStrToLower(std::string(request.Header("host")));
  std::string_view host_view = host;
  const std::string_view default_port =
      canonical->starts_with("https://") ? ":443" : ":80";
  if (host_view.ends_with(default_port)) {
    host_view.remove_suffix(default_port.size());
  }
  if (!host_view.empty() && authority == host_view) {
    return Verdict::kNotCrossOrigin;
  }
  return std::find(allowed_.begin(), allowed_.end(), *canonical) !=
                 allowed_.end()
             ? Verdict::kAllowed
             : Verdict::kRefused;
}

std::optional<HttpResponse> OriginPolicy::Screen(
    const HttpRequest& request) const {
  const bool preflight = request.method == "OPTIONS" &&
                         !request.Header("access-control-request-method").empty();
  const Verdict verdict = Judge(request);
  if (verdict == Verdict::kRefused) {
    return Refusal(StrCat(
        preflight ? "preflight refused: " : "", "origin \"",
        request.Header("origin"),
        "\" may not call this API from a browser: it is not this server's "
        "origin (host \"", request.Header("host"),
        "\") and not in http.allowed_origins (--http_allowed_origins)"));
  }
  if (!preflight) return std::nullopt;
  if (request.Header("origin").empty()) {
    return Refusal(
        "preflight refused: an OPTIONS request with "
        "Access-Control-Request-Method must carry Origin");
  }
  const std::string method =
      std::string(request.Header("access-control-request-method"));
  if (method != "POST" && method != "GET") {
    return Refusal(StrCat("preflight refused: method \"", method,
                                "\" is not allowed (", kAllowedMethods,
                                ")"));
  }
  HttpResponse response;
  response.status = 204;
  Decorate(request, response);
  response.headers.emplace_back("Access-Control-Allow-Methods",
                                kAllowedMethods);
  response.headers.emplace_back("Access-Control-Allow-Headers",
                                kAllowedHeaders);
  response.headers.emplace_back("Access-Control-Max-Age",
                                kPreflightMaxAgeSeconds);
  return response;
}

void OriginPolicy::Decorate(const HttpRequest& request,
                            HttpResponse& response) const {
  const std::string_view origin = request.Header("origin");
  if (origin.empty()) return;
  response.headers.emplace_back("Vary", "Origin");
  if (Judge(request) != Verdict::kAllowed) return;
  response.headers.emplace_back("Access-Control-Allow-Origin",
                                std::string(origin));
}

}  // namespace webhooks::server
