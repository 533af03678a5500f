// Target URLs of subscriptions, parsed strictly (RFC 3986 absolute URI with an
// authority) without depending on the delivery layer.
//
//   ASSIGN_OR_RETURN(TargetUrl url,
//                    ParseTargetUrl("subscription.target_url", text, opts));
#ifndef WEBHOOKS_CORE_TARGET_URL_H_
#define WEBHOOKS_CORE_TARGET_URL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace webhooks::core {

struct TargetUrlOptions {
  bool allow_http = false;  // the development flag
  int max_length = 2048;
};

struct TargetUrl {
  std::string scheme;  // "https" or "http", lowercased
  std::string host;    // lowercased; IPv6 without brackets
  bool host_is_ipv6 = false;
  uint16_t port = 0;   // explicit or the scheme's default
  std::string path_and_query;  // "/" when empty; no fragment
  std::string normalized;      // scheme://host[:port]/path?query
};

// INVALID_ARGUMENT naming `field` when the URL is empty, too long, not
// absolute, has a scheme other than https (or http when allowed), has user
// information ("user:password@"), an empty or malformed host, a bad port,
// a fragment, whitespace or control characters, or bad percent-escapes.
absl::StatusOr<TargetUrl> ParseTargetUrl(std::string_view field,
                                         std::string_view url,
                                         const TargetUrlOptions& options);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_TARGET_URL_H_
