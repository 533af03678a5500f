// Verifies the Standard Webhooks signature of a delivery a receiver got:
// headers webhook-id, webhook-timestamp and webhook-signature (space-separated
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" entries, any of which may
// match), keyed by the subscription's "whsec_<base64>" secret.
//
//   absl::Status ok = webhooks::client::Verify(
//       secret, {{"webhook-id", id}, {"webhook-timestamp", ts},
//                {"webhook-signature", sig}}, body);
//
// After a secret rotation the server signs with both secrets for a while;
// either verifies. Signatures are compared in constant time.
#ifndef WEBHOOKS_CLIENT_VERIFY_H_
#define WEBHOOKS_CLIENT_VERIFY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace webhooks::client {

// How far webhook-timestamp may be from now, either way, by default.
inline const absl::Duration kDefaultTolerance = absl::Minutes(5);

struct VerifyOptions {
  absl::Duration tolerance = kDefaultTolerance;
  // The time the timestamp is checked against; InfinitePast() for absl::Now().
  absl::Time now = absl::InfinitePast();
};

// The three headers' values.
struct SignatureHeaders {
  std::string_view id;
  std::string_view timestamp;
  std::string_view signature;
};

// Request headers as name/value pairs; names match in any case.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// OK when a v1 signature matches and the timestamp is within tolerance.
// Otherwise, with the reason in the message:
//   INVALID_ARGUMENT  a header is missing, the timestamp is not Unix seconds,
//                     or the secret is not (whsec_)base64;
//   OUT_OF_RANGE      the timestamp is too old or too far in the future;
//   UNAUTHENTICATED   no signature matches.
absl::Status Verify(std::string_view secret, const SignatureHeaders& headers,
                    std::string_view body, const VerifyOptions& options = {});
absl::Status Verify(std::string_view secret, const HeaderList& headers,
                    std::string_view body, const VerifyOptions& options = {});

// The "v1,<base64>" webhook-signature entry the server would send, to test
// receivers. INVALID_ARGUMENT for a malformed secret.
absl::StatusOr<std::string> Sign(std::string_view secret,
                                 std::string_view message_id, int64_t timestamp,
                                 std::string_view body);

}  // namespace webhooks::client

#endif  // WEBHOOKS_CLIENT_VERIFY_H_
