// A Store that forwards to another and can turn synced writes into unsynced
// ones: ingest_bench populates 100k subscriptions through the real domain
// code without paying a WAL sync for each, then turns syncing back on
// before anything is measured.
//
//   SetupStore store(std::move(rocksdb));
//   store.set_sync(false);  // the default
//   ... populate ...
//   store.set_sync(true);   // writes are durable again
#ifndef WEBHOOKS_BENCH_SETUP_STORE_H_
#define WEBHOOKS_BENCH_SETUP_STORE_H_

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "storage/store.h"

namespace webhooks::bench {

class SetupStore final : public storage::Store {
 public:
  explicit SetupStore(storage::StorePtr inner) : inner_(std::move(inner)) {}

  // false: every write is unsynced, whatever its options say.
  void set_sync(bool sync) { sync_.store(sync); }

  absl::StatusOr<std::optional<std::string>> Get(
      storage::Column column, std::string_view key) const override {
    return inner_->Get(column, key);
  }
  absl::Status Write(const storage::WriteBatch& batch,
                     storage::WriteOptions options) override {
    if (!sync_.load(std::memory_order_relaxed)) options.sync = false;
    return inner_->Write(batch, options);
  }
  absl::Status Scan(storage::Column column, std::string_view start,
                    std::string_view end,
                    storage::ScanVisitor visitor) const override {
    return inner_->Scan(column, start, end, visitor);
  }

 private:
  storage::StorePtr inner_;
  std::atomic<bool> sync_{false};
};

}  // namespace webhooks::bench

#endif  // WEBHOOKS_BENCH_SETUP_STORE_H_
