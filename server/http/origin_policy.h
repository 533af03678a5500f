// Which browser pages may call the JSON API: cross-site request forgery
// and cross-origin reads are refused unless the page's origin is allowed.
//
// A request is a cross-origin browser call when it carries an `Origin`
// header that is not the server's own origin (its host[:port] is not the
// request's Host, and the browser did not say Sec-Fetch-Site: same-origin).
// Such calls are refused with 403 permission_denied unless the origin is in
// the allow-list (http.allowed_origins); allowed ones get
// Access-Control-Allow-Origin. Preflight requests (OPTIONS with
// Access-Control-Request-Method) are answered 204 only for allowed origins.
// Calls without `Origin` (curl, the SDKs) are not browser calls and pass.
//
//   ASSIGN_OR_RETURN(OriginPolicy policy,
//                    OriginPolicy::Create({"https://ops.example.com"}));
//   if (std::optional<HttpResponse> r = policy.Screen(request)) return *r;
//   HttpResponse response = ...;
//   policy.Decorate(request, response);
#ifndef WEBHOOKS_SERVER_HTTP_ORIGIN_POLICY_H_
#define WEBHOOKS_SERVER_HTTP_ORIGIN_POLICY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/http_server.h"

namespace webhooks::server {

// `origin` in its canonical form (lowercase, without the scheme's default
// port), or INVALID_ARGUMENT naming `field` when it is not
// scheme://host[:port] with scheme http or https and nothing after.
absl::StatusOr<std::string> CanonicalOrigin(std::string_view field,
                                            std::string_view origin);

class OriginPolicy {
 public:
  // `allowed`: origins as in http.allowed_origins; an invalid one is
  // INVALID_ARGUMENT naming http.allowed_origins[i].
  static absl::StatusOr<OriginPolicy> Create(
      const std::vector<std::string>& allowed);

  // The answer to a request that must not reach the API — a refused
  // cross-origin call (403) or a preflight (204 or 403) — or nullopt.
  std::optional<HttpResponse> Screen(const HttpRequest& request) const;

  // Adds the CORS headers an allowed cross-origin call's response needs.
  void Decorate(const HttpRequest& request, HttpResponse& response) const;

 private:
  explicit OriginPolicy(std::vector<std::string> allowed)
      : allowed_(std::move(allowed)) {}

  enum class Verdict { kNotCrossOrigin, kAllowed, kRefused };
  Verdict Judge(const HttpRequest& request) const;

  std::vector<std::string> allowed_;  // canonical
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HTTP_ORIGIN_POLICY_H_
