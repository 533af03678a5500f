#include "core/site_path.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

struct NormalizeCase {
  std::string input;
  std::string want;
};

void PrintTo(const NormalizeCase& c, std::ostream* os) {
  *os << Printable(c.input);
}

class NormalizeSiteOk : public ::testing::TestWithParam<NormalizeCase> {};

TEST_P(NormalizeSiteOk, Normalizes) {
  absl::StatusOr<std::string> got =
      NormalizeSite("subscription.site", GetParam().input, Limits());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NormalizeSiteOk,
    ::testing::Values(NormalizeCase{"", "/"}, NormalizeCase{"/", "/"},
                      NormalizeCase{"//", "/"}, NormalizeCase{"/NOAA", "/NOAA"},
                      NormalizeCase{"/NOAA/", "/NOAA"},
                      NormalizeCase{"//NOAA///NWS/", "/NOAA/NWS"},
                      NormalizeCase{"/NOAA/NWS/OUN", "/NOAA/NWS/OUN"},
                      NormalizeCase{"/a-b/c_d/e.f/g~h/0", "/a-b/c_d/e.f/g~h/0"},
                      NormalizeCase{"/...", "/..."},
                      NormalizeCase{"/.hidden", "/.hidden"}));

struct BadCase {
  std::string input;
  std::string message_part;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << Printable(c.input);
}

class NormalizeSiteBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(NormalizeSiteBad, RejectsNamingField) {
  absl::StatusOr<std::string> got =
      NormalizeSite("subscription.site", GetParam().input, Limits());
  ASSERT_FALSE(got.ok()) << GetParam().input;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(got.status()), HasSubstr("subscription.site"));
  EXPECT_THAT(Msg(got.status()), HasSubstr(GetParam().message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NormalizeSiteBad,
    ::testing::Values(
        BadCase{"NOAA", "must be an absolute path starting with '/'"},
        BadCase{"NOAA/NWS", "absolute path"},
        BadCase{" /NOAA", "absolute path"},
        BadCase{"/NOAA/./NWS", "\".\""}, BadCase{"/NOAA/..", "\"..\""},
        BadCase{"/NO AA", "\"NO AA\""}, BadCase{"/NOAA/N%57S", "'%'"},
        BadCase{"/a\\b", "'\\'"}, BadCase{"/tab\there", "byte 0x09"},
        BadCase{"/caf\xc3\xa9", "byte 0xC3"}, BadCase{"/a?b", "'?'"},
        BadCase{"/a#b", "'#'"}, BadCase{std::string("/a\0b", 4), "0x00"}));

TEST(NormalizeSiteTest, LengthLimitAppliesAfterNormalization) {
  Limits limits;
  limits.max_site_length = 10;
  // 9 bytes normalized, 14 raw.
  EXPECT_TRUE(NormalizeSite("f", "///abc///defg/", limits).ok());
  EXPECT_EQ(*NormalizeSite("f", "/abcd/efgh", limits), "/abcd/efgh");
  absl::StatusOr<std::string> got = NormalizeSite("f", "/abcd/efghi", limits);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(got.status()), HasSubstr("f: longer than 10 bytes"));
}

TEST(NormalizeSiteTest, DepthLimitCountsSegments) {
  Limits limits;
  limits.max_site_depth = 3;
  EXPECT_TRUE(NormalizeSite("site", "/a/b/c", limits).ok());
  EXPECT_TRUE(NormalizeSite("site", "/a//b///c//", limits).ok());
  absl::StatusOr<std::string> got = NormalizeSite("site", "/a/b/c/d", limits);
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(Msg(got.status()), HasSubstr("site: deeper than 3"));
}

TEST(NormalizeSiteTest, DefaultLimitsAcceptLongButBoundedPaths) {
  std::string path;
  for (int i = 0; i < 32; ++i) path += "/seg";
  EXPECT_TRUE(NormalizeSite("site", path, Limits()).ok());
  path += "/seg";
  EXPECT_FALSE(NormalizeSite("site", path, Limits()).ok());
  EXPECT_FALSE(
      NormalizeSite("site", "/" + std::string(600, 'a'), Limits()).ok());
}

TEST(NormalizeSiteTest, IsIdempotent) {
  for (const char* raw : {"", "/", "//NOAA///NWS/", "/a/b.c/d"}) {
    std::string once = *NormalizeSite("s", raw, Limits());
    EXPECT_EQ(*NormalizeSite("s", once, Limits()), once) << raw;
  }
}

TEST(SiteAncestorsTest, ListsSelfThenEachParentUpToRoot) {
  EXPECT_THAT(SiteAncestors("/"), ElementsAre("/"));
  EXPECT_THAT(SiteAncestors("/a"), ElementsAre("/a", "/"));
  EXPECT_THAT(SiteAncestors("/a/b"), ElementsAre("/a/b", "/a", "/"));
  EXPECT_THAT(SiteAncestors("/NOAA/NWS/OUN"),
              ElementsAre("/NOAA/NWS/OUN", "/NOAA/NWS", "/NOAA", "/"));
}

struct WithinCase {
  std::string site;
  std::string ancestor;
  bool want;
};

void PrintTo(const WithinCase& c, std::ostream* os) {
  *os << Printable(c.site) << " in " << Printable(c.ancestor);
}

class SiteIsWithinTest : public ::testing::TestWithParam<WithinCase> {};

TEST_P(SiteIsWithinTest, Matches) {
  EXPECT_EQ(SiteIsWithin(GetParam().site, GetParam().ancestor), GetParam().want)
      << GetParam().site << " within " << GetParam().ancestor;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SiteIsWithinTest,
    ::testing::Values(WithinCase{"/", "/", true}, WithinCase{"/a", "/", true},
                      WithinCase{"/a/b", "/", true},
                      WithinCase{"/a", "/a", true},
                      WithinCase{"/a/b", "/a", true},
                      WithinCase{"/a/b/c", "/a", true},
                      WithinCase{"/ab", "/a", false},
                      WithinCase{"/a", "/a/b", false},
                      WithinCase{"/", "/a", false},
                      WithinCase{"/b/a", "/a", false},
                      WithinCase{"/NOAA/NWS/OUN", "/NOAA/NWS", true},
                      WithinCase{"/NOAA/NWSX", "/NOAA/NWS", false}));

}  // namespace
}  // namespace webhooks::core
