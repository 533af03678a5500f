// Signing secrets of subscriptions, in the Standard Webhooks form
// `whsec_` + base64 of 32 random bytes.
//
//   std::string secret = NewSigningSecret(random);
#ifndef WEBHOOKS_CORE_SIGNING_SECRET_H_
#define WEBHOOKS_CORE_SIGNING_SECRET_H_

#include <optional>
#include <string>
#include <string_view>

#include "common/random.h"

namespace webhooks::core {

inline constexpr std::string_view kSecretPrefix = "whsec_";
inline constexpr size_t kSecretBytes = 32;

// A fresh secret from `random`.
std::string NewSigningSecret(RandomSource& random);

// The key bytes of a `whsec_` secret; std::nullopt when it is malformed.
std::optional<std::string> SigningKey(std::string_view secret);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_SIGNING_SECRET_H_
