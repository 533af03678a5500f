// Target URLs as a subscriber sends them. A URL that parses normalizes to
// one spelling: parsing the normalized form gives it back unchanged, every
// part is what the contract promises, and refusals are INVALID_ARGUMENT.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "core/target_url.h"
#include "fuzz/fuzz_check.h"

using webhooks::core::ParseTargetUrl;
using webhooks::core::TargetUrl;
using webhooks::core::TargetUrlOptions;

namespace {

bool HasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

void Check(std::string_view url, const TargetUrlOptions& options) {
  absl::StatusOr<TargetUrl> parsed = ParseTargetUrl("url", url, options);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(parsed->scheme == "https" ||
             (options.allow_http && parsed->scheme == "http"));
  FUZZ_CHECK(!parsed->host.empty() && !HasUpper(parsed->host));
  FUZZ_CHECK(parsed->port != 0);
  FUZZ_CHECK(!parsed->path_and_query.empty() &&
             parsed->path_and_query[0] == '/');
  FUZZ_CHECK(parsed->path_and_query.find('#') == std::string_view::npos);
  for (char c : parsed->normalized) {
    FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 &&
               static_cast<unsigned char>(c) < 0x7f);
  }
  absl::StatusOr<TargetUrl> again =
      ParseTargetUrl("url", parsed->normalized, options);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->normalized == parsed->normalized);
  FUZZ_CHECK(again->host == parsed->host && again->port == parsed->port &&
             again->path_and_query == parsed->path_and_query &&
             again->host_is_ipv6 == parsed->host_is_ipv6);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  Check(url, TargetUrlOptions{});
  Check(url, TargetUrlOptions{.allow_http = true});
  return 0;
}
