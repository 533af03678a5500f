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
