#include "core/site_path.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "core/errors.h"

namespace webhooks::core {
namespace {

bool IsSegmentChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' ||
         c == '-';
}

// Describes a byte for an error message: printable ASCII quoted, anything
// else as a hex escape.
std::string DescribeChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return StrCat("'", std::string(1, c), "'");
  return absl::StrFormat("byte 0x%02X", u);
}

}  // namespace

absl::StatusOr<std::string> NormalizeSite(std::string_view field,
                                          std::string_view path,
                                          const Limits& limits) {
  if (path.empty()) return std::string("/");
  if (path.front() != '/') {
    return error::InvalidField(field,
                               "must be an absolute path starting with '/'");
  }
  const auto max_length = static_cast<size_t>(limits.max_site_length);
  std::string out;
  out.reserve(std::min(path.size(), max_length));
  int depth = 0;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view segment = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (segment.empty()) continue;
    // Limits first, so the messages below never quote an oversized segment.
    if (++depth > limits.max_site_depth) {
      return error::InvalidField(
          field, StrCat("deeper than ", limits.max_site_depth,
                              " segments"));
    }
    if (out.size() + 1 + segment.size() > max_length) {
      return error::FieldTooLong(field, max_length);
    }
    if (segment == "." || segment == "..") {
      return error::InvalidField(
          field, StrCat("segment \"", segment,
                              "\" is not allowed (no relative segments)"));
    }
    for (char c : segment) {
      if (!IsSegmentChar(c)) {
        return error::InvalidField(
            field, StrCat("segment \"", segment, "\" contains ",
                                DescribeChar(c),
                                "; allowed are A-Z a-z 0-9 . _ ~ -"));
      }
    }
    out.push_back('/');
    out.append(segment);
  }
  if (out.empty()) return std::string("/");
  return out;
}

std::vector<std::string> SiteAncestors(std::string_view site) {
  std::vector<std::string> out;
  // Drop a trailing slash defensively so "/a/" behaves like "/a".
  while (site.size() > 1 && site.back() == '/') site.remove_suffix(1);
  while (site.size() > 1) {
    out.emplace_back(site);
    const size_t slash = site.rfind('/');
    if (slash == std::string_view::npos || slash == 0) break;
    site = site.substr(0, slash);
  }
  out.emplace_back("/");
  return out;
}

bool SiteIsWithin(std::string_view site, std::string_view ancestor) {
  if (ancestor == "/") return !site.empty() && site.front() == '/';
  if (site.size() < ancestor.size()) return false;
  if (site.substr(0, ancestor.size()) != ancestor) return false;
  return site.size() == ancestor.size() || site[ancestor.size()] == '/';
}

}  // namespace webhooks::core
