#include "core/page_token.h"

#include "absl/strings/escaping.h"
#include "common/random.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

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

// Issue 15: a token with another key after the fingerprint was accepted.
TEST(PageTokenTest, RejectsATamperedToken) {
  const uint64_t fp = RequestFingerprint({"a"});
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(EncodePageToken(fp, "key-1"), &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string changed = raw;
    changed[i] = static_cast<char>(changed[i] ^ 1);
    EXPECT_EQ(DecodePageToken("page_token", absl::WebSafeBase64Escape(changed),
                              fp)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << "byte " << i;
  }
  // The key changed and the tag kept: the tag covers the key.
  std::string forged = raw;
  forged.replace(9, 5, "key-9");
  EXPECT_EQ(DecodePageToken("page_token", absl::WebSafeBase64Escape(forged), fp)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PageTokenTest, KeyComesFromTheStoreAndSurvivesReloading) {
  auto store = std::make_unique<storage::MemoryStore>();
  SeededRandom random(7);
  ASSERT_TRUE(LoadPageTokenKey(store.get(), &random).ok());
  const uint64_t fp = RequestFingerprint({"a"});
  const std::string token = EncodePageToken(fp, "k");
  // Another process on the same store (a restart) takes the same key.
  SeededRandom other(8);
  ASSERT_TRUE(LoadPageTokenKey(store.get(), &other).ok());
  absl::StatusOr<std::string> back = DecodePageToken("page_token", token, fp);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "k");
  // Another store, another key.
  auto fresh = std::make_unique<storage::MemoryStore>();
  ASSERT_TRUE(LoadPageTokenKey(fresh.get(), &other).ok());
  EXPECT_FALSE(DecodePageToken("page_token", token, fp).ok());
}

TEST(PageTokenTest, FingerprintSeparatesParts) {
  EXPECT_NE(RequestFingerprint({"ab", "c"}), RequestFingerprint({"a", "bc"}));
  EXPECT_EQ(RequestFingerprint({"x", "y"}), RequestFingerprint({"x", "y"}));
}

}  // namespace
}  // namespace webhooks::core
