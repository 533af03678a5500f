#include "server/open_store.h"

#include <utility>

#include "common/strings.h"
#include "storage/postgres_store.h"
#include "storage/rocksdb_store.h"

namespace webhooks::server {

std::string DescribeStore(const v1::ServerConfig& config) {
  if (config.storage().postgres().dsn().empty()) {
    return config.data_dir();
  }
  return "PostgreSQL (cluster mode)";
}

absl::StatusOr<storage::StorePtr> OpenStore(const v1::ServerConfig& config) {
  const v1::PostgresConfig& postgres = config.storage().postgres();
  if (postgres.dsn().empty()) {
    return storage::RocksDbStore::Open({.path = config.data_dir()});
  }
  storage::PostgresOptions options;
  options.dsn = postgres.dsn();
  if (postgres.partitions() > 0) options.partitions = postgres.partitions();
  if (postgres.pool_size() > 0) options.pool_size = postgres.pool_size();
  absl::StatusOr<std::unique_ptr<storage::PostgresStore>> store =
      storage::PostgresStore::Open(options);
  if (!store.ok()) return store.status();
  return storage::StorePtr(*std::move(store));
}

}  // namespace webhooks::server
