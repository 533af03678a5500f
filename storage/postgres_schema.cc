// PostgresStore's migrations. The SQL keeps to what CockroachDB and
// YugabyteDB also run, except (PostgreSQL-only, to revisit for them):
//   - LOCK TABLE ... IN ACCESS EXCLUSIVE MODE (serializes migrations);
//   - SET synchronous_commit (pg_connection.cc; harmless to drop elsewhere);
//   - FOR UPDATE SKIP LOCKED (lease claims; CockroachDB has it since 23.1).
#include "storage/postgres_schema.h"

#include <string>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/cluster_store.h"

namespace webhooks::storage::pg {

std::string TableName(Column column) {
  return StrCat("webhookd_kv_", ColumnName(column));
}

const ColumnStatements& StatementsFor(Column column) {
  static const auto* const all = [] {
    auto* out = new std::vector<ColumnStatements>();
    for (Column c : AllColumns()) {
      const std::string t = TableName(c);
      const std::string n = StrCat("c", static_cast<int>(c), "_");
      const std::string page = " ORDER BY k LIMIT ";
      out->push_back(ColumnStatements{
          .get = {n + "get", StrCat("SELECT v FROM ", t, " WHERE k = $1::bytea")},
          .get_many = {n + "get_many",
                       StrCat("SELECT k, v FROM ", t,
                              " WHERE k = ANY($1::bytea[])")},
          .upsert = {n + "upsert",
                     StrCat("INSERT INTO ", t, " (k, v) SELECT * FROM "
                            "unnest($1::bytea[], $2::bytea[]) "
                            "ON CONFLICT (k) DO UPDATE SET v = excluded.v")},
          .erase = {n + "erase",
                    StrCat("DELETE FROM ", t, " WHERE k = ANY($1::bytea[])")},
          .lock = {n + "lock", StrCat("SELECT v FROM ", t,
                                      " WHERE k = $1::bytea FOR UPDATE")},
          .claim_absent = {n + "claim",
                           StrCat("INSERT INTO ", t, " (k, v) VALUES "
                                  "($1::bytea, '') ON CONFLICT (k) DO NOTHING "
                                  "RETURNING k")},
          .scan_from = {n + "scan_from",
                        StrCat("SELECT k, v FROM ", t, " WHERE k >= $1::bytea",
                               page, "$2::bigint")},
          .scan_from_to = {n + "scan_from_to",
                           StrCat("SELECT k, v FROM ", t,
                                  " WHERE k >= $1::bytea AND k < $2::bytea",
                                  page, "$3::bigint")},
          .scan_after = {n + "scan_after",
                         StrCat("SELECT k, v FROM ", t, " WHERE k > $1::bytea",
                                page, "$2::bigint")},
          .scan_after_to = {n + "scan_after_to",
                            StrCat("SELECT k, v FROM ", t,
                                   " WHERE k > $1::bytea AND k < $2::bytea",
                                   page, "$3::bigint")},
          .scan_ranges = {n + "scan_ranges",
                          StrCat("SELECT r.i, q.k, q.v FROM unnest($1::bytea[], "
                                 "$2::bytea[], $3::bigint[]) WITH ORDINALITY "
                                 "AS r(s, e, l, i) CROSS JOIN LATERAL "
                                 "(SELECT k, v FROM ", t,
                                 " WHERE k >= r.s AND k < r.e", page,
                                 "r.l) q ORDER BY r.i, q.k")},
          .count = {n + "count", StrCat("SELECT count(*) FROM ", t)},
      });
    }
    return out;
  }();
  return (*all)[static_cast<size_t>(column)];
}

int ColumnSchemaVersion(Column column) {
  switch (column) {
    case Column::kApiKeys:
      return 2;
    case Column::kDeliveryOrder:
      return 3;
    default:
      return 1;
  }
}

std::vector<std::string> MigrationStatements(int version, int partitions) {
  std::vector<std::string> out;
  for (Column column : AllColumns()) {
    if (ColumnSchemaVersion(column) != version) continue;
    out.push_back(StrCat("CREATE TABLE ", TableName(column),
                         " (k bytea PRIMARY KEY, v bytea NOT NULL)"));
  }
  if (version == 1) {
    out.push_back(
        "CREATE TABLE webhookd_meta (name text PRIMARY KEY, "
        "value bigint NOT NULL)");
    out.push_back(StrCat(
        "INSERT INTO webhookd_meta (name, value) VALUES ('partitions', ",
        partitions, ")"));
    out.push_back(
        "CREATE TABLE webhookd_changes (seq bigint PRIMARY KEY, "
        "col smallint NOT NULL, k bytea NOT NULL, "
        "committed_at timestamptz NOT NULL DEFAULT now())");
    out.push_back(
        "CREATE INDEX webhookd_changes_committed_at "
        "ON webhookd_changes (committed_at)");
    out.push_back(
        "CREATE TABLE webhookd_change_counter (id smallint PRIMARY KEY, "
        "seq bigint NOT NULL)");
    out.push_back("INSERT INTO webhookd_change_counter (id, seq) VALUES (1, 0)");
    out.push_back(
        "CREATE TABLE webhookd_nodes (node_id text PRIMARY KEY, "
        "heartbeat_at timestamptz NOT NULL)");
    out.push_back(
        "CREATE TABLE webhookd_leases (partition int PRIMARY KEY, "
        "owner text, epoch bigint NOT NULL DEFAULT 0, expires_at timestamptz)");
    out.push_back(StrCat(
        "INSERT INTO webhookd_leases (partition) SELECT generate_series(0, ",
        partitions - 1, ")"));
  }
  return out;
}

absl::StatusOr<int> Migrate(Connection& conn, int partitions) {
  if (partitions <= 0 || partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(
        StrCat("postgres: partitions must be between 1 and ", kMaxPartitions,
               " (got ", partitions, ")"));
  }
  // Concurrent CREATE TABLE IF NOT EXISTS can collide on the catalog
  // (unique violation) while the other creator commits: try again.
  const Statement create[] = {
      {"", "CREATE TABLE IF NOT EXISTS webhookd_schema (version int NOT NULL)",
       {}}};
  absl::Status created;
  for (int attempt = 0; attempt < 5; ++attempt) {
    created = conn.Run(create).status();
    if (created.ok() || absl::IsUnavailable(created)) break;
  }
  RETURN_IF_ERROR(created);

  const Statement lock[] = {
      {"", "BEGIN", {}},
      {"", "LOCK TABLE webhookd_schema IN ACCESS EXCLUSIVE MODE", {}},
      {"", "SELECT coalesce(max(version), 0)::bigint FROM webhookd_schema", {}},
  };
  ASSIGN_OR_RETURN(std::vector<Result> locked, conn.Run(lock));
  const int64_t found = locked[2].Int64(0, 0);
  if (found > kSchemaVersion) {
    conn.Rollback();
    return absl::FailedPreconditionError(StrCat(
        "postgres: the database has schema version ", found,
        ", newer than version ", kSchemaVersion,
        " that this webhookd knows; upgrade webhookd"));
  }
  std::vector<std::string> sql;
  for (int version = static_cast<int>(found) + 1; version <= kSchemaVersion;
       ++version) {
    for (std::string& s : MigrationStatements(version, partitions)) {
      sql.push_back(std::move(s));
    }
  }
  if (found < kSchemaVersion) {
    sql.push_back("DELETE FROM webhookd_schema");
    sql.push_back(StrCat("INSERT INTO webhookd_schema (version) VALUES (",
                         kSchemaVersion, ")"));
  }
  sql.push_back(
      "SELECT value FROM webhookd_meta WHERE name = 'partitions'");
  sql.push_back("COMMIT");
  std::vector<Statement> statements;
  for (const std::string& s : sql) statements.push_back({"", s, {}});
  absl::StatusOr<std::vector<Result>> done = conn.Run(statements);
  if (!done.ok()) {
    conn.Rollback();
    return done.status();
  }
  const Result& meta = (*done)[done->size() - 2];
  if (meta.rows() != 1) {
    return absl::DataLossError("postgres: webhookd_meta has no partition count");
  }
  return static_cast<int>(meta.Int64(0, 0));
}

}  // namespace webhooks::storage::pg
