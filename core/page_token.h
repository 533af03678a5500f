// Opaque page tokens for List calls. A token carries the last key returned
// and a fingerprint of the request's filters, so a token cannot be replayed
// with different filters.
//
//   std::string token = EncodePageToken(fingerprint, last_key);
//   ASSIGN_OR_RETURN(std::string after,
//                    DecodePageToken("page_token", token, fingerprint));
#ifndef WEBHOOKS_CORE_PAGE_TOKEN_H_
#define WEBHOOKS_CORE_PAGE_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace webhooks::core {

// A stable 64-bit fingerprint (FNV-1a) of the request parts; each part is
// length-prefixed so ("ab","c") and ("a","bc") differ.
uint64_t RequestFingerprint(const std::vector<std::string_view>& parts);

// URL-safe base64 of a version byte, the fingerprint and the key.
std::string EncodePageToken(uint64_t fingerprint, std::string_view last_key);

// The last key of the token. Empty token: empty key (first page).
// INVALID_ARGUMENT naming `field` when the token is malformed or was issued
// for a request with another fingerprint.
absl::StatusOr<std::string> DecodePageToken(std::string_view field,
                                            std::string_view token,
                                            uint64_t fingerprint);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_PAGE_TOKEN_H_
