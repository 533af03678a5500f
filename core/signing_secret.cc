#include "core/signing_secret.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace webhooks::core {

std::string NewSigningSecret(RandomSource& random) {
  return absl::StrCat(kSecretPrefix, absl::Base64Escape(random.Bytes(kSecretBytes)));
}

std::optional<std::string> SigningKey(std::string_view secret) {
  if (!absl::StartsWith(secret, kSecretPrefix)) return std::nullopt;
  std::string key;
  if (!absl::Base64Unescape(secret.substr(kSecretPrefix.size()), &key) ||
      key.empty()) {
    return std::nullopt;
  }
  return key;
}

}  // namespace webhooks::core
