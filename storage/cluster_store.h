// What a store shared by several webhookd nodes adds to storage::Store:
// a change feed (so every node's in-memory index learns of the changes other
// nodes make) and partition leases with node membership (so each slice of
// the delivery queue has one owner at a time). PostgresStore implements it;
// the embedded stores do not need it (one process owns them).
//
//   ClusterStore* cluster = ...;  // the same object as the Store
//   ASSIGN_OR_RETURN(ChangeBatch batch, cluster->ChangesAfter(seen, 1000));
//   ASSIGN_OR_RETURN(int live, cluster->Heartbeat("node-a", ttl));
//   ASSIGN_OR_RETURN(auto held, cluster->RenewLeases("node-a", ttl));
//
// Times (heartbeats, lease expiry) are the database's clock, never a node's,
// so nodes need not agree on the time. Thread-safe.
#ifndef WEBHOOKS_STORAGE_CLUSTER_STORE_H_
#define WEBHOOKS_STORAGE_CLUSTER_STORE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/store.h"

namespace webhooks::storage {

// The columns whose every Put and Delete is recorded in the change feed, in
// the same transaction as the write.
inline bool IsFedColumn(Column column) {
  return column == Column::kSubscriptions || column == Column::kPrincipals ||
         column == Column::kDialects || column == Column::kApiKeys;
}

// One recorded write: the key changed; read it to see how.
struct Change {
  uint64_t seq = 0;
  Column column = Column::kSubscriptions;
  std::string key;
};

struct ChangeBatch {
  // In sequence order, every seq above the `after` asked for, with no gap:
  // sequence numbers are taken in commit order (a writer holds the counter
  // until it commits), so a change that commits later never has a smaller
  // seq than one a reader has already seen.
  std::vector<Change> changes;
  // The feed no longer holds every change after `after` (trimmed): the
  // reader must reload everything it mirrors, then go on from `latest`.
  bool gap = false;
  // The newest seq committed when the batch was read.
  uint64_t latest = 0;
};

// A partition of the delivery queue held by a node. The epoch grows by one
// at every change of owner.
struct PartitionLease {
  int partition = 0;
  int64_t epoch = 0;
};

// A lease row as stored, for operators and tests.
struct LeaseRow {
  int partition = 0;
  std::string owner;  // empty: free
  int64_t epoch = 0;
  absl::Duration expires_in;  // negative: expired
};

// The most delivery queue partitions a database may have: a queue key
// begins with its partition in two bytes.
inline constexpr int kMaxPartitions = 1 << 16;

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // The number of delivery queue partitions, fixed when the database was
  // created.
  virtual int partition_count() const = 0;

  // Change feed.
  virtual absl::StatusOr<ChangeBatch> ChangesAfter(uint64_t after,
                                                   int limit) const = 0;
  // Forgets changes older than `keep` (always keeping the newest). Returns
  // how many it removed.
  virtual absl::StatusOr<int64_t> TrimChanges(absl::Duration keep) = 0;

  // Membership: records that `node_id` is alive now, and returns how many
  // nodes (itself included) have done so within `ttl`.
  virtual absl::StatusOr<int> Heartbeat(std::string_view node_id,
                                        absl::Duration ttl) = 0;
  // Extends every lease `node_id` holds to `ttl` from now and returns them.
  // A lease that expired and was taken by another node is not returned.
  virtual absl::StatusOr<std::vector<PartitionLease>> RenewLeases(
      std::string_view node_id, absl::Duration ttl) = 0;
  // Takes up to `max_count` partitions that are free or whose lease has
  // expired, for `ttl`, and returns them (epoch incremented).
  virtual absl::StatusOr<std::vector<PartitionLease>> ClaimLeases(
      std::string_view node_id, int max_count, absl::Duration ttl) = 0;
  // Gives up the named partitions if `node_id` holds them.
  virtual absl::Status ReleaseLeases(std::string_view node_id,
                                     const std::vector<int>& partitions) = 0;
  // Releases every lease of `node_id` and forgets its heartbeat.
  virtual absl::Status Leave(std::string_view node_id) = 0;
  // Every lease row, by partition.
  virtual absl::StatusOr<std::vector<LeaseRow>> ListLeases() const = 0;

  // For metrics and benchmarks: network round trips made to the database so
  // far (one per pipeline sent), and transactions committed. 0 when not
  // counted.
  virtual int64_t round_trips() const { return 0; }
  virtual int64_t commits() const { return 0; }
};

}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_CLUSTER_STORE_H_
