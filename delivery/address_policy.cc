#include "delivery/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/strings.h"
#include "core/errors.h"

// Ranges follow the IANA IPv4 and IPv6 special-purpose address registries,
// leaning towards refusal: anything that is not ordinary public unicast is
// refused. IPv4 addresses are kept in the first four bytes of a 16-byte
// array; IPv6 addresses use all sixteen.

namespace webhooks::delivery {
namespace {

struct Ip {
  int family = AF_UNSPEC;
  unsigned char bytes[16] = {};
};

// A special-purpose range: its network, prefix length and what it is.
struct Range {
  unsigned char net[16];
  int prefix_length;
  const char* article;  // "a" or "an", for WhyRefused
  const char* name;
};

// First match wins, so narrower ranges come before the ranges holding them.
constexpr Range kIpv4Ranges[] = {
    {{255, 255, 255, 255}, 32, "a", "broadcast address"},
    {{0, 0, 0, 0}, 32, "an", "unspecified address"},
    {{0, 0, 0, 0}, 8, "a", "reserved address"},  // "this network"
    {{10, 0, 0, 0}, 8, "a", "private address"},
    {{100, 64, 0, 0}, 10, "a", "shared (CGNAT) address"},
    {{127, 0, 0, 0}, 8, "a", "loopback address"},
    {{169, 254, 0, 0}, 16, "a", "link-local address"},
    {{172, 16, 0, 0}, 12, "a", "private address"},
    {{192, 0, 0, 0}, 24, "a", "reserved address"},  // IETF assignments
    {{192, 0, 2, 0}, 24, "a", "documentation address"},
    {{192, 88, 99, 0}, 24, "a", "reserved address"},  // 6to4 relay anycast
    {{192, 168, 0, 0}, 16, "a", "private address"},
    {{198, 18, 0, 0}, 15, "a", "benchmarking address"},
    {{198, 51, 100, 0}, 24, "a", "documentation address"},
    {{203, 0, 113, 0}, 24, "a", "documentation address"},
    {{224, 0, 0, 0}, 4, "a", "multicast address"},
    {{240, 0, 0, 0}, 4, "a", "reserved address"},
};

constexpr Range kIpv6Ranges[] = {
    {{}, 128, "an", "unspecified address"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "a",
     "loopback address"},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "a", "local-use NAT64 address"},
    {{}, 8, "a", "reserved address"},  // IPv4-compatible and the like
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "a", "documentation address"},
    {{0x3f, 0xff}, 20, "a", "documentation address"},
    {{0x20, 0x01}, 23, "a", "reserved address"},  // IETF assignments, Teredo
    {{0xfc}, 7, "a", "unique-local address"},
    {{0xfe, 0x80}, 10, "a", "link-local address"},
    {{0xfe, 0xc0}, 10, "a", "site-local address"},
    {{0xff}, 8, "a", "multicast address"},
};

// IPv6 forms that carry an IPv4 address, checked as that address.
struct Embedding {
  unsigned char net[16];
  int prefix_length;
  int offset;  // where the IPv4 address starts
  const char* name;
};

constexpr Embedding kEmbeddings[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 12, "IPv4-mapped"},
    {{0x00, 0x64, 0xff, 0x9b}, 96, 12, "NAT64"},
    {{0x20, 0x02}, 16, 2, "6to4"},
};

int MaxPrefix(int family) { return family == AF_INET ? 32 : 128; }

bool InPrefix(const unsigned char* address, const unsigned char* net,
              int prefix_length) {
  const int whole = prefix_length / 8;
  if (std::memcmp(address, net, static_cast<size_t>(whole)) != 0) return false;
  const int bits = prefix_length % 8;
  if (bits == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - bits));
  return (address[whole] & mask) == (net[whole] & mask);
}

bool FromSockaddr(const sockaddr* address, Ip* ip) {
  if (address == nullptr) return false;
  if (address->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof(in));
    ip->family = AF_INET;
    std::memcpy(ip->bytes, &in.sin_addr, 4);
    return true;
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof(in6));
    ip->family = AF_INET6;
    std::memcpy(ip->bytes, &in6.sin6_addr, 16);
    return true;
  }
  return false;
}

// Parses a dotted-quad IPv4 or an IPv6 address (no zone identifier).
bool FromText(std::string_view text, Ip* ip) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return false;
  const std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), ip->bytes) == 1) {
    ip->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip->bytes) == 1) {
    ip->family = AF_INET6;
    return true;
  }
  return false;
}

std::string ToText(int family, const unsigned char* bytes) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, bytes, buffer, sizeof(buffer)) == nullptr) return "?";
  return buffer;
}

// The range of a special-purpose address, or nullptr for public unicast.
const Range* SpecialRange(const Ip& ip) {
  if (ip.family == AF_INET) {
    for (const Range& range : kIpv4Ranges) {
      if (InPrefix(ip.bytes, range.net, range.prefix_length)) return &range;
    }
    return nullptr;
  }
  for (const Range& range : kIpv6Ranges) {
    if (InPrefix(ip.bytes, range.net, range.prefix_length)) return &range;
  }
  // Only 2000::/3 is global unicast.
  static constexpr Range kOutsideGlobalUnicast = {{}, 0, "a", "reserved address"};
  if ((ip.bytes[0] & 0xe0) != 0x20) return &kOutsideGlobalUnicast;
  return nullptr;
}

