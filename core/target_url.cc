#include "core/target_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/errors.h"

// Decisions beyond RFC 3986, all in the direction of "refuse what is odd":
//  - Registered names are DNS host names: labels of letters, digits and '-'
//    (not at either end of a label), 1..63 bytes, separated by single dots,
//    at most 253 bytes. A trailing dot ("example.com.") is refused, so every
//    host has exactly one spelling. Percent-escapes in the host are refused.
//  - A host whose last label is all digits must be a dotted-quad IPv4 address
//    with each part 0..255 and no leading zeros, so "127.1", "2130706433"
//    and "0177.0.0.1" (which resolvers may read as loopback) are refused.
//  - IPv6 literals are checked with inet_pton and normalized with inet_ntop;
//    zone identifiers ("%25eth0") and IPvFuture are refused.
//  - The port, when present, is 1..5 digits with a value of 1..65535; an
//    empty port ("host:") is refused.
//  - The path and query are kept byte for byte (no dot-segment removal, no
//    escape normalization) except that an empty path becomes "/".

namespace webhooks::core {
namespace {

constexpr size_t kMaxHostLength = 253;
constexpr size_t kMaxLabelLength = 63;

bool IsAlpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// RFC 3986 unreserved / sub-delims / ":" / "@" (pchar without pct-encoded).
bool IsPcharLiteral(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                      // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')':  // sub-delims
    case '*': case '+': case ',': case ';': case '=':
    case ':': case '@':
      return true;
    default:
      return false;
  }
}

std::string DescribeChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return StrCat("'", std::string(1, c), "'");
  return absl::StrFormat("byte 0x%02X", u);
}

// Rejects bytes that may not appear anywhere in a URL we accept.
absl::Status CheckBytes(std::string_view field, std::string_view url) {
  for (size_t i = 0; i < url.size(); ++i) {
    const auto u = static_cast<unsigned char>(url[i]);
    if (u == ' ' || u == '\t' || u == '\n' || u == '\r' || u == '\v' ||
        u == '\f') {
      return error::InvalidField(
          field, StrCat("must not contain whitespace (",
                              DescribeChar(url[i]), " at offset ", i,
                              "); percent-encode it"));
    }
    if (u < 0x20 || u == 0x7f) {
      return error::InvalidField(
          field, StrCat("must not contain control characters (",
                              DescribeChar(url[i]), " at offset ", i, ")"));
    }
    if (u >= 0x80) {
      return error::InvalidField(
          field, StrCat("must be ASCII (non-ASCII byte at offset ", i,
                              "); percent-encode it"));
    }
    if (u == '\\') {
      return error::InvalidField(
          field, StrCat("must not contain a backslash (at offset ", i,
                              ")"));
    }
  }
  return absl::OkStatus();
}

// Strict dotted-quad; false for anything else.
bool ParseIpv4(std::string_view host) {
  int parts = 0;
  size_t pos = 0;
  while (true) {
    size_t dot = host.find('.', pos);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view part = host.substr(pos, dot - pos);
    if (part.empty() || part.size() > 3) return false;
    if (part.size() > 1 && part[0] == '0') return false;
    int value = 0;
    for (char c : part) {
      if (!IsDigit(c)) return false;
      value = value * 10 + (c - '0');
    }
    if (value > 255) return false;
    ++parts;
    if (dot == host.size()) break;
    pos = dot + 1;
  }
  return parts == 4;
}

// Validates a bracketed IPv6 literal's contents; returns its canonical text.
absl::StatusOr<std::string> ParseIpv6(std::string_view field,
                                      std::string_view literal) {
  if (literal.find('%') != std::string_view::npos) {
    return error::InvalidField(
        field, "IPv6 zone identifiers (\"%25...\") are not allowed");
  }
  if (!literal.empty() && (literal[0] == 'v' || literal[0] == 'V')) {
    return error::InvalidField(field, "IPvFuture addresses are not supported");
  }
  const std::string text(literal);
  in6_addr addr;
  if (literal.empty() || inet_pton(AF_INET6, text.c_str(), &addr) != 1) {
    return error::InvalidField(
        field, StrCat("host \"[", literal,
                            "]\" is not a valid IPv6 address"));
  }
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &addr, buf, sizeof(buf)) == nullptr) {
    return error::InvalidField(
        field, StrCat("host \"[", literal,
                            "]\" is not a valid IPv6 address"));
  }
  return std::string(buf);
}

