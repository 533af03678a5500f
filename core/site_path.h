// Site paths: `/`, `/NOAA`, `/NOAA/NWS/OUN`.
//
//   ASSIGN_OR_RETURN(std::string site, NormalizeSite("site", "//NOAA/NWS/", limits));
//   // site == "/NOAA/NWS"
//   SiteAncestors("/NOAA/NWS") == {"/NOAA/NWS", "/NOAA", "/"}
#ifndef WEBHOOKS_CORE_SITE_PATH_H_
#define WEBHOOKS_CORE_SITE_PATH_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/limits.h"

namespace webhooks::core {

// Returns `path` normalized: absolute, segments of [A-Za-z0-9._~-] joined by
// single slashes, no trailing slash ("/" for the root). Repeated and trailing
// slashes are dropped, as the seed does. Empty input means "/".
// INVALID_ARGUMENT naming `field` when the path is relative, has a `.` or
// `..` segment or another character, or exceeds the length or depth limit
// (measured after normalization).
absl::StatusOr<std::string> NormalizeSite(std::string_view field,
                                          std::string_view path,
                                          const Limits& limits);

// The site itself followed by each ancestor up to "/". `site` must be
// normalized.
std::vector<std::string> SiteAncestors(std::string_view site);

// True when `site` is `ancestor` or below it. Both normalized.
bool SiteIsWithin(std::string_view site, std::string_view ancestor);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_SITE_PATH_H_
