#include "storage/store.h"

#include <utility>

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
  }
  return "";  // Not a Column; the stores reject it as INVALID_ARGUMENT.
}

std::array<Column, kColumnCount> AllColumns() {
  std::array<Column, kColumnCount> columns;
  for (int i = 0; i < kColumnCount; ++i) columns[i] = static_cast<Column>(i);
  return columns;
}

void WriteBatch::Put(Column column, std::string_view key,
                     std::string_view value) {
  ops_.push_back(
      Op{OpType::kPut, column, std::string(key), std::string(value)});
}

void WriteBatch::Delete(Column column, std::string_view key) {
  ops_.push_back(Op{OpType::kDelete, column, std::string(key), std::string()});
}

void WriteBatch::Append(const WriteBatch& other) {
  // Copy first: `other` may be this batch.
  std::vector<Op> copy = other.ops_;
  ops_.insert(ops_.end(), std::make_move_iterator(copy.begin()),
              std::make_move_iterator(copy.end()));
}

size_t WriteBatch::ByteSize() const {
  size_t size = 0;
  for (const Op& op : ops_) size += op.key.size() + op.value.size();
  return size;
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
