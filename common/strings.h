// Bridges std::string_view, which this project's interfaces use, and
// absl::string_view, which Abseil's string functions take. Debian's Abseil is
// built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so the two are different
// types and do not convert into each other.
//
//   std::string message = StrCat("subscription \"", id, "\" not found");
//   absl::StartsWith(AsAbsl(secret), "whsec_");
#ifndef WEBHOOKS_COMMON_STRINGS_H_
#define WEBHOOKS_COMMON_STRINGS_H_

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace webhooks {

inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view AsStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

namespace strings_internal {
inline absl::string_view CatArg(std::string_view s) { return AsAbsl(s); }
template <typename T>
const T& CatArg(const T& value) {
  return value;
}
}  // namespace strings_internal

// absl::StrCat that also accepts std::string_view arguments.
template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(strings_internal::CatArg(args)...);
}

}  // namespace webhooks

#endif  // WEBHOOKS_COMMON_STRINGS_H_
