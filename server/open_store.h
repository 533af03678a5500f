// Opens the store the config names: PostgreSQL (cluster mode) when
// storage.postgres.dsn is set, else embedded RocksDB in data_dir. Part of
// the webhookd binary only, which links both stores.
#ifndef WEBHOOKS_SERVER_OPEN_STORE_H_
#define WEBHOOKS_SERVER_OPEN_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "storage/store.h"
#include "webhooks/v1/config.pb.h"

namespace webhooks::server {

// A line for the start-up log: which store, where (never the DSN's
// password).
std::string DescribeStore(const v1::ServerConfig& config);

absl::StatusOr<storage::StorePtr> OpenStore(const v1::ServerConfig& config);

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_OPEN_STORE_H_
