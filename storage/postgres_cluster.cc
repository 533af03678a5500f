// PostgresStore as a ClusterStore: the change feed, heartbeats and
// partition leases. Every time is the database's (now()), never a node's.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/pg_connection.h"
#include "storage/postgres_store.h"

namespace webhooks::storage {
namespace {

// A duration as microseconds, for "$n::bigint * interval '1 microsecond'".
pg::Param Micros(absl::Duration d) {
  return pg::Param::Int64(absl::ToInt64Microseconds(d));
}

constexpr char kInterval[] = "::bigint * interval '1 microsecond'";

// One snapshot: the counter (the newest committed seq) and the changes
// after $1, in order.
constexpr char kChangesSql[] =
    "SELECT c.seq, ch.seq, ch.col::bigint, ch.k "
    "FROM webhookd_change_counter c LEFT JOIN LATERAL ("
    "SELECT seq, col, k FROM webhookd_changes WHERE seq > $1::bigint "
    "ORDER BY seq LIMIT $2::bigint) ch ON true "
    "WHERE c.id = 1 ORDER BY ch.seq";

std::vector<PartitionLease> Leases(const pg::Result& r) {
  std::vector<PartitionLease> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(PartitionLease{static_cast<int>(r.Int64(i, 0)),
                                 r.Int64(i, 1)});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.partition < b.partition; });
  return out;
}

}  // namespace

absl::StatusOr<ChangeBatch> PostgresStore::ChangesAfter(uint64_t after,
                                                        int limit) const {
  const pg::Statement statements[] = {
      {"changes_after",
       kChangesSql,
       {pg::Param::Int64(static_cast<int64_t>(after)),
        pg::Param::Int64(std::max(limit, 1))}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  const pg::Result& r = results[0];
  if (r.rows() == 0) {
    return absl::DataLossError("postgres: webhookd_change_counter is empty");
  }
  ChangeBatch batch;
  batch.latest = static_cast<uint64_t>(r.Int64(0, 0));
  for (int i = 0; i < r.rows(); ++i) {
    if (r.IsNull(i, 1)) continue;  // the LEFT JOIN's row when none follow
    Change change;
    change.seq = static_cast<uint64_t>(r.Int64(i, 1));
    change.column = static_cast<Column>(r.Int64(i, 2));
    change.key = std::string(r.Value(i, 3));
    batch.changes.push_back(std::move(change));
  }
  if (limit <= 0) batch.changes.clear();
  // Sequence numbers have no holes, so a missing after + 1 was trimmed.
  if (after > batch.latest) {
    batch.gap = true;
  } else if (after < batch.latest) {
    batch.gap = !r.IsNull(0, 1) ? static_cast<uint64_t>(r.Int64(0, 1)) !=
                                      after + 1
                                : true;
  }
  return batch;
}

absl::StatusOr<int64_t> PostgresStore::TrimChanges(absl::Duration keep) {
  const std::string sql = StrCat(
      "DELETE FROM webhookd_changes WHERE committed_at < now() - $1",
      kInterval,
      " AND seq < (SELECT max(seq) FROM webhookd_changes)");
  const pg::Statement statements[] = {{"trim_changes", sql, {Micros(keep)}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  return results[0].affected();
}

absl::StatusOr<int> PostgresStore::Heartbeat(std::string_view node_id,
                                             absl::Duration ttl) {
  // The CTE's insert is invisible to the count: count the others, plus one.
  const std::string sql = StrCat(
      "WITH up AS (INSERT INTO webhookd_nodes (node_id, heartbeat_at) "
      "VALUES ($1::text, now()) ON CONFLICT (node_id) DO UPDATE SET "
      "heartbeat_at = now() RETURNING node_id) "
      "SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM "
      "webhookd_nodes WHERE node_id <> $1::text AND heartbeat_at > now() - $2",
      kInterval, ")");
  const pg::Statement statements[] = {
      {"heartbeat", sql, {pg::Param::Text(node_id), Micros(ttl)}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  return static_cast<int>(results[0].Int64(0, 0));
}

absl::StatusOr<std::vector<PartitionLease>> PostgresStore::RenewLeases(
    std::string_view node_id, absl::Duration ttl) {
  const std::string sql = StrCat(
      "UPDATE webhookd_leases SET expires_at = now() + $2", kInterval,
      " WHERE owner = $1::text RETURNING partition::bigint, epoch");
  const pg::Statement statements[] = {
      {"renew_leases", sql, {pg::Param::Text(node_id), Micros(ttl)}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  return Leases(results[0]);
}

absl::StatusOr<std::vector<PartitionLease>> PostgresStore::ClaimLeases(
    std::string_view node_id, int max_count, absl::Duration ttl) {
  if (max_count <= 0) return std::vector<PartitionLease>();
  // SKIP LOCKED: concurrent claimers take different rows; a row another
  // claimer took meanwhile fails the re-checked WHERE.
  const std::string sql = StrCat(
      "UPDATE webhookd_leases SET owner = $1::text, epoch = epoch + 1, "
      "expires_at = now() + $3",
      kInterval,
      " WHERE partition IN (SELECT partition FROM webhookd_leases "
      "WHERE owner IS NULL OR expires_at IS NULL OR expires_at < now() "
      "ORDER BY partition LIMIT $2::bigint FOR UPDATE SKIP LOCKED) "
      "AND (owner IS NULL OR expires_at IS NULL OR expires_at < now()) "
      "RETURNING partition::bigint, epoch");
  const pg::Statement statements[] = {
      {"claim_leases",
       sql,
       {pg::Param::Text(node_id), pg::Param::Int64(max_count), Micros(ttl)}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/false));
  return Leases(results[0]);
}

absl::Status PostgresStore::ReleaseLeases(std::string_view node_id,
                                          const std::vector<int>& partitions) {
  if (partitions.empty()) return absl::OkStatus();
  const std::vector<int64_t> ids(partitions.begin(), partitions.end());
  const pg::Statement statements[] = {
      {"release_leases",
       "UPDATE webhookd_leases SET owner = NULL, "
       "expires_at = now() - interval '1 second' "
       "WHERE owner = $1::text AND partition = ANY($2::bigint[])",
       {pg::Param::Text(node_id), pg::Param::Int64Array(ids)}}};
  return RunPooled(statements, /*idempotent=*/true).status();
}

absl::Status PostgresStore::Leave(std::string_view node_id) {
  const pg::Statement statements[] = {
      {"", "BEGIN", {}},
      {"leave_leases",
       "UPDATE webhookd_leases SET owner = NULL, "
       "expires_at = now() - interval '1 second' WHERE owner = $1::text",
       {pg::Param::Text(node_id)}},
      {"leave_node",
       "DELETE FROM webhookd_nodes WHERE node_id = $1::text",
       {pg::Param::Text(node_id)}},
      {"", "COMMIT", {}},
  };
  return RunPooled(statements, /*idempotent=*/true).status();
}

absl::StatusOr<std::vector<LeaseRow>> PostgresStore::ListLeases() const {
  const pg::Statement statements[] = {
      {"list_leases",
       "SELECT partition::bigint, coalesce(owner, ''), epoch, "
       "coalesce((extract(epoch FROM (expires_at - now())) * 1000000)::bigint, "
       "-1) FROM webhookd_leases ORDER BY partition",
       {}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  const pg::Result& r = results[0];
  std::vector<LeaseRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(LeaseRow{static_cast<int>(r.Int64(i, 0)),
                           std::string(r.Value(i, 1)), r.Int64(i, 2),
                           absl::Microseconds(r.Int64(i, 3))});
  }
  return out;
}

}  // namespace webhooks::storage
