// webhookd_copy: copies every key of a stopped webhookd's store into a new,
// empty one — embedded RocksDB into PostgreSQL when one node grows into a
// cluster, or back.
//
//   webhookd_copy --from=rocksdb:./data --to=postgres:"dbname=webhookd"
//   webhookd_copy --from=postgres:"host=db dbname=webhookd" --to=rocksdb:./data2
//
// Stop every node first: a RocksDB directory in use is refused (its lock),
// and nodes writing a PostgreSQL source while it is copied would leave the
// copy behind. The target must be empty. Prints what it copied.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "common/strings.h"
#include "core/store_copy.h"
#include "storage/postgres_store.h"
#include "storage/rocksdb_store.h"

ABSL_FLAG(std::string, from, "",
          "The source store: rocksdb:<data directory> or postgres:<libpq DSN>.");
ABSL_FLAG(std::string, to, "",
          "The target store, empty: rocksdb:<directory> or postgres:<DSN>.");
ABSL_FLAG(int, partitions, 64,
          "Delivery queue partitions of a PostgreSQL target that is set up "
          "by this copy.");

namespace {

struct Opened {
  webhooks::storage::StorePtr store;
  int partitions = 1;
};

absl::StatusOr<Opened> Open(const std::string& flag, const std::string& spec) {
  using webhooks::StrCat;
  if (absl::StartsWith(spec, "rocksdb:")) {
    absl::StatusOr<webhooks::storage::StorePtr> store =
        webhooks::storage::RocksDbStore::Open({.path = spec.substr(8)});
    if (!store.ok()) return store.status();
    return Opened{*std::move(store), 1};
  }
  if (absl::StartsWith(spec, "postgres:")) {
    webhooks::storage::PostgresOptions options;
    options.dsn = spec.substr(9);
    options.partitions = absl::GetFlag(FLAGS_partitions);
    absl::StatusOr<std::unique_ptr<webhooks::storage::PostgresStore>> store =
        webhooks::storage::PostgresStore::Open(options);
    if (!store.ok()) return store.status();
    const int partitions = (*store)->partition_count();
    return Opened{webhooks::storage::StorePtr(*std::move(store)), partitions};
  }
  return absl::InvalidArgumentError(
      StrCat("--", flag, " must be rocksdb:<directory> or postgres:<DSN>"));
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "webhookd_copy: %s\n", std::string(status.ToString()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Copies a stopped webhookd store into a new, empty one.\n"
      "  webhookd_copy --from=rocksdb:./data --to=postgres:\"dbname=webhookd\"");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<Opened> from = Open("from", absl::GetFlag(FLAGS_from));
  if (!from.ok()) return Fail(from.status());
  absl::StatusOr<Opened> to = Open("to", absl::GetFlag(FLAGS_to));
  if (!to.ok()) return Fail(to.status());
  absl::StatusOr<webhooks::core::CopyReport> report =
      webhooks::core::CopyStore(*from->store, from->partitions, *to->store,
                                to->partitions);
  if (!report.ok()) return Fail(report.status());
  for (webhooks::storage::Column column : webhooks::storage::AllColumns()) {
    std::printf("%s: %lld keys\n",
                std::string(webhooks::storage::ColumnName(column)).c_str(),
                static_cast<long long>(report->keys[static_cast<int>(column)]));
  }
  std::printf("pending deliveries: %lld\n",
              static_cast<long long>(report->queued_deliveries));
  return 0;
}
