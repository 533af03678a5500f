#include "core/page_token.h"

#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

TEST(PageTokenTest, RoundTripsKeysWithAnyBytes) {
  uint64_t fp = RequestFingerprint({"site", "/NOAA"});
  std::string key("a\0b\xff", 4);
  absl::StatusOr<std::string> back =
      DecodePageToken("page_token", EncodePageToken(fp, key), fp);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, key);
}

TEST(PageTokenTest, EmptyTokenIsFirstPage) {
  absl::StatusOr<std::string> back = DecodePageToken("page_token", "", 1);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "");
}

TEST(PageTokenTest, RejectsTokenOfAnotherRequest) {
  std::string token = EncodePageToken(RequestFingerprint({"a"}), "k");
  absl::StatusOr<std::string> back =
      DecodePageToken("page_token", token, RequestFingerprint({"b"}));
  EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(back.status().message().find("page_token"), std::string::npos);
}

TEST(PageTokenTest, RejectsGarbage) {
  EXPECT_EQ(DecodePageToken("page_token", "%%%", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodePageToken("page_token", "AAAA", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PageTokenTest, FingerprintSeparatesParts) {
  EXPECT_NE(RequestFingerprint({"ab", "c"}), RequestFingerprint({"a", "bc"}));
  EXPECT_EQ(RequestFingerprint({"x", "y"}), RequestFingerprint({"x", "y"}));
}

}  // namespace
}  // namespace webhooks::core
