#include "storage/store.h"

#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"

namespace webhooks::storage {

std::string_view ColumnName(Column column) {
  switch (column) {
    case Column::kSubscriptions:
      return "subscriptions";
    case Column::kSubscriptionsBySite:
      return "subscriptions_by_site";
    case Column::kSubscriptionsByOwner:
      return "subscriptions_by_owner";
    case Column::kPrincipals:
      return "principals";
    case Column::kDialects:
      return "dialects";
    case Column::kTransactions:
      return "transactions";
    case Column::kTransactionEvents:
      return "transaction_events";
    case Column::kDeliveries:
      return "deliveries";
    case Column::kDeliveryQueue:
      return "delivery_queue";
    case Column::kAttempts:
      return "attempts";
    case Column::kMeta:
      return "meta";
    case Column::kTransactionDeadlines:
      return "transaction_deadlines";
    case Column::kApiKeys:
      return "api_keys";
    case Column::kDeliveryOrder:
      return "delivery_order";
  }
  return "";  // Not a Column; the stores reject it as INVALID_ARGUMENT.
}

bool IsColumn(Column column) {
  const int index = static_cast<int>(column);
  return index >= 0 && index < kColumnCount;
}

absl::Status NotAColumn(Column column) {
  return absl::InvalidArgumentError(
      StrCat("storage: no column ", static_cast<int>(column)));
}

std::array<Column, kColumnCount> AllColumns() {
  std::array<Column, kColumnCount> columns;
  for (int i = 0; i < kColumnCount; ++i) columns[i] = static_cast<Column>(i);
  return columns;
}

void WriteBatch::Put(Column column, std::string_view key,
                     std::string_view value) {
  entries_.push_back(
      Entry{OpType::kPut, column, bytes_.size(), key.size(), value.size()});
  bytes_.append(key);
  bytes_.append(value);
}

void WriteBatch::Delete(Column column, std::string_view key) {
  entries_.push_back(Entry{OpType::kDelete, column, bytes_.size(), key.size(), 0});
  bytes_.append(key);
}

void WriteBatch::Expect(Column column, std::string_view key,
                        std::optional<std::string_view> value) {
  expectations_.push_back(ExpectEntry{column, value.has_value(),
                                      expected_bytes_.size(), key.size(),
                                      value.has_value() ? value->size() : 0});
  expected_bytes_.append(key);
  if (value.has_value()) expected_bytes_.append(*value);
}

absl::Status ExpectationFailed(const WriteBatch::Expectation& expectation) {
  return absl::AbortedError(StrCat(
      "storage: a concurrent change to ", ColumnName(expectation.column),
      " came first; read again and retry"));
}

bool IsExpectationFailure(const absl::Status& status) {
  return absl::IsAborted(status);
}

void WriteBatch::Append(const WriteBatch& other) {
  // Positions of `other`'s entries move by the bytes already here; `other`
  // may be this batch, so read its sizes before growing.
  const size_t shift = bytes_.size();
  const size_t count = other.entries_.size();
  entries_.reserve(entries_.size() + count);
  for (size_t i = 0; i < count; ++i) {
    Entry entry = other.entries_[i];
    entry.pos += shift;
    entries_.push_back(entry);
  }
  bytes_.append(std::string(other.bytes_));
  const size_t expect_shift = expected_bytes_.size();
  const size_t expect_count = other.expectations_.size();
  for (size_t i = 0; i < expect_count; ++i) {
    ExpectEntry entry = other.expectations_[i];
    entry.pos += expect_shift;
    expectations_.push_back(entry);
  }
  expected_bytes_.append(std::string(other.expected_bytes_));
}

std::vector<WriteBatch::Op> WriteBatch::ops() const {
  std::vector<Op> out;
  out.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) out.push_back(op(i));
  return out;
}

absl::Status Store::ScanRanges(Column column,
                               std::span<const ScanRange> ranges,
                               RangeVisitor visitor) const {
  bool stopped = false;
  for (size_t i = 0; i < ranges.size() && !stopped; ++i) {
    const ScanRange& range = ranges[i];
    if (range.limit <= 0) continue;
    int64_t visited = 0;
    RETURN_IF_ERROR(Scan(column, range.start, range.end,
                         [&](std::string_view key, std::string_view value) {
                           if (!visitor(i, key, value)) {
                             stopped = true;
                             return false;
                           }
                           return ++visited < range.limit;
                         }));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<std::string>>> Store::MultiGet(
    Column column, std::span<const std::string> keys) const {
  std::vector<std::optional<std::string>> values;
  values.reserve(keys.size());
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(std::optional<std::string> value, Get(column, key));
    values.push_back(std::move(value));
  }
  return values;
}

absl::StatusOr<int64_t> Store::Count(Column column) const {
  int64_t count = 0;
  RETURN_IF_ERROR(Scan(column, "", "", [&](std::string_view, std::string_view) {
    ++count;
    return true;
  }));
  return count;
}

absl::Status Store::ScanPrefix(Column column, std::string_view prefix,
                               ScanVisitor visitor) const {
  // When the prefix has no successor (empty or all 0xff), every key at or
  // after it begins with it, so an unbounded scan is exact.
  return Scan(column, prefix, PrefixSuccessor(prefix), visitor);
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string successor(prefix);
  while (!successor.empty() &&
         static_cast<unsigned char>(successor.back()) == 0xff) {
    successor.pop_back();
  }
  if (!successor.empty()) {
    successor.back() =
        static_cast<char>(static_cast<unsigned char>(successor.back()) + 1);
  }
  return successor;
}

}  // namespace webhooks::storage
