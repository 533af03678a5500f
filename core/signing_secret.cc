#include "core/signing_secret.h"

#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace webhooks::core {

std::string NewSigningSecret(RandomSource& random) {
  return StrCat(kSecretPrefix, absl::Base64Escape(random.Bytes(kSecretBytes)));
}

std::optional<std::string> SigningKey(std::string_view secret) {
  if (!secret.starts_with(kSecretPrefix)) return std::nullopt;
  std::string key;
  if (!absl::Base64Unescape(AsAbsl(secret.substr(kSecretPrefix.size())), &key) ||
      key.empty()) {
    return std::nullopt;
  }
  return key;
}

}  // namespace webhooks::core
