// Server-side secrets kept in the store's kMeta column (the page-token key,
// the API-key pepper): created from a CSPRNG the first time, then read, so
// they stay the same across restarts and between nodes sharing the store.
//
//   ASSIGN_OR_RETURN(std::string key,
//                    LoadOrCreateMetaSecret(store, random, "page_token_key", 32));
#ifndef WEBHOOKS_CORE_META_SECRET_H_
#define WEBHOOKS_CORE_META_SECRET_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "storage/store.h"

namespace webhooks::core {

// The `size` bytes stored at kMeta/`name`; written from `random` when absent
// (or of another size). Of nodes starting together on one shared store, one
// writes it and the others read it.
absl::StatusOr<std::string> LoadOrCreateMetaSecret(storage::Store* store,
                                                   RandomSource* random,
                                                   std::string_view name,
                                                   size_t size);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_META_SECRET_H_
