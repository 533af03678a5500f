// Standard Webhooks signatures (https://www.standardwebhooks.com):
//   webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">
// keyed by the base64-decoded part of a `whsec_` secret. During a secret
// rotation's overlap both the new and the previous secret sign, and the
// header carries both signatures, space-separated.
//
//   ASSIGN_OR_RETURN(std::string sig, SignV1(secret, "dlv_1", 1700000000, body));
#ifndef WEBHOOKS_CORE_WEBHOOK_SIGNATURE_H_
#define WEBHOOKS_CORE_WEBHOOK_SIGNATURE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace webhooks::core {

// "v1,<base64>". INVALID_ARGUMENT when `secret` is not a whsec_ secret.
absl::StatusOr<std::string> SignV1(std::string_view secret,
                                   std::string_view message_id,
                                   int64_t timestamp_seconds,
                                   std::string_view body);

// The header value for several secrets (current first), space-separated.
absl::StatusOr<std::string> SignatureHeader(
    const std::vector<std::string>& secrets, std::string_view message_id,
    int64_t timestamp_seconds, std::string_view body);

// True when one of the space-separated signatures in `header` is a valid v1
// signature for `secret`. Comparison is constant-time.
bool VerifyV1(std::string_view secret, std::string_view message_id,
              int64_t timestamp_seconds, std::string_view body,
              std::string_view header);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_WEBHOOK_SIGNATURE_H_
