#include "core/webhook_signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "core/request_renderer.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

std::string SecretOf(const std::string& key) {
  return StrCat("whsec_", absl::Base64Escape(key));
}

// What the signer must agree with: OpenSSL's one-shot HMAC of the whole
// signed string.
std::string Expected(const std::string& key, std::string_view id,
                     int64_t timestamp, std::string_view body) {
  const std::string content = StrCat(id, ".", timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(),
       mac, &length);
  return StrCat("v1,", absl::Base64Escape(absl::string_view(
                                 reinterpret_cast<char*>(mac), length)));
}

std::string Bytes(size_t n, int seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed) * 7) & 0xff);
  }
  return out;
}

TEST(WebhookSignerTest, AgreesWithOneShotHmacForEveryKeyLength) {
  // 64 is SHA-256's block: longer keys are hashed first (RFC 2104).
  for (size_t key_length : {1, 16, 24, 32, 63, 64, 65, 100, 130}) {
    const std::string key = Bytes(key_length, static_cast<int>(key_length));
    WebhookSigner signer({SecretOf(key)});
    for (size_t body_length : {0, 1, 55, 64, 200, 5000}) {
      const std::string body = Bytes(body_length, 3);
      absl::StatusOr<std::string> header =
          signer.Header("dlv_1", 1700000000 + static_cast<int64_t>(body_length), body);
      ASSERT_TRUE(header.ok()) << header.status();
      EXPECT_EQ(*header, Expected(key, "dlv_1",
                                  1700000000 + static_cast<int64_t>(body_length),
                                  body))
          << "key " << key_length << " body " << body_length;
    }
  }
}

TEST(WebhookSignerTest, KeepsItsKeyScheduleAcrossMessages) {
  const std::string key = Bytes(32, 9);
  WebhookSigner signer({SecretOf(key)});
  for (int i = 0; i < 50; ++i) {
    const std::string id = StrCat("dlv_", i);
    EXPECT_EQ(*signer.Header(id, i, "{}"), Expected(key, id, i, "{}"));
  }
  // Negative and zero timestamps are formatted as the one-shot path does.
  EXPECT_EQ(*signer.Header("x", -5, "b"), Expected(key, "x", -5, "b"));
  EXPECT_EQ(*signer.Header("x", 0, "b"), Expected(key, "x", 0, "b"));
}

TEST(WebhookSignerTest, SignsWithEverySecretInOrder) {
  const std::string current = Bytes(32, 1);
  const std::string previous = Bytes(32, 2);
  WebhookSigner signer({SecretOf(current), SecretOf(previous)});
  EXPECT_EQ(*signer.Header("dlv_2", 1700000001, "body"),
            StrCat(Expected(current, "dlv_2", 1700000001, "body"), " ",
                         Expected(previous, "dlv_2", 1700000001, "body")));
}

TEST(WebhookSignerTest, AMalformedSecretIsNamedWhenSigning) {
  WebhookSigner signer({SecretOf(Bytes(32, 1)), "not-a-secret"});
  absl::StatusOr<std::string> header = signer.Header("dlv_3", 1, "b");
  EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(header.status().message().find("secret"), std::string::npos);
  WebhookSigner bad_base64({"whsec_***"});
  EXPECT_EQ(bad_base64.Header("dlv_3", 1, "b").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WebhookSignerTest, ThreadsShareOneSigner) {
  const std::string key = Bytes(32, 4);
  WebhookSigner signer({SecretOf(key)});
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string id = StrCat("dlv_", t, "_", i);
        if (*signer.Header(id, i, id) != Expected(key, id, i, id)) ++wrong[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

TEST(WebhookSignerTest, SameSigningSecretsFollowsRotationAndItsEnd) {
  internal::SubscriptionRecord subscription;
  subscription.set_secret("whsec_new");
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_TRUE(SameSigningSecrets(subscription, now, "whsec_new", ""));
  EXPECT_FALSE(SameSigningSecrets(subscription, now, "whsec_old", ""));
  subscription.set_previous_secret("whsec_old");
  subscription.set_previous_secret_expire_micros(
      absl::ToUnixMicros(now + absl::Hours(1)));
  // During the overlap both sign; a signer with only the new one is stale.
  EXPECT_FALSE(SameSigningSecrets(subscription, now, "whsec_new", ""));
  EXPECT_TRUE(SameSigningSecrets(subscription, now, "whsec_new", "whsec_old"));
  // Once the overlap ends, only the new one.
  const absl::Time later = now + absl::Hours(2);
  EXPECT_TRUE(SameSigningSecrets(subscription, later, "whsec_new", ""));
  EXPECT_FALSE(
      SameSigningSecrets(subscription, later, "whsec_new", "whsec_old"));
}

}  // namespace
}  // namespace webhooks::core
