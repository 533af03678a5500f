// Which destination addresses deliveries may connect to (SSRF guard).
// Loopback, private (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10),
// link-local, multicast, unspecified, broadcast, reserved, documentation
// and benchmarking ranges, IPv6 unique-local and link-local, and IPv4-mapped
// / NAT64 / 6to4 forms of these are refused unless an allow-list CIDR
// contains the address. Checked on the address actually connected to.
//
//   ASSIGN_OR_RETURN(AddressPolicy policy, AddressPolicy::Create({"127.0.0.1/32"}));
//   if (!policy.Allows(addr)) ...
//
// An allow-list entry is "address/prefix" (IPv4 or IPv6, no host bits set
// beyond the prefix) or a bare address, meaning /32 or /128. An IPv4-mapped,
// NAT64 or 6to4 address is allowed when an entry contains either it or the
// IPv4 address it embeds. IPv6 outside global unicast (2000::/3) is refused.
//
// Immutable after Create; thread-safe.
#ifndef WEBHOOKS_DELIVERY_ADDRESS_POLICY_H_
#define WEBHOOKS_DELIVERY_ADDRESS_POLICY_H_

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace webhooks::delivery {

class AddressPolicy {
 public:
  // INVALID_ARGUMENT naming `allowed_cidrs[i]` for a malformed CIDR.
  static absl::StatusOr<AddressPolicy> Create(
      const std::vector<std::string>& allowed_cidrs);

  // True when a connection to `address` (AF_INET or AF_INET6) may be made.
  bool Allows(const sockaddr* address) const;
  // The same for a textual IP address; false when it does not parse.
  bool AllowsText(std::string_view ip) const;
  // Why an address is refused, e.g. "127.0.0.1 is a loopback address";
  // empty when it is allowed.
  std::string WhyRefused(const sockaddr* address) const;
  // The class that makes an address refused, without the address or an
  // article: "loopback address", "private address", "IPv4-mapped form of a
  // loopback address (127.0.0.1)"; empty when it is allowed. The curl sender
  // reports "refused to connect to <ip>: <class> (not in allowed_cidrs)".
  std::string RefusedClass(const sockaddr* address) const;
  // "127.0.0.1", "2001:db8::1" for AF_INET / AF_INET6; "(address family N)"
  // for anything else.
  static std::string AddressText(const sockaddr* address);

 private:
  struct Cidr {
    int family;                  // AF_INET or AF_INET6
    unsigned char bytes[16];     // network address
    int prefix_length;
  };
  std::vector<Cidr> allowed_;
};

}  // namespace webhooks::delivery

#endif  // WEBHOOKS_DELIVERY_ADDRESS_POLICY_H_
