// Client certificates that subscriptions present to receivers (mTLS): the
// checks made before one is stored. OpenSSL parses them; the curl sender
// hands the PEM text to libcurl as it is.
//
//   ASSIGN_OR_RETURN(ClientCertificateInfo info,
//                    CheckClientCertificate("subscription.client_certificate",
//                                           chain_pem, key_pem));
#ifndef WEBHOOKS_CORE_CLIENT_CERTIFICATE_H_
#define WEBHOOKS_CORE_CLIENT_CERTIFICATE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace webhooks::core {

inline constexpr size_t kMaxCertificateChainBytes = 64 << 10;
inline constexpr size_t kMaxPrivateKeyBytes = 16 << 10;

struct ClientCertificateInfo {
  std::string subject;  // of the first certificate, RFC 2253: "CN=a,O=b"
  absl::Time not_before;
  absl::Time not_after;
};

// INVALID_ARGUMENT naming "<field>.certificate_pem" or
// "<field>.private_key_pem" when either is missing or too long, the chain
// holds no PEM certificate or one that does not parse, the key is not an
// unencrypted PEM private key, or it does not belong to the first
// certificate. Expiry is not checked here (see CheckNotExpired).
absl::StatusOr<ClientCertificateInfo> CheckClientCertificate(
    std::string_view field, std::string_view certificate_pem,
    std::string_view private_key_pem);

// INVALID_ARGUMENT "<field>.certificate_pem: expired at <time>" when the
// certificate is no longer valid at `now`.
absl::Status CheckNotExpired(std::string_view field,
                             const ClientCertificateInfo& info, absl::Time now);

// Both checks, for a certificate being set (create, or an update naming it):
// OK when `certificate_pem` and `private_key_pem` are both empty (none).
absl::Status CheckNewClientCertificate(std::string_view field,
                                       std::string_view certificate_pem,
                                       std::string_view private_key_pem,
                                       absl::Time now);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_CLIENT_CERTIFICATE_H_
