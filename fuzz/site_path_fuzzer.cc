// Site paths and the field validators (type tokens, principal ids,
// permissions, dialect names, headers, resource ids) on arbitrary bytes.
// A normalized site is a fixed point of NormalizeSite, within the limits,
// and its ancestors all contain it; validators only ever say
// INVALID_ARGUMENT (RESOURCE_EXHAUSTED for too many groups), and what they accept is within the documented alphabet.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/limits.h"
#include "core/site_path.h"
#include "core/validation.h"
#include "fuzz/fuzz_check.h"

namespace core = webhooks::core;

namespace {

void CheckCode(const absl::Status& status) {
  FUZZ_CHECK(status.ok() ||
             status.code() == absl::StatusCode::kInvalidArgument);
}

void CheckSite(std::string_view path, const core::Limits& limits) {
  absl::StatusOr<std::string> site = core::NormalizeSite("site", path, limits);
  CheckCode(site.status());
  if (!site.ok()) return;
  FUZZ_CHECK(!site->empty() && (*site)[0] == '/');
  FUZZ_CHECK(*site == "/" || site->back() != '/');
  FUZZ_CHECK(site->find("//") == std::string::npos);
  FUZZ_CHECK(site->size() <= static_cast<size_t>(limits.max_site_length));
  absl::StatusOr<std::string> again =
      core::NormalizeSite("site", *site, limits);
  FUZZ_CHECK(again.ok() && *again == *site);
  std::vector<std::string> ancestors = core::SiteAncestors(*site);
  FUZZ_CHECK(!ancestors.empty() && ancestors.front() == *site &&
             ancestors.back() == "/");
  for (const std::string& ancestor : ancestors) {
    FUZZ_CHECK(core::SiteIsWithin(*site, ancestor));
  }
}

void CheckTypeToken(std::string_view value, const core::Limits& limits) {
  for (bool wildcard : {false, true}) {
    absl::Status status =
        core::ValidateTypeToken("type", value, wildcard, limits);
    CheckCode(status);
    if (!status.ok()) continue;
    FUZZ_CHECK(!value.empty());
    if (value == "*") {
      FUZZ_CHECK(wildcard);
      continue;
    }
    for (char c : value) {
      FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-');
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  core::Limits limits;
  CheckSite(input, limits);
  core::Limits small;  // limits hit by short inputs
  small.max_site_length = 16;
  small.max_site_depth = 3;
  small.max_type_length = 8;
  small.max_principal_length = 8;
  CheckSite(input, small);
  CheckTypeToken(input, limits);
  CheckTypeToken(input, small);

  CheckCode(core::ValidatePrincipalId("principal", input, limits));
  CheckCode(core::ValidatePermission("permission", input, limits));
  CheckCode(core::ValidateDialectName("dialect", input));
  CheckCode(core::ValidateResourceId("id", input));
  // A header line: name and value split at the first ':'.
  const size_t colon = input.find(':');
  if (colon != std::string_view::npos) {
    CheckCode(core::ValidateHeader("header", input.substr(0, colon),
                                   input.substr(colon + 1), limits));
  }
  // Groups: NUL-separated principal ids.
  std::vector<std::string> groups;
  size_t start = 0;
  while (start <= input.size() && groups.size() < 300) {
    size_t end = input.find('\0', start);
    if (end == std::string_view::npos) end = input.size();
    groups.emplace_back(input.substr(start, end - start));
    start = end + 1;
  }
  absl::StatusOr<std::vector<std::string>> normalized =
      core::NormalizeGroups("groups", groups, small);
  // Too many groups is a count over a limit: RESOURCE_EXHAUSTED (README).
  FUZZ_CHECK(normalized.status().code() != absl::StatusCode::kResourceExhausted ||
             groups.size() > static_cast<size_t>(small.max_groups));
  if (normalized.status().code() != absl::StatusCode::kResourceExhausted) {
    CheckCode(normalized.status());
  }
  if (normalized.ok()) {
    FUZZ_CHECK(normalized->size() <= static_cast<size_t>(small.max_groups));
  }
  return 0;
}