// Validates a registered name or IPv4 address; returns it lowercased.
absl::StatusOr<std::string> ParseRegName(std::string_view field,
                                         std::string_view host) {
  if (host.empty()) return error::InvalidField(field, "host is empty");
  if (host.find('%') != std::string_view::npos) {
    return error::InvalidField(field,
                               "percent-escapes are not allowed in the host");
  }
  if (host.size() > kMaxHostLength) {
    return error::InvalidField(
        field, StrCat("host is longer than ", kMaxHostLength, " bytes"));
  }
  if (host.back() == '.') {
    return error::InvalidField(
        field, StrCat("host \"", host,
                            "\" must not end with a dot; drop the trailing "
                            "dot"));
  }
  const size_t last_dot = host.rfind('.');
  const std::string_view last_label =
      last_dot == std::string_view::npos ? host : host.substr(last_dot + 1);
  // As URL parsers (WHATWG) see it: a last label of digits, or of "0x" and
  // hex digits (0x7f000001), makes the host an IPv4 address in some spelling.
  bool numeric = !last_label.empty();
  std::string_view digits = last_label;
  const bool hex = digits.size() >= 2 && digits[0] == '0' &&
                   (digits[1] == 'x' || digits[1] == 'X');
  if (hex) digits.remove_prefix(2);
  for (char c : digits) {
    numeric = numeric && (hex ? absl::ascii_isxdigit(static_cast<unsigned char>(c))
                              : IsDigit(c));
  }
  if (numeric) {
    if (!ParseIpv4(host)) {
      return error::InvalidField(
          field, StrCat("host \"", host,
                              "\" is not a valid IPv4 address (expected four "
                              "decimal parts 0-255, no leading zeros, no "
                              "hex)"));
    }
    return std::string(host);
  }
  size_t pos = 0;
  while (pos <= host.size()) {
    size_t dot = host.find('.', pos);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(pos, dot - pos);
    if (label.empty()) {
      return error::InvalidField(
          field,
          StrCat("host \"", host, "\" has an empty label"));
    }
    if (label.size() > kMaxLabelLength) {
      return error::InvalidField(
          field, StrCat("host \"", host,
                              "\" has a label longer than ", kMaxLabelLength,
                              " bytes"));
    }
    for (char c : label) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '-') {
        return error::InvalidField(
            field, StrCat("host \"", host, "\" contains ",
                                DescribeChar(c),
                                "; host names are letters, digits, '-' and "
                                "'.'"));
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return error::InvalidField(
          field, StrCat("host \"", host,
                              "\" has a label that starts or ends with '-'"));
    }
    pos = dot + 1;
  }
  return absl::AsciiStrToLower(AsAbsl(host));
}

