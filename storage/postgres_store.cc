// PostgresStore: Open and the reads (Get, Scan, Check). Writes are in
// postgres_write.cc, the ClusterStore in postgres_cluster.cc.
#include "storage/postgres_store.h"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/pg_connection.h"
#include "storage/postgres_schema.h"

namespace webhooks::storage {
namespace {

// Scan pages grow from the first to the largest, so a visitor that stops
// early fetches little and a long scan few pages.
constexpr int64_t kFirstScanPage = 128;
constexpr int64_t kMaxScanPage = 4096;

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const PostgresOptions& options) {
  if (options.dsn.empty()) {
    return absl::InvalidArgumentError("PostgresStore: empty dsn");
  }
  auto pool = std::make_unique<pg::Pool>(
      pg::ConnectOptions{.dsn = options.dsn,
                         .connect_timeout = options.connect_timeout,
                         .statement_timeout = options.statement_timeout},
      options.pool_size);
  int partitions = 0;
  {
    ASSIGN_OR_RETURN(pg::Pool::Handle conn, pool->Acquire());
    ASSIGN_OR_RETURN(partitions, pg::Migrate(*conn, options.partitions));
  }
  return std::unique_ptr<PostgresStore>(
      new PostgresStore(options, std::move(pool), partitions));
}

PostgresStore::PostgresStore(const PostgresOptions& options,
                             std::unique_ptr<pg::Pool> pool, int partitions)
    : options_(options), pool_(std::move(pool)), partitions_(partitions) {}

PostgresStore::~PostgresStore() = default;

absl::StatusOr<std::vector<pg::Result>> PostgresStore::Run(
    pg::Connection& conn, std::span<const pg::Statement> statements) const {
  round_trips_.fetch_add(1);
  return conn.Run(statements);
}

absl::StatusOr<std::vector<pg::Result>> PostgresStore::RunPooled(
    std::span<const pg::Statement> statements, bool idempotent) const {
  absl::StatusOr<std::vector<pg::Result>> out;
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(pg::Pool::Handle conn, pool_->Acquire());
    out = Run(*conn, statements);
    if (out.ok()) return out;
    // A dead pooled connection: once more on a new one (the pool dropped
    // the idle ones with it). Serialization failures: again.
    const bool again = pg::IsRetryable(out.status()) ||
                       (idempotent && attempt == 0 && conn->broken());
    if (!again) return out;
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> PostgresStore::Get(
    Column column, std::string_view key) const {
  if (!IsColumn(column)) return NotAColumn(column);
  const pg::NamedSql& get = pg::StatementsFor(column).get;
  const pg::Statement statements[] = {
      {get.name, get.sql, {pg::Param::Bytea(key)}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  if (results[0].rows() == 0) return std::nullopt;
  return std::string(results[0].Value(0, 0));
}

absl::Status PostgresStore::Scan(Column column, std::string_view start,
                                 std::string_view end,
                                 ScanVisitor visitor) const {
  if (!IsColumn(column)) return NotAColumn(column);
  if (!end.empty() && end <= start) return absl::OkStatus();
  const pg::ColumnStatements& sql = pg::StatementsFor(column);
  // One snapshot for every page: a read-only REPEATABLE READ transaction.
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(pg::Pool::Handle conn, pool_->Acquire());
    std::string last;
    bool first = true;
    bool done = false;
    int64_t page = kFirstScanPage;
    status = absl::OkStatus();
    while (!done) {
      std::vector<pg::Statement> statements;
      if (first) {
        statements.push_back(
            {"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
      }
      const pg::NamedSql& named =
          first ? (end.empty() ? sql.scan_from : sql.scan_from_to)
                : (end.empty() ? sql.scan_after : sql.scan_after_to);
      pg::Statement select{named.name, named.sql, {}};
      select.params.push_back(pg::Param::Bytea(first ? start : last));
      if (!end.empty()) select.params.push_back(pg::Param::Bytea(end));
      select.params.push_back(pg::Param::Int64(page));
      statements.push_back(std::move(select));
      absl::StatusOr<std::vector<pg::Result>> results = Run(*conn, statements);
      if (!results.ok()) {
        status = results.status();
        break;
      }
      const pg::Result& rows = results->back();
      for (int r = 0; r < rows.rows(); ++r) {
        if (!visitor(rows.Value(r, 0), rows.Value(r, 1))) {
          done = true;
          break;
        }
      }
      if (rows.rows() < page) done = true;
      if (!done) last = std::string(rows.Value(rows.rows() - 1, 0));
      first = false;
      page = std::min(page * 4, kMaxScanPage);
    }
    if (status.ok()) {
      const pg::Statement commit[] = {{"", "COMMIT", {}}};
      status = Run(*conn, commit).status();
      return status;
    }
    // Retry only when nothing was visited: a dead pooled connection.
    if (!first || !conn->broken()) return status;
  }
  return status;
}

absl::Status PostgresStore::ScanRanges(Column column,
                                       std::span<const ScanRange> ranges,
                                       RangeVisitor visitor) const {
  if (!IsColumn(column)) return NotAColumn(column);
  const pg::ColumnStatements& sql = pg::StatementsFor(column);
  std::vector<size_t> range_of;  // the ranges read, in order
  bool bounded = true;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const ScanRange& range = ranges[i];
    if (range.limit <= 0 || (!range.end.empty() && range.end <= range.start)) {
      continue;
    }
    range_of.push_back(i);
    bounded = bounded && !range.end.empty();
  }
  if (range_of.empty()) return absl::OkStatus();
  if (bounded) {
    // One statement for them all: the server starts one query, not one per
    // range.
    std::vector<std::string_view> starts, ends;
    std::vector<int64_t> limits;
    for (size_t i : range_of) {
      starts.push_back(ranges[i].start);
      ends.push_back(ranges[i].end);
      limits.push_back(ranges[i].limit);
    }
    const pg::Statement select[] = {
        {sql.scan_ranges.name, sql.scan_ranges.sql,
         {pg::Param::ByteaArray(starts), pg::Param::ByteaArray(ends),
          pg::Param::Int64Array(limits)}}};
    ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                     RunPooled(select, /*idempotent=*/true));
    const pg::Result& rows = results[0];
    for (int r = 0; r < rows.rows(); ++r) {
      const int64_t place = rows.Int64(r, 0);
      if (place < 1 || place > static_cast<int64_t>(range_of.size())) {
        return absl::InternalError("PostgreSQL: a range scan answered a row "
                                   "of no range");
      }
      if (!visitor(range_of[place - 1], rows.Value(r, 1), rows.Value(r, 2))) {
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }
  // Some unbounded: one statement per range, in one round trip.
  std::vector<pg::Statement> statements;
  statements.reserve(range_of.size());
  for (size_t i : range_of) {
    const ScanRange& range = ranges[i];
    const pg::NamedSql& named =
        range.end.empty() ? sql.scan_from : sql.scan_from_to;
    pg::Statement select{named.name, named.sql, {}};
    select.params.push_back(pg::Param::Bytea(range.start));
    if (!range.end.empty()) select.params.push_back(pg::Param::Bytea(range.end));
    select.params.push_back(pg::Param::Int64(range.limit));
    statements.push_back(std::move(select));
  }
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  for (size_t s = 0; s < results.size(); ++s) {
    const pg::Result& rows = results[s];
    for (int r = 0; r < rows.rows(); ++r) {
      if (!visitor(range_of[s], rows.Value(r, 0), rows.Value(r, 1))) {
        return absl::OkStatus();
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<std::string>>>
PostgresStore::MultiGet(Column column,
                        std::span<const std::string> keys) const {
  if (!IsColumn(column)) return NotAColumn(column);
  std::vector<std::optional<std::string>> values(keys.size());
  if (keys.empty()) return values;
  const pg::NamedSql& get_many = pg::StatementsFor(column).get_many;
  std::vector<std::string_view> views(keys.begin(), keys.end());
  const pg::Statement statements[] = {
      {get_many.name, get_many.sql, {pg::Param::ByteaArray(views)}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  std::unordered_map<std::string_view, int> row_of;
  const pg::Result& rows = results[0];
  for (int r = 0; r < rows.rows(); ++r) row_of[rows.Value(r, 0)] = r;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = row_of.find(keys[i]);
    if (it != row_of.end()) values[i] = std::string(rows.Value(it->second, 1));
  }
  return values;
}

absl::StatusOr<int64_t> PostgresStore::Count(Column column) const {
  if (!IsColumn(column)) return NotAColumn(column);
  const pg::NamedSql& count = pg::StatementsFor(column).count;
  const pg::Statement statements[] = {{count.name, count.sql, {}}};
  ASSIGN_OR_RETURN(std::vector<pg::Result> results,
                   RunPooled(statements, /*idempotent=*/true));
  if (results[0].rows() != 1) {
    return absl::InternalError("PostgreSQL: count(*) answered no row");
  }
  return results[0].Int64(0, 0);
}

absl::Status PostgresStore::Check() const {
  const pg::Statement ping[] = {{"", "SELECT 1", {}}};
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(pg::Pool::Handle conn, pool_->Acquire());
    round_trips_.fetch_add(1);
    status = conn->Run(ping, std::min(options_.connect_timeout,
                                      absl::Seconds(5)))
                 .status();
    if (status.ok() || !conn->broken()) return status;
  }
  return status;
}

}  // namespace webhooks::storage
