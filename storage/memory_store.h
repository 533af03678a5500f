// An in-memory Store for unit tests of the layers above storage. Behaves like
// RocksDbStore except that nothing survives the object.
//
//   auto store = std::make_unique<storage::MemoryStore>();
#ifndef WEBHOOKS_STORAGE_MEMORY_STORE_H_
#define WEBHOOKS_STORAGE_MEMORY_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/store.h"

namespace webhooks::storage {

class MemoryStore final : public Store {
 public:
  absl::StatusOr<std::optional<std::string>> Get(
      Column column, std::string_view key) const override;
  // `options` is accepted and ignored: nothing is durable. The default matches
  // Store::Write so that calls through a MemoryStore need not pass it.
  absl::Status Write(const WriteBatch& batch,
                     WriteOptions options = {}) override;
  // Runs `visitor` while holding the store's lock in shared mode, so the scan
  // sees one consistent state. The visitor must not call back into this store
  // (not even Get: a waiting writer blocks new readers, so it can deadlock);
  // collect what it needs and act after Scan returns.
  absl::Status Scan(Column column, std::string_view start,
                    std::string_view end, ScanVisitor visitor) const override;

  // Makes every following Write fail with `status` (OK clears it), to test
  // how callers handle storage errors.
  void FailWrites(absl::Status status);
  // Number of Writes applied so far.
  int64_t write_count() const;

 private:
  mutable absl::Mutex mu_;
  std::array<std::map<std::string, std::string, std::less<>>, kColumnCount>
      columns_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_writes_ ABSL_GUARDED_BY(mu_);
  int64_t write_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_MEMORY_STORE_H_
