// PostgresStore::Write: group commit of unconditional batches, and
// conditional batches (expectations) in their own transactions.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/cluster_store.h"
#include "storage/pg_connection.h"
#include "storage/postgres_schema.h"
#include "storage/postgres_store.h"

namespace webhooks::storage {
namespace {

// Limits of one group commit, so a transaction stays reasonable.
constexpr size_t kMaxGroupBytes = 32 << 20;
constexpr size_t kMaxGroupOps = 50000;
// Attempts of a transaction that hit a serialization failure or deadlock.
constexpr int kAttempts = 5;

// Takes the next change feed numbers (holding the counter row until
// commit) and records (col, key) rows numbered in the order given.
constexpr char kRecordChangesSql[] =
    "WITH c AS (UPDATE webhookd_change_counter SET seq = seq + $1::bigint "
    "WHERE id = 1 RETURNING seq) "
    "INSERT INTO webhookd_changes (seq, col, k) "
    "SELECT c.seq - $1::bigint + u.n, u.col, u.k FROM c, "
    "unnest($2::bigint[], $3::bytea[]) WITH ORDINALITY AS u(col, k, n)";

using KeyOps = std::map<std::string_view, std::optional<std::string_view>>;

// The statements that apply `batches` in order: per (column, key) the last
// operation wins, then per column one upsert and one delete with array
// parameters, then the change feed rows. `placeholders` are keys to delete
// without recording a change unless a batch writes them.
void AppendWrites(const std::vector<const WriteBatch*>& batches,
                  const std::vector<std::pair<Column, std::string_view>>&
                      placeholders,
                  std::vector<pg::Statement>& out) {
  std::vector<KeyOps> columns(kColumnCount);
  for (const WriteBatch* batch : batches) {
    for (size_t i = 0; i < batch->size(); ++i) {
      const WriteBatch::Op op = batch->op(i);
      std::optional<std::string_view> value;
      if (op.type == WriteBatch::OpType::kPut) value = op.value;
      columns[static_cast<size_t>(op.column)].insert_or_assign(op.key, value);
    }
  }
  std::vector<int64_t> change_columns;
  std::vector<std::string_view> change_keys;
  for (int c = 0; c < kColumnCount; ++c) {
    const Column column = static_cast<Column>(c);
    std::vector<std::string_view> put_keys, put_values, delete_keys;
    for (const auto& [key, value] : columns[static_cast<size_t>(c)]) {
      if (value.has_value()) {
        put_keys.push_back(key);
        put_values.push_back(*value);
      } else {
        delete_keys.push_back(key);
      }
      if (IsFedColumn(column)) {
        change_columns.push_back(c);
        change_keys.push_back(key);
      }
    }
    for (const auto& [pc, key] : placeholders) {
      if (pc == column && !columns[static_cast<size_t>(c)].contains(key)) {
        delete_keys.push_back(key);
      }
    }
    const pg::ColumnStatements& sql = pg::StatementsFor(column);
    if (!put_keys.empty()) {
      out.push_back({sql.upsert.name,
                     sql.upsert.sql,
                     {pg::Param::ByteaArray(put_keys),
                      pg::Param::ByteaArray(put_values)}});
    }
    if (!delete_keys.empty()) {
      out.push_back(
          {sql.erase.name, sql.erase.sql, {pg::Param::ByteaArray(delete_keys)}});
    }
  }
  if (!change_keys.empty()) {
    out.push_back({"record_changes",
                   kRecordChangesSql,
                   {pg::Param::Int64(static_cast<int64_t>(change_keys.size())),
                    pg::Param::Int64Array(change_columns),
                    pg::Param::ByteaArray(change_keys)}});
  }
}

}  // namespace

struct PostgresStore::Pending {
  const WriteBatch* batch;
  absl::Status status;
  bool done = false;
};

absl::Status PostgresStore::Write(const WriteBatch& batch,
                                  WriteOptions /*options: always synced*/) {
  // Reject what no store could apply before anything is sent.
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!IsColumn(batch.op(i).column)) return NotAColumn(batch.op(i).column);
  }
  for (size_t i = 0; i < batch.expectation_count(); ++i) {
    const Column column = batch.expectation(i).column;
    if (!IsColumn(column)) return NotAColumn(column);
  }
  if (batch.expectation_count() > 0) return WriteConditional(batch);
  if (batch.empty()) return absl::OkStatus();
  return WriteGrouped(batch);
}

