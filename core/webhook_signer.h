// Signs Standard Webhooks requests with a fixed set of secrets, the HMAC key
// schedule worked out once: for each secret, SHA-256 after the key XOR ipad
// and after the key XOR opad are kept, and a message only copies those two
// states and hashes its id, timestamp and body (no signed string is built,
// no digest is looked up by name, nothing is allocated but the header). The
// dispatcher keeps one per subscription while its secrets stay the same
// (issue 14's request templates).
//
//   WebhookSigner signer({subscription.secret()});
//   ASSIGN_OR_RETURN(std::string header, signer.Header(id, timestamp, body));
//
// Thread-safe after construction (Header only reads the kept states).
#ifndef WEBHOOKS_CORE_WEBHOOK_SIGNER_H_
#define WEBHOOKS_CORE_WEBHOOK_SIGNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace webhooks::core {

class WebhookSigner {
 public:
  // `secrets`: current first, then the previous one during a rotation's
  // overlap. A malformed secret is reported by Header, not here, so that a
  // dialect that does not sign never trips on it.
  explicit WebhookSigner(const std::vector<std::string>& secrets);
  ~WebhookSigner();
  WebhookSigner(const WebhookSigner&) = delete;
  WebhookSigner& operator=(const WebhookSigner&) = delete;

  // "v1,<base64> v1,<base64>": one signature per secret, in their order, of
  // "<message_id>.<timestamp_seconds>.<body>". INVALID_ARGUMENT naming
  // `secret` when a secret is not a whsec_ secret; INTERNAL when OpenSSL
  // fails.
  absl::StatusOr<std::string> Header(std::string_view message_id,
                                     int64_t timestamp_seconds,
                                     std::string_view body) const;

 private:
  struct Key;  // one secret's inner and outer states
  absl::Status status_;  // not OK: a secret is malformed (or OpenSSL failed)
  std::vector<std::unique_ptr<Key>> keys_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_WEBHOOK_SIGNER_H_
