#include "delivery/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::delivery {
namespace {

using ::testing::HasSubstr;

// A sockaddr_in or sockaddr_in6 for a textual address.
struct Sockaddr {
  explicit Sockaddr(const std::string& text) {
    std::memset(&storage, 0, sizeof(storage));
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons(443);
    } else if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(443);
    } else {
      ADD_FAILURE() << "bad test address " << text;
    }
  }
  const sockaddr* get() const {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
  sockaddr_storage storage;
};

AddressPolicy Policy(const std::vector<std::string>& cidrs = {}) {
  absl::StatusOr<AddressPolicy> policy = AddressPolicy::Create(cidrs);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : *AddressPolicy::Create({});
}

struct RefusedCase {
  std::string address;
  std::string refused_class;
};

void PrintTo(const RefusedCase& c, std::ostream* os) { *os << c.address; }

class RefusedByDefault : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(RefusedByDefault, Refused) {
  const RefusedCase& c = GetParam();
  const AddressPolicy policy = Policy();
  const Sockaddr address(c.address);
  EXPECT_FALSE(policy.Allows(address.get()));
  EXPECT_FALSE(policy.AllowsText(c.address));
  EXPECT_EQ(policy.RefusedClass(address.get()), c.refused_class);
  EXPECT_THAT(policy.WhyRefused(address.get()), HasSubstr(c.refused_class));
}

INSTANTIATE_TEST_SUITE_P(
    Ipv4, RefusedByDefault,
    ::testing::Values(
        RefusedCase{"0.0.0.0", "unspecified address"},
        RefusedCase{"0.1.2.3", "reserved address"},
        RefusedCase{"10.0.0.1", "private address"},
        RefusedCase{"10.255.255.255", "private address"},
        RefusedCase{"100.64.0.1", "shared (CGNAT) address"},
        RefusedCase{"100.127.255.254", "shared (CGNAT) address"},
        RefusedCase{"127.0.0.1", "loopback address"},
        RefusedCase{"127.255.0.9", "loopback address"},
        RefusedCase{"169.254.169.254", "link-local address"},
        RefusedCase{"172.16.0.1", "private address"},
        RefusedCase{"172.31.255.255", "private address"},
        RefusedCase{"192.0.0.8", "reserved address"},
        RefusedCase{"192.0.2.10", "documentation address"},
        RefusedCase{"192.88.99.1", "reserved address"},
        RefusedCase{"192.168.1.1", "private address"},
        RefusedCase{"198.18.0.1", "benchmarking address"},
        RefusedCase{"198.19.255.255", "benchmarking address"},
        RefusedCase{"198.51.100.7", "documentation address"},
        RefusedCase{"203.0.113.9", "documentation address"},
        RefusedCase{"224.0.0.1", "multicast address"},
        RefusedCase{"239.255.255.250", "multicast address"},
        RefusedCase{"240.0.0.1", "reserved address"},
        RefusedCase{"255.255.255.254", "reserved address"},
        RefusedCase{"255.255.255.255", "broadcast address"}));

INSTANTIATE_TEST_SUITE_P(
    Ipv6, RefusedByDefault,
    ::testing::Values(
        RefusedCase{"::", "unspecified address"},
        RefusedCase{"::1", "loopback address"},
        RefusedCase{"::7f00:1", "reserved address"},  // IPv4-compatible
        RefusedCase{"100::1", "reserved address"},    // discard-only
        RefusedCase{"64:ff9b:1::a00:1", "local-use NAT64 address"},
        RefusedCase{"2001::1", "reserved address"},   // Teredo
        RefusedCase{"2001:db8::1", "documentation address"},
        RefusedCase{"3fff::1", "documentation address"},
        RefusedCase{"fc00::1", "unique-local address"},
        RefusedCase{"fd12:3456:789a::1", "unique-local address"},
        RefusedCase{"fe80::1", "link-local address"},
        RefusedCase{"febf::1", "link-local address"},
        RefusedCase{"fec0::1", "site-local address"},
        RefusedCase{"ff02::1", "multicast address"},
        RefusedCase{"4000::1", "reserved address"}));