// Parses "address/prefix" or a bare address.
absl::Status ParseCidr(std::string_view field, std::string_view text,
                       int* family, unsigned char* bytes, int* prefix_length) {
  const std::string quoted = StrCat("\"", text, "\"");
  const size_t slash = text.find('/');
  Ip ip;
  if (!FromText(text.substr(0, slash), &ip)) {
    return core::error::InvalidField(
        field, StrCat(quoted, " is not a CIDR such as 10.0.0.0/8 or fd00::/8"
                              " (the address does not parse)"));
  }
  const int max = MaxPrefix(ip.family);
  int length = max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    bool ok = !digits.empty() && digits.size() <= 3 &&
              (digits.size() == 1 || digits[0] != '0');
    length = 0;
    for (char c : digits) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) length = length * 10 + (c - '0');
    }
    if (!ok || length > max) {
      return core::error::InvalidField(
          field, StrCat(quoted, " has a bad prefix length; use 0..", max,
                        ip.family == AF_INET ? " for IPv4" : " for IPv6"));
    }
  }
  unsigned char network[16] = {};
  const int whole = length / 8;
  std::memcpy(network, ip.bytes, static_cast<size_t>(whole));
  if (length % 8 != 0) {
    network[whole] = static_cast<unsigned char>(
        ip.bytes[whole] & (0xff << (8 - length % 8)));
  }
  if (std::memcmp(network, ip.bytes, 16) != 0) {
    return core::error::InvalidField(
        field, StrCat(quoted, " has bits set beyond its /", length,
                      " prefix; did you mean ", ToText(ip.family, network),
                      "/", length, "?"));
  }
  *family = ip.family;
  std::memcpy(bytes, ip.bytes, 16);
  *prefix_length = length;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AddressPolicy> AddressPolicy::Create(
    const std::vector<std::string>& allowed_cidrs) {
  AddressPolicy policy;
  for (size_t i = 0; i < allowed_cidrs.size(); ++i) {
    Cidr cidr;
    const absl::Status status =
        ParseCidr(StrCat("allowed_cidrs[", i, "]"), allowed_cidrs[i],
                  &cidr.family, cidr.bytes, &cidr.prefix_length);
    if (!status.ok()) return status;
    policy.allowed_.push_back(cidr);
  }
  return policy;
}

bool AddressPolicy::Allows(const sockaddr* address) const {
  return RefusedClass(address).empty();
}

bool AddressPolicy::AllowsText(std::string_view text) const {
  Ip ip;
  if (!FromText(text, &ip)) return false;
  if (ip.family == AF_INET) {
    sockaddr_in in = {};
    in.sin_family = AF_INET;
    std::memcpy(&in.sin_addr, ip.bytes, 4);
    return Allows(reinterpret_cast<const sockaddr*>(&in));
  }
  sockaddr_in6 in6 = {};
  in6.sin6_family = AF_INET6;
  std::memcpy(&in6.sin6_addr, ip.bytes, 16);
  return Allows(reinterpret_cast<const sockaddr*>(&in6));
}

std::string AddressPolicy::AddressText(const sockaddr* address) {
  Ip ip;
  if (!FromSockaddr(address, &ip)) {
    return StrCat("(address family ",
                  address == nullptr ? -1 : address->sa_family, ")");
  }
  return ToText(ip.family, ip.bytes);
}

std::string AddressPolicy::RefusedClass(const sockaddr* address) const {
  Ip ip;
  if (!FromSockaddr(address, &ip)) return "non-IP address";
  auto listed = [this](int family, const unsigned char* bytes) {
    for (const Cidr& cidr : allowed_) {
      if (cidr.family == family &&
          InPrefix(bytes, cidr.bytes, cidr.prefix_length)) {
        return true;
      }
    }
    return false;
  };
  if (listed(ip.family, ip.bytes)) return "";
  if (ip.family == AF_INET6) {
    for (const Embedding& e : kEmbeddings) {
      if (!InPrefix(ip.bytes, e.net, e.prefix_length)) continue;
      Ip v4;
      v4.family = AF_INET;
      std::memcpy(v4.bytes, ip.bytes + e.offset, 4);
      if (listed(AF_INET, v4.bytes)) return "";
      const Range* range = SpecialRange(v4);
      if (range == nullptr) return "";
      return StrCat(e.name, " form of ", range->article, " ", range->name,
                    " (", ToText(AF_INET, v4.bytes), ")");
    }
  }
  const Range* range = SpecialRange(ip);
  return range == nullptr ? "" : range->name;
}

std::string AddressPolicy::WhyRefused(const sockaddr* address) const {
  const std::string what = RefusedClass(address);
  if (what.empty()) return "";
  // Every class starts with a word taking "a", except these.
  const bool an =
      what.rfind("unspecified", 0) == 0 || what.rfind("IPv4", 0) == 0;
  return StrCat(AddressText(address), " is ", an ? "an " : "a ", what);
}

}  // namespace webhooks::delivery
