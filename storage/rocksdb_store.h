// The real Store: one RocksDB database, one column family per Column, every
// synced write through the WAL. This header does not include RocksDB; only
// rocksdb_store.cc does.
//
//   ASSIGN_OR_RETURN(StorePtr store, RocksDbStore::Open({.path = "data"}));
#ifndef WEBHOOKS_STORAGE_ROCKSDB_STORE_H_
#define WEBHOOKS_STORAGE_ROCKSDB_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace webhooks::storage {

struct RocksDbOptions {
  // Directory of the database; created (with parents) when missing.
  std::string path;
  // Block cache for reads, in bytes.
  size_t block_cache_bytes = 64 << 20;
};

class RocksDbStore {
 public:
  // Opens or creates the database with every column family. Fails with
  // FAILED_PRECONDITION when another process holds it open, and with
  // DATA_LOSS or INTERNAL when it cannot be read.
  static absl::StatusOr<StorePtr> Open(const RocksDbOptions& options);
};

}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_ROCKSDB_STORE_H_
