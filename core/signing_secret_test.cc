#include "core/signing_secret.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

TEST(SigningSecretTest, HasPrefixAnd32KeyBytes) {
  SeededRandom random(3);
  std::string secret = NewSigningSecret(random);
  EXPECT_TRUE(absl::StartsWith(secret, "whsec_"));
  // base64 of 32 bytes is 44 characters.
  EXPECT_EQ(secret.size(), 6u + 44u);
  std::optional<std::string> key = SigningKey(secret);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), 32u);
}

TEST(SigningSecretTest, SecretsDiffer) {
  SecureRandom random;
  EXPECT_NE(NewSigningSecret(random), NewSigningSecret(random));
}

TEST(SigningSecretTest, RejectsMalformed) {
  EXPECT_FALSE(SigningKey("abc").has_value());
  EXPECT_FALSE(SigningKey("whsec_").has_value());
  EXPECT_FALSE(SigningKey("whsec_!!!").has_value());
  // The Standard Webhooks example secret decodes.
  EXPECT_TRUE(SigningKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").has_value());
}

}  // namespace
}  // namespace webhooks::core
