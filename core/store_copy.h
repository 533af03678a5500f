// Copies everything a webhookd store holds into another, empty one: how a
// team moves from one node on embedded RocksDB to a cluster on PostgreSQL
// (and back). The source must be stopped (no node writing it).
//
//   ASSIGN_OR_RETURN(CopyReport report,
//                    CopyStore(*rocksdb, /*from_partitions=*/1,
//                              *postgres, postgres->partition_count()));
//
// Everything keeps its identity: subscriptions and their secrets, principals,
// dialects, open (prepared) transactions and their events, attempts,
// deliveries (pending ones keep their id, so receivers see the same
// `webhook-id`) and the page token key. Queue keys are rewritten for the
// target's partitioning (DeliveryQueue::PartitionOf), and with partitions
// every queued delivery's record is also written by id, as
// DeliveryQueue requires there.
#ifndef WEBHOOKS_CORE_STORE_COPY_H_
#define WEBHOOKS_CORE_STORE_COPY_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace webhooks::core {

struct CopyReport {
  // Keys written per column (storage::Column order).
  std::array<int64_t, storage::kColumnCount> keys{};
  int64_t queued_deliveries = 0;
};

// FAILED_PRECONDITION when `to` is not empty; errors of either store as
// they come (a failed copy leaves `to` partly written: empty it and run
// again).
absl::StatusOr<CopyReport> CopyStore(const storage::Store& from,
                                     int from_partitions, storage::Store& to,
                                     int to_partitions);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_STORE_COPY_H_
