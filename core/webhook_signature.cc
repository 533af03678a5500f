#include "core/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/signing_secret.h"

namespace webhooks::core {
namespace {

std::string Hmac(std::string_view key, std::string_view message_id,
                 int64_t timestamp_seconds, std::string_view body) {
  std::string signed_content =
      StrCat(message_id, ".", timestamp_seconds, ".", body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_content.data()),
       signed_content.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

absl::StatusOr<std::string> SignV1(std::string_view secret,
                                   std::string_view message_id,
                                   int64_t timestamp_seconds,
                                   std::string_view body) {
  std::optional<std::string> key = SigningKey(secret);
  if (!key.has_value()) {
    return absl::InvalidArgumentError("secret: not a whsec_ signing secret");
  }
  return StrCat("v1,", absl::Base64Escape(
                           Hmac(*key, message_id, timestamp_seconds, body)));
}

absl::StatusOr<std::string> SignatureHeader(
    const std::vector<std::string>& secrets, std::string_view message_id,
    int64_t timestamp_seconds, std::string_view body) {
  std::string header;
  for (const std::string& secret : secrets) {
    ASSIGN_OR_RETURN(std::string signature,
                     SignV1(secret, message_id, timestamp_seconds, body));
    if (!header.empty()) header.push_back(' ');
    header += signature;
  }
  return header;
}

bool VerifyV1(std::string_view secret, std::string_view message_id,
              int64_t timestamp_seconds, std::string_view body,
              std::string_view header) {
  absl::StatusOr<std::string> expected =
      SignV1(secret, message_id, timestamp_seconds, body);
  if (!expected.ok()) return false;
  bool valid = false;
  for (absl::string_view candidate :
       absl::StrSplit(AsAbsl(header), ' ', absl::SkipEmpty())) {
    if (candidate.size() == expected->size() &&
        CRYPTO_memcmp(candidate.data(), expected->data(), expected->size()) ==
            0) {
      valid = true;
    }
  }
  return valid;
}

}  // namespace webhooks::core
