#include "core/webhook_signature.h"

#include <openssl/crypto.h>

#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "core/webhook_signer.h"

namespace webhooks::core {

absl::StatusOr<std::string> SignV1(std::string_view secret,
                                   std::string_view message_id,
                                   int64_t timestamp_seconds,
                                   std::string_view body) {
  return WebhookSigner({std::string(secret)})
      .Header(message_id, timestamp_seconds, body);
}

absl::StatusOr<std::string> SignatureHeader(
    const std::vector<std::string>& secrets, std::string_view message_id,
    int64_t timestamp_seconds, std::string_view body) {
  return WebhookSigner(secrets).Header(message_id, timestamp_seconds, body);
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
