#include "core/validation.h"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The message as std::string (Debian's absl::string_view is not std's).
std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

// Names parameterized cases by their `name` field.
struct ParamName {
  template <typename P>
  std::string operator()(const ::testing::TestParamInfo<P>& p) const {
    return p.param.name;
  }
};

// One validator call: the field it is given is always "x.field".
struct Case {
  std::string name;
  std::function<absl::Status()> call;
  std::string error_part;  // empty: must succeed
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ValidatorTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidatorTest, Checks) {
  const Case& c = GetParam();
  absl::Status status = c.call();
  if (c.error_part.empty()) {
    EXPECT_TRUE(status.ok()) << status;
    return;
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(status), StartsWith("x.field"));
  EXPECT_THAT(Msg(status), HasSubstr(c.error_part));
}

const Limits kLimits{};

Case Type(std::string name, std::string value, bool wildcard,
          std::string error) {
  return {"type_" + name,
          [value, wildcard] {
            return ValidateTypeToken("x.field", value, wildcard, kLimits);
          },
          error};
}

INSTANTIATE_TEST_SUITE_P(
    TypeToken, ValidatorTest,
    ::testing::Values(
        Type("simple", "user", false, ""),
        Type("chars", "object_event.v2-x", false, ""),
        Type("digits", "0", false, ""),
        Type("wildcard_ok", "*", true, ""),
        Type("wildcard_refused", "*", false, "wildcard"),
        Type("empty", "", true, "x.field is required"),
        Type("upper", "User", false, "uppercase"),
        Type("space", "new user", false, "byte 0x20"),
        Type("slash", "a/b", false, "'/'"),
        Type("star_inside", "us*r", true, "'*'"),
        Type("at_limit", std::string(128, 'a'), false, ""),
        Type("too_long", std::string(129, 'a'), false, "longer than 128")),
    ParamName());

Case Principal(std::string name, std::string value, std::string error) {
  return {"principal_" + name,
          [value] { return ValidatePrincipalId("x.field", value, kLimits); },
          error};
}

INSTANTIATE_TEST_SUITE_P(
    PrincipalId, ValidatorTest,
    ::testing::Values(
        Principal("simple", "alice", ""),
        Principal("punct", "group:ops@example.com/x", ""),
        Principal("utf8", "J\xc3\xbcrgen", ""),
        Principal("cjk", "\xe7\x94\xb0\xe4\xb8\xad", ""),
        Principal("empty", "", "x.field is required"),
        Principal("space", "a b", "whitespace"),
        Principal("tab", "a\tb", "whitespace"),
        Principal("cr", "a\rb", "whitespace"),
        Principal("lf", "a\nb", "whitespace"),
        Principal("vt", "a\vb", "whitespace"),
        Principal("ff", "a\fb", "whitespace"),
        Principal("nul", std::string("a\0b", 3), "control"),
        Principal("del", "a\x7f", "control"),
        Principal("esc", "a\x1b", "control"),
        Principal("bad_utf8", "a\xff", "UTF-8"),
        Principal("truncated_utf8", "a\xc3", "UTF-8"),
        Principal("at_limit", std::string(256, 'p'), ""),
        Principal("too_long", std::string(257, 'p'), "longer than 256")),
    ParamName());

Case Permission(std::string name, std::string value, std::string error) {
  return {"permission_" + name,
          [value] { return ValidatePermission("x.field", value, kLimits); },
          error};
}

INSTANTIATE_TEST_SUITE_P(
    Permission, ValidatorTest,
    ::testing::Values(Permission("view", "view", ""),
                      Permission("dotted", "zope.view", ""),
                      Permission("wildcard", "*", "wildcard"),
                      Permission("empty", "", "x.field is required"),
                      Permission("upper", "View", "uppercase"),
                      Permission("too_long", std::string(129, 'v'),
                                 "longer than 128")),
    ParamName());

Case Dialect(std::string name, std::string value, std::string error) {
  return {"dialect_" + name,
          [value] { return ValidateDialectName("x.field", value); }, error};
}

INSTANTIATE_TEST_SUITE_P(
    DialectName, ValidatorTest,
    ::testing::Values(Dialect("default", "default", ""),
                      Dialect("chars", "standard-webhooks_v1.0", ""),
                      Dialect("empty", "", "x.field is required"),
                      Dialect("upper", "Default", "uppercase"),
                      Dialect("wildcard", "*", "'*'"),
                      Dialect("at_limit", std::string(64, 'd'), ""),
                      Dialect("too_long", std::string(65, 'd'),
                              "longer than 64")),
    ParamName());

