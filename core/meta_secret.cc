#include "core/meta_secret.h"

#include <optional>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"

namespace webhooks::core {

absl::StatusOr<std::string> LoadOrCreateMetaSecret(storage::Store* store,
                                                   RandomSource* random,
                                                   std::string_view name,
                                                   size_t size) {
  using storage::Column;
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   store->Get(Column::kMeta, name));
  if (stored.has_value() && stored->size() == size) return *std::move(stored);
  storage::WriteBatch batch;
  // Only if still what was read.
  if (stored.has_value()) {
    batch.Expect(Column::kMeta, name, *stored);
  } else {
    batch.Expect(Column::kMeta, name, std::nullopt);
  }
  batch.Put(Column::kMeta, name, random->Bytes(size));
  absl::Status written = store->Write(batch);
  if (!written.ok() && !storage::IsExpectationFailure(written)) return written;
  ASSIGN_OR_RETURN(stored, store->Get(Column::kMeta, name));
  if (!stored.has_value() || stored->size() != size) {
    return absl::InternalError(StrCat("storage: ", name, " not kept"));
  }
  return *std::move(stored);
}

}  // namespace webhooks::core