INSTANTIATE_TEST_SUITE_P(
    Embedded, RefusedByDefault,
    ::testing::Values(
        RefusedCase{"::ffff:127.0.0.1",
                    "IPv4-mapped form of a loopback address (127.0.0.1)"},
        RefusedCase{"::ffff:10.1.2.3",
                    "IPv4-mapped form of a private address (10.1.2.3)"},
        RefusedCase{"::ffff:169.254.169.254",
                    "IPv4-mapped form of a link-local address "
                    "(169.254.169.254)"},
        RefusedCase{"::ffff:0.0.0.0",
                    "IPv4-mapped form of an unspecified address (0.0.0.0)"},
        RefusedCase{"64:ff9b::127.0.0.1",
                    "NAT64 form of a loopback address (127.0.0.1)"},
        RefusedCase{"64:ff9b::c0a8:101",
                    "NAT64 form of a private address (192.168.1.1)"},
        RefusedCase{"2002:7f00:1::",
                    "6to4 form of a loopback address (127.0.0.1)"},
        RefusedCase{"2002:a9fe:a9fe::1",
                    "6to4 form of a link-local address (169.254.169.254)"}));

class AllowedByDefault : public ::testing::TestWithParam<std::string> {};

TEST_P(AllowedByDefault, Allowed) {
  const AddressPolicy policy = Policy();
  const Sockaddr address(GetParam());
  EXPECT_TRUE(policy.Allows(address.get()));
  EXPECT_TRUE(policy.AllowsText(GetParam()));
  EXPECT_EQ(policy.WhyRefused(address.get()), "");
  EXPECT_EQ(policy.RefusedClass(address.get()), "");
}

INSTANTIATE_TEST_SUITE_P(
    Public, AllowedByDefault,
    ::testing::Values("93.184.216.34", "8.8.8.8", "1.1.1.1", "9.255.255.255",
                      "11.0.0.0", "100.63.255.255", "100.128.0.0",
                      "126.255.255.255", "128.0.0.1", "169.253.0.1",
                      "172.15.255.255", "172.32.0.0", "192.0.1.1",
                      "192.167.255.255", "198.17.255.255", "198.20.0.0",
                      "223.255.255.255", "2606:2800:220:1::",
                      "2001:4860:4860::8888", "2a00:1450:4001::1",
                      "::ffff:93.184.216.34", "64:ff9b::808:808",
                      "2002:5db8:d822::1"));

TEST(AddressPolicyTest, WhyRefusedNamesTheAddress) {
  const AddressPolicy policy = Policy();
  EXPECT_EQ(policy.WhyRefused(Sockaddr("127.0.0.1").get()),
            "127.0.0.1 is a loopback address");
  EXPECT_EQ(policy.WhyRefused(Sockaddr("::").get()),
            ":: is an unspecified address");
  EXPECT_EQ(policy.WhyRefused(Sockaddr("::ffff:10.0.0.1").get()),
            "::ffff:10.0.0.1 is an IPv4-mapped form of a private address "
            "(10.0.0.1)");
  EXPECT_EQ(AddressPolicy::AddressText(Sockaddr("2001:DB8:0::1").get()),
            "2001:db8::1");
}

TEST(AddressPolicyTest, AllowListOverrides) {
  const AddressPolicy policy =
      Policy({"127.0.0.1/32", "::1/128", "10.0.0.0/8", "fd00:1::/32",
              "192.168.1.7"});
  EXPECT_TRUE(policy.AllowsText("127.0.0.1"));
  EXPECT_FALSE(policy.AllowsText("127.0.0.2"));
  EXPECT_TRUE(policy.AllowsText("::1"));
  EXPECT_TRUE(policy.AllowsText("10.20.30.40"));
  EXPECT_FALSE(policy.AllowsText("172.16.0.1"));
  EXPECT_TRUE(policy.AllowsText("fd00:1:2::3"));
  EXPECT_FALSE(policy.AllowsText("fd00:2::3"));
  EXPECT_TRUE(policy.AllowsText("192.168.1.7"));  // bare address: /32
  EXPECT_FALSE(policy.AllowsText("192.168.1.8"));
  // Embedded forms are allowed when their IPv4 address is.
  EXPECT_TRUE(policy.AllowsText("::ffff:127.0.0.1"));
  EXPECT_TRUE(policy.AllowsText("::ffff:10.9.9.9"));
  EXPECT_TRUE(policy.AllowsText("64:ff9b::a00:1"));
  EXPECT_FALSE(policy.AllowsText("::ffff:127.0.0.2"));
  EXPECT_TRUE(policy.AllowsText("93.184.216.34"));  // public still allowed
}

