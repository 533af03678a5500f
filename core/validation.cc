#include "core/validation.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"

namespace webhooks::core {
namespace {

// Longest dialect name (fixed by the API, not configurable).
constexpr size_t kMaxDialectNameLength = 64;
// Longest resource id: our ids are ~30 bytes; static ids are operator-chosen.
constexpr size_t kMaxResourceIdLength = 128;

bool IsLowerTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// Printable ASCII shown quoted, anything else as a hex escape.
std::string DescribeChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return StrCat("'", std::string(1, c), "'");
  return absl::StrFormat("byte 0x%02X", u);
}

// `[a-z0-9_.-]+` of at most `max` bytes.
absl::Status ValidateLowerToken(std::string_view field, std::string_view value,
                                size_t max) {
  if (value.empty()) return error::RequiredField(field);
  if (value.size() > max) return error::FieldTooLong(field, max);
  for (char c : value) {
    if (IsLowerTokenChar(c)) continue;
    if (c >= 'A' && c <= 'Z') {
      return error::InvalidField(
          field, StrCat("\"", value,
                              "\" has uppercase letters; names are "
                              "lowercase [a-z0-9_.-]"));
    }
    return error::InvalidField(
        field, StrCat("\"", value, "\" contains ",
                            DescribeChar(c), "; allowed are a-z 0-9 _ . -"));
  }
  return absl::OkStatus();
}

// Length of the UTF-8 sequence starting at s[i], or 0 when malformed
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return len;
}

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status ValidateTypeToken(std::string_view field, std::string_view value,
                               bool allow_wildcard, const Limits& limits) {
  if (value == "*") {
    if (allow_wildcard) return absl::OkStatus();
    return error::InvalidField(field, "the wildcard \"*\" is not allowed here");
  }
  return ValidateLowerToken(field, value,
                            static_cast<size_t>(limits.max_type_length));
}

absl::Status ValidatePrincipalId(std::string_view field,
                                 std::string_view value, const Limits& limits) {
  if (value.empty()) return error::RequiredField(field);
  const auto max = static_cast<size_t>(limits.max_principal_length);
  if (value.size() > max) return error::FieldTooLong(field, max);
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    const auto u = static_cast<unsigned char>(c);
    if (u == ' ' || u == '\t' || u == '\n' || u == '\r' || u == '\v' ||
        u == '\f') {
      return error::InvalidField(
          field, StrCat("contains whitespace (", DescribeChar(c),
                              " at offset ", i, ")"));
    }
    if (u < 0x20 || u == 0x7f) {
      return error::InvalidField(
          field, StrCat("contains a control character (",
                              DescribeChar(c), " at offset ", i, ")"));
    }
    if (u < 0x80) {
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(value, i);
    if (len == 0) {
      return error::InvalidField(
          field, StrCat("is not valid UTF-8 (at offset ", i, ")"));
    }
    i += len;
  }
  return absl::OkStatus();
}

absl::Status ValidatePermission(std::string_view field, std::string_view value,
                                const Limits& limits) {
  if (value == "*") {
    return error::InvalidField(
        field, "must name one permission; the wildcard \"*\" is not allowed");
  }
  return ValidateLowerToken(field, value,
                            static_cast<size_t>(limits.max_permission_length));
}

absl::Status ValidateDialectName(std::string_view field,
                                 std::string_view value) {
  return ValidateLowerToken(field, value, kMaxDialectNameLength);
}

absl::Status ValidateHeader(std::string_view field, std::string_view name,
                            std::string_view value, const Limits& limits) {
  if (name.empty()) return error::InvalidField(field, "header name is empty");
  const auto max_name = static_cast<size_t>(limits.max_header_name_length);
  if (name.size() > max_name) {
    return error::InvalidField(
        field, StrCat("header name is longer than ", max_name, " bytes"));
  }
  for (char c : name) {
    if (!IsTokenChar(c)) {
      return error::InvalidField(
          field, StrCat("header name \"", name, "\" contains ",
                              DescribeChar(c),
                              "; names are RFC 9110 tokens"));
    }
  }
  const auto max_value = static_cast<size_t>(limits.max_header_value_length);
  if (value.size() > max_value) {
    return error::InvalidField(
        field, StrCat("value of header \"", name,
                            "\" is longer than ", max_value, " bytes"));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const auto u = static_cast<unsigned char>(value[i]);
    if (u == ' ' || u == '\t' || (u > 0x20 && u < 0x7f)) continue;
    const char* problem = "a control character";
    if (u == '\r' || u == '\n') problem = "a line break (CR or LF)";
    if (u >= 0x80) problem = "a non-ASCII byte";
    return error::InvalidField(
        field, StrCat("value of header \"", name, "\" contains ",
                            problem, " (", DescribeChar(value[i]),
                            " at offset ", i, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateResourceId(std::string_view field, std::string_view id) {
  if (id.empty()) return error::RequiredField(field);
  if (id.size() > kMaxResourceIdLength) {
    return error::FieldTooLong(field, kMaxResourceIdLength);
  }
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == ':' || c == '-';
    if (!ok) {
      return error::InvalidField(
          field, StrCat("not a valid id: contains ", DescribeChar(c),
                              "; allowed are A-Z a-z 0-9 _ . : -"));
    }
  }
  return absl::OkStatus();
}

// The limit applies to the list as given (before duplicates are dropped), so
// an oversized request is refused before any per-item work.
absl::StatusOr<std::vector<std::string>> NormalizeGroups(
    std::string_view field, const std::vector<std::string>& groups,
    const Limits& limits) {
  const auto max = static_cast<size_t>(limits.max_groups);
  if (groups.size() > max) {
    return error::LimitExceeded(field, max, "groups");
  }
  std::vector<std::string> out;
  out.reserve(groups.size());
  absl::flat_hash_set<std::string_view> seen;
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string item = StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(ValidatePrincipalId(item, groups[i], limits));
    if (seen.insert(groups[i]).second) out.push_back(groups[i]);
  }
  return out;
}

absl::StatusOr<int> NormalizePageSize(std::string_view field, int page_size,
                                      const Limits& limits) {
  if (page_size < 0) {
    return error::InvalidField(field, "must not be negative");
  }
  if (page_size == 0) return limits.default_page_size;
  if (page_size > limits.max_page_size) return limits.max_page_size;
  return page_size;
}

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      out.push_back(text[i++]);
      continue;
    }
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace webhooks::core