Case Header(std::string name, std::string header, std::string value,
            std::string error) {
  return {"header_" + name,
          [header, value] {
            return ValidateHeader("x.field", header, value, kLimits);
          },
          error};
}

INSTANTIATE_TEST_SUITE_P(
    Header, ValidatorTest,
    ::testing::Values(
        Header("simple", "X-Api-Key", "abc123", ""),
        Header("tchars", "x!#$%&'*+-.^_`|~0", "v", ""),
        Header("value_spaces", "X-A", "a b\tc", ""),
        Header("empty_value", "X-A", "", ""),
        Header("empty_name", "", "v", "header name is empty"),
        Header("name_space", "X A", "v", "RFC 9110 token"),
        Header("name_colon", "X:A", "v", "':'"),
        Header("name_too_long", std::string(129, 'h'), "v", "longer than 128"),
        Header("value_cr", "X-A", "a\rb", "CR or LF"),
        Header("value_lf", "X-A", "a\nInjected: 1", "CR or LF"),
        Header("value_nul", "X-A", std::string("a\0", 2), "control"),
        Header("value_utf8", "X-A", "caf\xc3\xa9", "non-ASCII"),
        Header("value_too_long", "X-A", std::string(4097, 'v'),
               "longer than 4096")),
    ParamName());

Case ResourceId(std::string name, std::string value, std::string error) {
  return {"id_" + name,
          [value] { return ValidateResourceId("x.field", value); }, error};
}

INSTANTIATE_TEST_SUITE_P(
    ResourceId, ValidatorTest,
    ::testing::Values(
        ResourceId("issued", "sub_01h8xk3q9f7e6d5c4b3a2z1y0x", ""),
        ResourceId("static", "static:billing.v2-hook", ""),
        ResourceId("empty", "", "x.field is required"),
        ResourceId("slash", "sub/1", "'/'"),
        ResourceId("space", "sub 1", "byte 0x20"),
        ResourceId("at_limit", std::string(128, 'i'), ""),
        ResourceId("too_long", std::string(129, 'i'), "longer than 128")),
    ParamName());

TEST(NormalizeGroupsTest, DropsDuplicatesKeepingFirstOccurrence) {
  absl::StatusOr<std::vector<std::string>> got =
      NormalizeGroups("principal.groups", {"b", "a", "b", "c", "a"}, kLimits);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAre("b", "a", "c"));
  EXPECT_THAT(*NormalizeGroups("g", {}, kLimits), ElementsAre());
}

TEST(NormalizeGroupsTest, NamesTheBadElement) {
  absl::StatusOr<std::vector<std::string>> got =
      NormalizeGroups("principal.groups", {"ok", "not ok"}, kLimits);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(got.status()), StartsWith("principal.groups[1]: "));
  got = NormalizeGroups("principal.groups", {""}, kLimits);
  EXPECT_THAT(Msg(got.status()), HasSubstr("principal.groups[0]"));
}

TEST(NormalizeGroupsTest, EnforcesTheCountLimit) {
  Limits limits;
  limits.max_groups = 2;
  EXPECT_TRUE(NormalizeGroups("g", {"a", "b"}, limits).ok());
  absl::StatusOr<std::vector<std::string>> got =
      NormalizeGroups("g", {"a", "b", "c"}, limits);
  ASSERT_FALSE(got.ok());
  // Count limits are RESOURCE_EXHAUSTED, like every other (README).
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Msg(got.status()), HasSubstr("g: at most 2 groups"));
}

TEST(NormalizePageSizeTest, DefaultsClampsAndRejectsNegative) {
  Limits limits;
  limits.default_page_size = 50;
  limits.max_page_size = 1000;
  EXPECT_EQ(*NormalizePageSize("page_size", 0, limits), 50);
  EXPECT_EQ(*NormalizePageSize("page_size", 1, limits), 1);
  EXPECT_EQ(*NormalizePageSize("page_size", 1000, limits), 1000);
  EXPECT_EQ(*NormalizePageSize("page_size", 1001, limits), 1000);
  absl::StatusOr<int> got = NormalizePageSize("page_size", -1, limits);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(got.status()), StartsWith("page_size: "));
}

TEST(ToValidUtf8Test, KeepsUtf8AndReplacesEachBadByte) {
  EXPECT_EQ(ToValidUtf8("plain ascii"), "plain ascii");
  EXPECT_EQ(ToValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(ToValidUtf8("caf\xE9"), "caf\xEF\xBF\xBD");
  // A truncated sequence, an overlong form, a surrogate: one U+FFFD a byte.
  EXPECT_EQ(ToValidUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80").size(), 9u);
  EXPECT_EQ(ToValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

}  // namespace
}  // namespace webhooks::core
