// Opaque page tokens for List calls. A token carries the last key returned
// and a fingerprint of the request's filters, so a token cannot be replayed
// with different filters, and an HMAC-SHA256 tag (128 bits) under the
// store's page-token key, so a token cannot be made up or changed.
//
//   RETURN_IF_ERROR(LoadPageTokenKey(store, random));  // once, at start-up
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
#include "common/random.h"
#include "storage/store.h"

namespace webhooks::core {

// A stable 64-bit fingerprint (FNV-1a) of the request parts; each part is
// length-prefixed so ("ab","c") and ("a","bc") differ.
uint64_t RequestFingerprint(const std::vector<std::string_view>& parts);

// Makes the key that signs page tokens the store's (kMeta "page_token_key",
// created from `random` the first time), so that tokens stay good across
// restarts and between servers sharing the store. Until it is called the
// key is random per process.
absl::Status LoadPageTokenKey(storage::Store* store, RandomSource* random);

// URL-safe base64 of a version byte, the fingerprint, the key and the tag.
std::string EncodePageToken(uint64_t fingerprint, std::string_view last_key);

// The last key of the token. Empty token: empty key (first page).
// INVALID_ARGUMENT naming `field` when the token is malformed, was not
// signed with this key, or was issued for a request with another fingerprint.
absl::StatusOr<std::string> DecodePageToken(std::string_view field,
                                            std::string_view token,
                                            uint64_t fingerprint);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_PAGE_TOKEN_H_