// Validates path-abempty / query text. `query` also allows '/' and '?'.
absl::Status CheckPathChars(std::string_view field, std::string_view text,
                            std::string_view part) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsPcharLiteral(c) || c == '/' || (part == "query" && c == '?')) {
      continue;
    }
    if (c == '%') {
      if (i + 2 < text.size() && IsHex(text[i + 1]) && IsHex(text[i + 2])) {
        i += 2;
        continue;
      }
      return error::InvalidField(
          field, StrCat("bad percent-escape in the ", part,
                              " (expected '%' and two hex digits)"));
    }
    return error::InvalidField(
        field, StrCat("the ", part, " contains ", DescribeChar(c),
                            "; percent-encode it"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TargetUrl> ParseTargetUrl(std::string_view field,
                                         std::string_view url,
                                         const TargetUrlOptions& options) {
  if (url.empty()) return error::RequiredField(field);
  if (options.max_length > 0 &&
      url.size() > static_cast<size_t>(options.max_length)) {
    return error::FieldTooLong(field, static_cast<size_t>(options.max_length));
  }
  RETURN_IF_ERROR(CheckBytes(field, url));

  // scheme ":"
  const size_t colon = url.find(':');
  const size_t first_delim = url.find_first_of("/?#");
  if (colon == std::string_view::npos || colon == 0 ||
      (first_delim != std::string_view::npos && first_delim < colon)) {
    return error::InvalidField(
        field, "must be an absolute URL such as https://example.com/hook");
  }
  const std::string_view raw_scheme = url.substr(0, colon);
  bool scheme_ok = IsAlpha(raw_scheme[0]);
  for (char c : raw_scheme) {
    scheme_ok = scheme_ok && (IsAlpha(c) || IsDigit(c) || c == '+' ||
                              c == '-' || c == '.');
  }
  if (!scheme_ok) {
    return error::InvalidField(
        field, "must be an absolute URL such as https://example.com/hook");
  }
  TargetUrl out;
  out.scheme = absl::AsciiStrToLower(AsAbsl(raw_scheme));
  uint16_t default_port;
  if (out.scheme == "https") {
    default_port = 443;
  } else if (out.scheme == "http") {
    if (!options.allow_http) {
      return error::InvalidField(
          field,
          "must use https; http is allowed only when the server runs with the "
          "development flag (allow_http)");
    }
    default_port = 80;
  } else {
    return error::InvalidField(
        field, StrCat("scheme \"", out.scheme,
                            "\" is not supported; use https"));
  }

  // "//" authority
  std::string_view rest = url.substr(colon + 1);
  if (rest.substr(0, 2) != "//") {
    return error::InvalidField(
        field, "must have a host after the scheme (scheme://host/path)");
  }
  rest.remove_prefix(2);
  const size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view()
                                                 : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return error::InvalidField(
        field,
        "must not contain credentials (user:password@); use the "
        "subscription's signing secret or dialect headers instead");
  }

  // host [":" port]
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return error::InvalidField(field, "IPv6 host is missing its ']'");
    }
    ASSIGN_OR_RETURN(out.host,
                     ParseIpv6(field, authority.substr(1, close - 1)));
    out.host_is_ipv6 = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return error::InvalidField(
            field, "unexpected characters after the IPv6 host");
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const size_t port_colon = authority.find(':');
    ASSIGN_OR_RETURN(out.host,
                     ParseRegName(field, authority.substr(0, port_colon)));
    if (port_colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(port_colon + 1);
    }
  }
  out.port = default_port;
  if (has_port) {
    if (port_text.size() > 5) {
      return error::InvalidField(field,
                                 "port is not a number from 1 to 65535");
    }
    uint32_t port = 0;
    for (char c : port_text) {
      if (!IsDigit(c)) {
        return error::InvalidField(
            field, StrCat("port \"", port_text,
                                "\" is not a number from 1 to 65535"));
      }
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) {
      return error::InvalidField(
          field, StrCat("port \"", port_text,
                              "\" is not a number from 1 to 65535"));
    }
    out.port = static_cast<uint16_t>(port);
  }

  // path-abempty ["?" query], no fragment
  if (rest.find('#') != std::string_view::npos) {
    return error::InvalidField(field, "must not have a fragment (\"#...\")");
  }
  const size_t question = rest.find('?');
  const std::string_view path = rest.substr(0, question);
  RETURN_IF_ERROR(CheckPathChars(field, path, "path"));
  if (question != std::string_view::npos) {
    RETURN_IF_ERROR(CheckPathChars(field, rest.substr(question + 1), "query"));
  }
  out.path_and_query =
      path.empty() ? StrCat("/", rest) : std::string(rest);

  out.normalized = StrCat(out.scheme, "://");
  if (out.host_is_ipv6) {
    absl::StrAppend(&out.normalized, "[", out.host, "]");
  } else {
    absl::StrAppend(&out.normalized, out.host);
  }
  if (out.port != default_port) absl::StrAppend(&out.normalized, ":", out.port);
  absl::StrAppend(&out.normalized, out.path_and_query);
  return out;
}

}  // namespace webhooks::core