absl::Status PostgresStore::WriteGrouped(const WriteBatch& batch) {
  Pending me{&batch, absl::OkStatus(), false};
  group_mu_.Lock();
  queue_.push_back(&me);
  auto my_turn = [this, &me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(group_mu_) {
    return me.done || (!leader_active_ && queue_.front() == &me);
  };
  group_mu_.Await(absl::Condition(&my_turn));
  if (me.done) {
    group_mu_.Unlock();
    return me.status;
  }
  // The leader: take the queued batches (this one first), in order.
  leader_active_ = true;
  std::vector<Pending*> group;
  size_t bytes = 0, ops = 0;
  while (!queue_.empty() &&
         (group.empty() || (bytes < kMaxGroupBytes && ops < kMaxGroupOps))) {
    Pending* next = queue_.front();
    queue_.pop_front();
    bytes += next->batch->ByteSize();
    ops += next->batch->size();
    group.push_back(next);
  }
  group_mu_.Unlock();

  std::vector<const WriteBatch*> batches;
  for (Pending* p : group) batches.push_back(p->batch);
  absl::Status status = ApplyGroup(batches);
  if (absl::IsInvalidArgument(status) && group.size() > 1) {
    // One batch the database refuses (a key too long): apply each alone so
    // that only it fails.
    for (Pending* p : group) p->status = ApplyGroup({p->batch});
  } else {
    for (Pending* p : group) p->status = status;
  }

  group_mu_.Lock();
  for (Pending* p : group) p->done = true;
  leader_active_ = false;
  const absl::Status mine = me.status;
  group_mu_.Unlock();
  return mine;
}

absl::Status PostgresStore::ApplyGroup(
    const std::vector<const WriteBatch*>& batches) {
  absl::Status status;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    status = ApplyOnce(batches);
    if (!pg::IsRetryable(status)) return status;
  }
  return status;
}

absl::Status PostgresStore::Commit(pg::Connection& conn,
                                   std::vector<pg::Statement> statements) {
  const pg::Statement commit{"", "COMMIT", {}};
  absl::Status status;
  if (options_.before_commit_for_test) {
    absl::StatusOr<std::vector<pg::Result>> done = Run(conn, statements);
    if (!done.ok()) return done.status();
    options_.before_commit_for_test();
    status = Run(conn, {&commit, 1}).status();
  } else {
    statements.push_back(commit);
    status = Run(conn, statements).status();
  }
  if (absl::IsUnavailable(status)) {
    return absl::UnavailableError(StrCat(
        status.message(),
        " (the write may or may not have been committed; read to find out)"));
  }
  if (status.ok()) commits_.fetch_add(1);
  return status;
}

absl::Status PostgresStore::ApplyOnce(
    const std::vector<const WriteBatch*>& batches) {
  std::vector<pg::Statement> statements;
  statements.push_back({"", "BEGIN", {}});
  AppendWrites(batches, {}, statements);
  ASSIGN_OR_RETURN(pg::Pool::Handle conn, pool_->Acquire());
  return Commit(*conn, std::move(statements));
}

absl::Status PostgresStore::WriteConditional(const WriteBatch& batch) {
  absl::Status status;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    status = ApplyConditionalOnce(batch);
    if (!pg::IsRetryable(status)) return status;
  }
  return status;
}

absl::Status PostgresStore::ApplyConditionalOnce(const WriteBatch& batch) {
  // Lock the expected keys in one order (column, key) so that two batches
  // expecting the same keys wait for each other instead of deadlocking.
  std::vector<WriteBatch::Expectation> expected;
  for (size_t i = 0; i < batch.expectation_count(); ++i) {
    expected.push_back(batch.expectation(i));
  }
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return std::tie(a.column, a.key) < std::tie(b.column, b.key);
  });
  std::vector<WriteBatch::Expectation> unique;
  for (const WriteBatch::Expectation& e : expected) {
    if (!unique.empty() && unique.back().column == e.column &&
        unique.back().key == e.key) {
      if (unique.back().value != e.value) return ExpectationFailed(e);
      continue;
    }
    unique.push_back(e);
  }

  // Round trip 1: lock each expected key. A present key: SELECT ... FOR
  // UPDATE. An absent one: insert a placeholder row, which makes a
  // concurrent inserter of the key wait until this transaction ends.
  std::vector<pg::Statement> checks;
  checks.push_back({"", "BEGIN", {}});
  for (const WriteBatch::Expectation& e : unique) {
    const pg::ColumnStatements& sql = pg::StatementsFor(e.column);
    const pg::NamedSql& named =
        e.value.has_value() ? sql.lock : sql.claim_absent;
    checks.push_back({named.name, named.sql, {pg::Param::Bytea(e.key)}});
  }
  ASSIGN_OR_RETURN(pg::Pool::Handle conn, pool_->Acquire());
  ASSIGN_OR_RETURN(std::vector<pg::Result> results, Run(*conn, checks));
  std::vector<std::pair<Column, std::string_view>> placeholders;
  for (size_t i = 0; i < unique.size(); ++i) {
    const WriteBatch::Expectation& e = unique[i];
    const pg::Result& r = results[i + 1];
    const bool holds = e.value.has_value()
                           ? r.rows() == 1 && r.Value(0, 0) == *e.value
                           : r.rows() == 1;
    if (!holds) {
      const pg::Statement rollback[] = {{"", "ROLLBACK", {}}};
      absl::Status rolled_back = Run(*conn, rollback).status();
      if (!rolled_back.ok()) return rolled_back;
      return ExpectationFailed(e);
    }
    if (!e.value.has_value()) placeholders.emplace_back(e.column, e.key);
  }

  // Round trip 2: the writes, the change feed and COMMIT.
  std::vector<pg::Statement> writes;
  AppendWrites({&batch}, placeholders, writes);
  return Commit(*conn, std::move(writes));
}

}  // namespace webhooks::storage
