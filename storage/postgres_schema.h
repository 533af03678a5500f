// The PostgreSQL schema of PostgresStore, as versioned migrations of SQL
// text, and the code that applies them at Open (one node at a time).
//
// Tables: one per Column ("webhookd_kv_<ColumnName>", k bytea primary key,
// v bytea: bytea compares bytewise, as RocksDB's comparator does), plus
// webhookd_schema (the version), webhookd_meta (the partition count),
// webhookd_changes and webhookd_change_counter (the change feed),
// webhookd_nodes (heartbeats) and webhookd_leases (one row per partition).
#ifndef WEBHOOKS_STORAGE_POSTGRES_SCHEMA_H_
#define WEBHOOKS_STORAGE_POSTGRES_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/pg_connection.h"
#include "storage/store.h"

namespace webhooks::storage::pg {

// The newest schema version this build knows. 2 added api_keys, 3
// delivery_order.
inline constexpr int kSchemaVersion = 3;

// The schema version that created `column`'s table.
int ColumnSchemaVersion(Column column);

// The table holding `column`: "webhookd_kv_<ColumnName(column)>".
std::string TableName(Column column);

// The prepared statements PostgresStore runs on one column's table, each
// with its name (unique per column).
struct NamedSql {
  std::string name;
  std::string sql;
};
struct ColumnStatements {
  NamedSql get;           // $1 key -> v
  NamedSql get_many;      // $1 keys[] -> k, v of those present
  NamedSql upsert;        // $1 keys[], $2 values[]
  NamedSql erase;         // $1 keys[]
  NamedSql lock;          // $1 key -> v, FOR UPDATE
  NamedSql claim_absent;  // $1 key: inserts a placeholder -> k if absent
  // Pages of a scan, ordered by k, $last param the page size:
  NamedSql scan_from;         // k >= $1
  NamedSql scan_from_to;      // k >= $1 AND k < $2
  NamedSql scan_after;        // k > $1
  NamedSql scan_after_to;     // k > $1 AND k < $2
  // Ranges: $1 starts[], $2 ends[], $3 limits[] -> i (the range's place,
  // from 1), k, v; by i, then k.
  NamedSql scan_ranges;
  NamedSql count;             // -> the number of keys
};
// Those of `column` (a valid Column).
const ColumnStatements& StatementsFor(Column column);

// The statements that take a database from version `version - 1` to
// `version` (1 creates everything of then; `partitions` lease rows).
std::vector<std::string> MigrationStatements(int version, int partitions);

// Brings the database up to kSchemaVersion under an exclusive lock of
// webhookd_schema (concurrent callers wait, then find it done), and returns
// the partition count stored in it. FAILED_PRECONDITION when the database
// has a newer schema than kSchemaVersion.
absl::StatusOr<int> Migrate(Connection& conn, int partitions);

}  // namespace webhooks::storage::pg

#endif  // WEBHOOKS_STORAGE_POSTGRES_SCHEMA_H_