TEST(AddressPolicyTest, AllowListOfMappedAddress) {
  const AddressPolicy policy = Policy({"::ffff:127.0.0.1/128"});
  EXPECT_TRUE(policy.AllowsText("::ffff:127.0.0.1"));
  EXPECT_FALSE(policy.AllowsText("127.0.0.2"));
}

TEST(AddressPolicyTest, ZeroPrefixAllowsEverything) {
  const AddressPolicy policy = Policy({"0.0.0.0/0", "::/0"});
  EXPECT_TRUE(policy.AllowsText("127.0.0.1"));
  EXPECT_TRUE(policy.AllowsText("255.255.255.255"));
  EXPECT_TRUE(policy.AllowsText("fe80::1"));
}

TEST(AddressPolicyTest, TextThatIsNotAnAddress) {
  const AddressPolicy policy = Policy();
  for (const char* text : {"", "example.com", "1.2.3", "01.2.3.4",
                           "1.2.3.4 ", "fe80::1%eth0", "::ffff:1.2.3.256"}) {
    EXPECT_FALSE(policy.AllowsText(text)) << text;
  }
}

TEST(AddressPolicyTest, NonIpFamilyRefused) {
  sockaddr_storage storage = {};
  storage.ss_family = AF_UNIX;
  const auto* address = reinterpret_cast<const sockaddr*>(&storage);
  const AddressPolicy policy = Policy();
  EXPECT_FALSE(policy.Allows(address));
  EXPECT_FALSE(policy.Allows(nullptr));
  EXPECT_FALSE(policy.WhyRefused(address).empty());
}

struct BadCidr {
  std::string cidr;
  std::string message_part;
};

void PrintTo(const BadCidr& c, std::ostream* os) { *os << c.cidr; }

class MalformedCidr : public ::testing::TestWithParam<BadCidr> {};

TEST_P(MalformedCidr, InvalidArgumentNamingTheEntry) {
  absl::StatusOr<AddressPolicy> policy =
      AddressPolicy::Create({"10.0.0.0/8", GetParam().cidr});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(policy.status().message());
  EXPECT_THAT(message, HasSubstr("allowed_cidrs[1]: "));
  EXPECT_THAT(message, HasSubstr(GetParam().message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedCidr,
    ::testing::Values(
        BadCidr{"", "does not parse"},
        BadCidr{"/8", "does not parse"},
        BadCidr{"example.com/32", "does not parse"},
        BadCidr{"10.0.0/8", "does not parse"},
        BadCidr{"10.0.0.0.0/8", "does not parse"},
        BadCidr{" 10.0.0.0/8", "does not parse"},
        BadCidr{"fe80::1%eth0/64", "does not parse"},
        BadCidr{"10.0.0.0/", "prefix length"},
        BadCidr{"10.0.0.0/33", "0..32 for IPv4"},
        BadCidr{"10.0.0.0/-1", "prefix length"},
        BadCidr{"10.0.0.0/+8", "prefix length"},
        BadCidr{"10.0.0.0/08", "prefix length"},
        BadCidr{"10.0.0.0/8/8", "prefix length"},
        BadCidr{"10.0.0.0/8 ", "prefix length"},
        BadCidr{"::1/129", "0..128 for IPv6"},
        BadCidr{"10.0.0.1/8", "did you mean 10.0.0.0/8?"},
        BadCidr{"fd00::1/8", "did you mean fd00::/8?"}));

}  // namespace
}  // namespace webhooks::delivery
