#include "core/target_url.h"

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Test input with non-printable bytes escaped, for test listings.
std::string Printable(const std::string& s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      out += absl::StrFormat("\\x%02x", u);
    }
  }
  return out;
}

// The message as std::string (Debian's absl::string_view is not std's).
std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

constexpr char kField[] = "subscription.target_url";

TargetUrlOptions Https() { return TargetUrlOptions(); }
TargetUrlOptions AllowHttp() {
  TargetUrlOptions options;
  options.allow_http = true;
  return options;
}

struct GoodCase {
  std::string input;
  std::string host;
  uint16_t port;
  std::string path_and_query;
  std::string normalized;
  bool allow_http = false;
  bool ipv6 = false;
};

void PrintTo(const GoodCase& c, std::ostream* os) {
  *os << Printable(c.input);
}

class ParseTargetUrlOk : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseTargetUrlOk, Parses) {
  const GoodCase& c = GetParam();
  absl::StatusOr<TargetUrl> url =
      ParseTargetUrl(kField, c.input, c.allow_http ? AllowHttp() : Https());
  ASSERT_TRUE(url.ok()) << c.input << ": " << url.status();
  EXPECT_EQ(url->scheme, c.allow_http && c.normalized.rfind("http:", 0) == 0
                             ? "http"
                             : "https");
  EXPECT_EQ(url->host, c.host);
  EXPECT_EQ(url->host_is_ipv6, c.ipv6);
  EXPECT_EQ(url->port, c.port);
  EXPECT_EQ(url->path_and_query, c.path_and_query);
  EXPECT_EQ(url->normalized, c.normalized);
  // Normalizing is idempotent.
  absl::StatusOr<TargetUrl> again = ParseTargetUrl(
      kField, url->normalized, c.allow_http ? AllowHttp() : Https());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->normalized, url->normalized);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseTargetUrlOk,
    ::testing::Values(
        GoodCase{"https://example.com/hook", "example.com", 443, "/hook",
                 "https://example.com/hook"},
        GoodCase{"https://example.com", "example.com", 443, "/",
                 "https://example.com/"},
        GoodCase{"HTTPS://Example.COM/Path/Keeps/Case", "example.com", 443,
                 "/Path/Keeps/Case", "https://example.com/Path/Keeps/Case"},
        GoodCase{"https://example.com:443/x", "example.com", 443, "/x",
                 "https://example.com/x"},
        GoodCase{"https://example.com:8443/x", "example.com", 8443, "/x",
                 "https://example.com:8443/x"},
        GoodCase{"https://example.com?a=1&b=%2F", "example.com", 443,
                 "/?a=1&b=%2F", "https://example.com/?a=1&b=%2F"},
        GoodCase{"https://h.example/a/b;p=1/c:d@e?q=/?x~y!$'()*+,=",
                 "h.example", 443, "/a/b;p=1/c:d@e?q=/?x~y!$'()*+,=",
                 "https://h.example/a/b;p=1/c:d@e?q=/?x~y!$'()*+,="},
        GoodCase{"https://my-host1.internal-2.example/",
                 "my-host1.internal-2.example", 443, "/",
                 "https://my-host1.internal-2.example/"},
        GoodCase{"https://localhost:1/", "localhost", 1, "/",
                 "https://localhost:1/"},
        GoodCase{"https://192.0.2.10:65535/h", "192.0.2.10", 65535, "/h",
                 "https://192.0.2.10:65535/h"},
        GoodCase{"https://[2001:DB8::1]/h", "2001:db8::1", 443, "/h",
                 "https://[2001:db8::1]/h", false, true},
        GoodCase{"https://[2001:db8:0:0:0:0:0:1]:8443", "2001:db8::1", 8443,
                 "/", "https://[2001:db8::1]:8443/", false, true},
        GoodCase{"http://example.com/h", "example.com", 80, "/h",
                 "http://example.com/h", true},
        GoodCase{"http://example.com:443/h", "example.com", 443, "/h",
                 "http://example.com:443/h", true},
        GoodCase{"https://example.com/%e2%9c%93", "example.com", 443,
                 "/%e2%9c%93", "https://example.com/%e2%9c%93"}));

struct BadCase {
  std::string input;
  std::string message_part;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << Printable(c.input);
}

class ParseTargetUrlBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseTargetUrlBad, RejectsNamingField) {
  absl::StatusOr<TargetUrl> url =
      ParseTargetUrl(kField, GetParam().input, Https());
  ASSERT_FALSE(url.ok()) << GetParam().input << " -> " << url->normalized;
  EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(url.status()), StartsWith(kField));
  EXPECT_THAT(Msg(url.status()), HasSubstr(GetParam().message_part))
      << GetParam().input;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseTargetUrlBad,
    ::testing::Values(
        BadCase{"", "is required"},
        BadCase{"example.com/hook", "absolute URL"},
        BadCase{"/hook", "absolute URL"},
        BadCase{"://example.com", "absolute URL"},
        BadCase{"1https://example.com", "absolute URL"},
        BadCase{"http://example.com/", "must use https"},
        BadCase{"http://example.com/", "development flag"},
        BadCase{"ftp://example.com/", "scheme \"ftp\""},
        BadCase{"javascript:alert(1)", "scheme \"javascript\""},
        BadCase{"https:example.com", "host after the scheme"},
        BadCase{"https:/example.com", "host after the scheme"},
        BadCase{"https://user:pw@example.com/", "credentials"},
        BadCase{"https://user@example.com/", "credentials"},
        BadCase{"https://@example.com/", "credentials"},
        BadCase{"https:///path", "host is empty"},
        BadCase{"https://:443/", "host is empty"},
        BadCase{"https://exa_mple.com/", "'_'"},
        BadCase{"https://exa%6dple.com/", "percent-escapes are not allowed"},
        BadCase{"https://example..com/", "empty label"},
        BadCase{"https://.example.com/", "empty label"},
        BadCase{"https://example.com./", "must not end with a dot"},
        BadCase{"https://-example.com/", "starts or ends with '-'"},
        BadCase{"https://example-.com/", "starts or ends with '-'"},
        BadCase{"https://" + std::string(64, 'a') + ".com/", "longer than 63"},
        BadCase{"https://" + std::string(250, 'a') + ".com/",
                "longer than 253"},
        BadCase{"https://127.1/", "not a valid IPv4"},
        BadCase{"https://2130706433/", "not a valid IPv4"},
        BadCase{"https://0177.0.0.1/", "not a valid IPv4"},
        BadCase{"https://0x7f000001/", "not a valid IPv4"},
        BadCase{"https://0X7F.0.0.1/", "not a valid IPv4"},
        BadCase{"https://127.0.0.0x1/", "not a valid IPv4"},
        BadCase{"https://example.0x/", "not a valid IPv4"},
        BadCase{"https://256.0.0.1/", "not a valid IPv4"},
        BadCase{"https://1.2.3.4.5/", "not a valid IPv4"},
        BadCase{"https://[::1/", "missing its ']'"},
        BadCase{"https://[::g]/", "not a valid IPv6"},
        BadCase{"https://[]/", "not a valid IPv6"},
        BadCase{"https://[1.2.3.4]/", "not a valid IPv6"},
        BadCase{"https://[fe80::1%25eth0]/", "zone identifiers"},
        BadCase{"https://[v1.fe]/", "IPvFuture"},
        BadCase{"https://[::1]x/", "after the IPv6 host"},
        BadCase{"https://example.com:/", "port \"\""},
        BadCase{"https://example.com:0/", "port \"0\""},
        BadCase{"https://example.com:65536/", "port \"65536\""},
        BadCase{"https://example.com:123456/", "1 to 65535"},
        BadCase{"https://example.com:8x/", "port \"8x\""},
        BadCase{"https://example.com:-1/", "1 to 65535"},
        BadCase{"https://example.com/#frag", "fragment"},
        BadCase{"https://example.com#", "fragment"},
        BadCase{"https://example.com/a b", "whitespace"},
        BadCase{" https://example.com/", "whitespace"},
        BadCase{"https://example.com/\n", "whitespace"},
        BadCase{"https://example.com/\t", "whitespace"},
        BadCase{std::string("https://example.com/\0", 21), "control"},
        BadCase{"https://example.com/\x7f", "control"},
        BadCase{"https://example.com/caf\xc3\xa9", "ASCII"},
        BadCase{"https://example.com\\@evil.com/", "backslash"},
        BadCase{"https://example.com/%", "bad percent-escape in the path"},
        BadCase{"https://example.com/%4", "bad percent-escape"},
        BadCase{"https://example.com/%zz", "bad percent-escape"},
        BadCase{"https://example.com/?q=%g1",
                "bad percent-escape in the query"},
        BadCase{"https://example.com/<script>", "the path contains '<'"},
        BadCase{"https://example.com/a\"b", "'\"'"},
        BadCase{"https://example.com/{x}", "'{'"},
        BadCase{"https://example.com/?a=[1]", "the query contains '['"},
        BadCase{"https://example.com/?a|b", "'|'"},
        BadCase{"https://example.com/`", "'`'"},
        BadCase{"https://example.com/^", "'^'"}));

TEST(ParseTargetUrlTest, LengthLimitIsOptionDriven) {
  TargetUrlOptions options;
  options.max_length = 30;
  const std::string base = "https://example.com/";  // 20 bytes
  EXPECT_TRUE(
      ParseTargetUrl(kField, base + std::string(10, 'a'), options).ok());
  absl::StatusOr<TargetUrl> url =
      ParseTargetUrl(kField, base + std::string(11, 'a'), options);
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(url.status()), HasSubstr("longer than 30 bytes"));
  EXPECT_FALSE(
      ParseTargetUrl(kField, base + std::string(2048, 'a'), Https()).ok());
}

TEST(ParseTargetUrlTest, HttpsIsAlwaysAllowedWithTheDevelopmentFlag) {
  EXPECT_TRUE(ParseTargetUrl(kField, "https://example.com/", AllowHttp()).ok());
  absl::StatusOr<TargetUrl> ftp =
      ParseTargetUrl(kField, "ftp://example.com/", AllowHttp());
  EXPECT_FALSE(ftp.ok());
}

TEST(ParseTargetUrlTest, ErrorsNameTheCallersField) {
  absl::StatusOr<TargetUrl> url =
      ParseTargetUrl("dialect.test_url", "https://u:p@x/", Https());
  ASSERT_FALSE(url.ok());
  EXPECT_THAT(Msg(url.status()), StartsWith("dialect.test_url: "));
}

}  // namespace
}  // namespace webhooks::core
