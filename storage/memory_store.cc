#include "storage/memory_store.h"

#include <utility>

namespace webhooks::storage {

absl::StatusOr<std::optional<std::string>> MemoryStore::Get(
    Column column, std::string_view key) const {
  if (!IsColumn(column)) return NotAColumn(column);
  absl::ReaderMutexLock lock(&mu_);
  const auto& map = columns_[static_cast<int>(column)];
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryStore::Write(const WriteBatch& batch,
                                WriteOptions /*options*/) {
  // Validate everything before changing anything, so a batch is all or none.
  for (size_t i = 0; i < batch.size(); ++i) {
    const Column column = batch.op(i).column;
    if (!IsColumn(column)) return NotAColumn(column);
  }
  absl::MutexLock lock(&mu_);
  if (!fail_writes_.ok()) return fail_writes_;
  for (size_t i = 0; i < batch.expectation_count(); ++i) {
    const WriteBatch::Expectation expected = batch.expectation(i);
    if (!IsColumn(expected.column)) return NotAColumn(expected.column);
    const auto& map = columns_[static_cast<int>(expected.column)];
    auto it = map.find(expected.key);
    const bool holds = expected.value.has_value()
                           ? it != map.end() && it->second == *expected.value
                           : it == map.end();
    if (!holds) return ExpectationFailed(expected);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const WriteBatch::Op op = batch.op(i);
    auto& map = columns_[static_cast<int>(op.column)];
    switch (op.type) {
      case WriteBatch::OpType::kPut:
        map.insert_or_assign(std::string(op.key), std::string(op.value));
        break;
      case WriteBatch::OpType::kDelete:
        if (auto it = map.find(op.key); it != map.end()) map.erase(it);
        break;
    }
  }
  ++write_count_;
  return absl::OkStatus();
}

absl::Status MemoryStore::Scan(Column column, std::string_view start,
                               std::string_view end,
                               ScanVisitor visitor) const {
  if (!IsColumn(column)) return NotAColumn(column);
  absl::ReaderMutexLock lock(&mu_);
  const auto& map = columns_[static_cast<int>(column)];
  for (auto it = map.lower_bound(start); it != map.end(); ++it) {
    if (!end.empty() && it->first >= end) break;
    if (!visitor(it->first, it->second)) break;
  }
  return absl::OkStatus();
}

void MemoryStore::FailWrites(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_writes_ = std::move(status);
}

int64_t MemoryStore::write_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return write_count_;
}

}  // namespace webhooks::storage
