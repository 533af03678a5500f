// The cluster-mode Store: PostgreSQL 15 (through libpq), shared by every
// webhookd node given the same DSN. It is also the ClusterStore (change
// feed, membership, partition leases) of those nodes.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<PostgresStore> store,
//                    PostgresStore::Open({.dsn = "postgresql://db/webhookd"}));
//
// Write is durable (committed with synchronous_commit on) when it returns
// OK. Concurrent unconditional Writes share one transaction (group commit);
// a batch with expectations runs in its own, locking each expected key
// (SELECT ... FOR UPDATE, or a placeholder row for an expected-absent key)
// until it commits. Every Put/Delete of a fed column (IsFedColumn) adds a row
// to the change feed in the same transaction, numbered from one counter row
// that the transaction holds until it commits: sequence order is commit
// order.
//
// Errors: UNAVAILABLE while the database cannot be reached, is shutting
// down or starting up, or is read-only (a standby after a failover); a
// connection that broke is replaced on next use, re-running libpq's choice
// among the DSN's hosts (target_session_attrs=read-write finds the new
// primary). A Write whose COMMIT was sent but not answered is UNAVAILABLE
// (it may or may not have applied). RESOURCE_EXHAUSTED when the disk is
// full; serialization failures and deadlocks are retried, then ABORTED.
//
// The files: postgres_store.cc (Open, Store), postgres_write.cc (Write),
// postgres_cluster.cc (ClusterStore), postgres_schema.cc (migrations),
// pg_connection.cc (libpq; the only file that includes it).
#ifndef WEBHOOKS_STORAGE_POSTGRES_STORE_H_
#define WEBHOOKS_STORAGE_POSTGRES_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/cluster_store.h"
#include "storage/pg_connection.h"
#include "storage/store.h"

namespace webhooks::storage {

struct PostgresOptions {
  // libpq connection string, passed as is: "postgresql://..." or key=value
  // words, including several hosts ("host=a,b port=5432,5432
  // target_session_attrs=read-write").
  std::string dsn;
  // Delivery queue partitions; used only when Open creates the schema.
  int partitions = 64;
  // Connections kept open at most.
  int pool_size = 8;
  // Per host tried, rounded up to whole seconds (at least 2, libpq's floor).
  absl::Duration connect_timeout = absl::Seconds(5);
  // The server cancels a statement running longer.
  absl::Duration statement_timeout = absl::Seconds(30);
  // Test hook: called by Write after a batch's statements (and its change
  // feed sequence numbers) are in, before its COMMIT is sent.
  std::function<void()> before_commit_for_test = nullptr;
};

class PostgresStore final : public Store, public ClusterStore {
 public:
  // Connects, and creates or migrates the schema (one node at a time).
  // UNAVAILABLE when the database cannot be reached; FAILED_PRECONDITION
  // when its schema is newer than this build knows.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(
      const PostgresOptions& options);
  ~PostgresStore() override;

  // Store.
  absl::StatusOr<std::optional<std::string>> Get(
      Column column, std::string_view key) const override;
  absl::Status Write(const WriteBatch& batch,
                     WriteOptions options = {}) override;
  absl::Status Scan(Column column, std::string_view start, std::string_view end,
                    ScanVisitor visitor) const override;
  // Every range in one round trip (a pipeline of one SELECT per range).
  absl::Status ScanRanges(Column column, std::span<const ScanRange> ranges,
                          RangeVisitor visitor) const override;
  // One statement: k = ANY($1).
  absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      Column column, std::span<const std::string> keys) const override;
  absl::StatusOr<int64_t> Count(Column column) const override;
  absl::Status Check() const override;

  // ClusterStore.
  int partition_count() const override { return partitions_; }
  // `gap` is true when some change after `after` is no longer in the feed
  // (trimmed), or when `after` is beyond the newest change (the feed was
  // reset, e.g. a restored database).
  absl::StatusOr<ChangeBatch> ChangesAfter(uint64_t after,
                                           int limit) const override;
  absl::StatusOr<int64_t> TrimChanges(absl::Duration keep) override;
  absl::StatusOr<int> Heartbeat(std::string_view node_id,
                                absl::Duration ttl) override;
  // Renews the rows whose owner is `node_id`, expired or not: the owner
  // changes only when another node claims an expired row, so a row still
  // naming this node was never held by anyone else meanwhile.
  absl::StatusOr<std::vector<PartitionLease>> RenewLeases(
      std::string_view node_id, absl::Duration ttl) override;
  absl::StatusOr<std::vector<PartitionLease>> ClaimLeases(
      std::string_view node_id, int max_count, absl::Duration ttl) override;
  absl::Status ReleaseLeases(std::string_view node_id,
                             const std::vector<int>& partitions) override;
  absl::Status Leave(std::string_view node_id) override;
  absl::StatusOr<std::vector<LeaseRow>> ListLeases() const override;

  // For benchmarks and tests: network round trips made (one per pipeline
  // sent), and transactions committed.
  int64_t round_trips() const override { return round_trips_.load(); }
  int64_t commits() const override { return commits_.load(); }

 private:
  struct Pending;
  PostgresStore(const PostgresOptions& options, std::unique_ptr<pg::Pool> pool,
                int partitions);

  // Runs `statements` on `conn` (one round trip), counting it.
  absl::StatusOr<std::vector<pg::Result>> Run(
      pg::Connection& conn, std::span<const pg::Statement> statements) const;
  // The same on a pooled connection; reads retry once on a fresh connection
  // when a pooled one turns out to be dead.
  absl::StatusOr<std::vector<pg::Result>> RunPooled(
      std::span<const pg::Statement> statements, bool idempotent) const;

  // Write's two paths (postgres_write.cc).
  absl::Status WriteGrouped(const WriteBatch& batch);
  absl::Status WriteConditional(const WriteBatch& batch);
  absl::Status ApplyGroup(const std::vector<const WriteBatch*>& batches);
  absl::Status ApplyOnce(const std::vector<const WriteBatch*>& batches);
  absl::Status ApplyConditionalOnce(const WriteBatch& batch);
  // Runs `statements` (an open transaction's) then COMMIT, in one round trip
  // (two with before_commit_for_test).
  absl::Status Commit(pg::Connection& conn,
                      std::vector<pg::Statement> statements);

  const PostgresOptions options_;
  const std::unique_ptr<pg::Pool> pool_;
  const int partitions_;
  mutable std::atomic<int64_t> round_trips_{0};
  std::atomic<int64_t> commits_{0};

  // Group commit: queued unconditional batches; one leader at a time
  // applies every queued batch in one transaction.
  absl::Mutex group_mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(group_mu_);
  bool leader_active_ ABSL_GUARDED_BY(group_mu_) = false;
};

}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_POSTGRES_STORE_H_
