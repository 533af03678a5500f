#include "core/store_copy.h"

#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/delivery_queue.h"
#include "storage/key_codec.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {
namespace {

using storage::Column;

constexpr size_t kBatchKeys = 1000;
constexpr size_t kBatchBytes = 8 << 20;

// Writes what it is given in batches of a bounded size.
class BatchWriter {
 public:
  explicit BatchWriter(storage::Store& to) : to_(to) {}

  absl::Status Put(Column column, std::string_view key,
                   std::string_view value) {
    batch_.Put(column, key, value);
    if (batch_.size() >= kBatchKeys || batch_.ByteSize() >= kBatchBytes) {
      return Flush();
    }
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (batch_.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(to_.Write(batch_));
    batch_ = storage::WriteBatch();
    return absl::OkStatus();
  }

 private:
  storage::Store& to_;
  storage::WriteBatch batch_;
};

absl::Status CheckEmpty(const storage::Store& to) {
  for (Column column : storage::AllColumns()) {
    bool any = false;
    RETURN_IF_ERROR(to.Scan(column, "", "", [&](std::string_view, std::string_view) {
      any = true;
      return false;
    }));
    if (any) {
      return absl::FailedPreconditionError(
          StrCat("the target store is not empty (", storage::ColumnName(column),
                 " has keys): copy only into a new, empty database"));
    }
  }
  return absl::OkStatus();
}

// Scans `column` of `from` in chunks, so no scan holds a snapshot (or the
// visitor's memory) for the whole column.
absl::Status ForEachKey(
    const storage::Store& from, Column column,
    const std::function<absl::Status(std::string_view, std::string_view)>& f) {
  std::string cursor;
  while (true) {
    std::vector<std::pair<std::string, std::string>> chunk;
    RETURN_IF_ERROR(from.Scan(column, cursor, "",
                              [&](std::string_view k, std::string_view v) {
                                chunk.emplace_back(k, v);
                                return chunk.size() < kBatchKeys;
                              }));
    for (const auto& [key, value] : chunk) RETURN_IF_ERROR(f(key, value));
    if (chunk.size() < kBatchKeys) return absl::OkStatus();
    cursor = chunk.back().first + std::string(1, '\0');
  }
}

}  // namespace

absl::StatusOr<CopyReport> CopyStore(const storage::Store& from,
                                     int from_partitions, storage::Store& to,
                                     int to_partitions) {
  RETURN_IF_ERROR(CheckEmpty(to));
  CopyReport report;
  BatchWriter writer(to);
  for (Column column : storage::AllColumns()) {
    if (column == Column::kDeliveryQueue) continue;  // below
    RETURN_IF_ERROR(ForEachKey(
        from, column, [&](std::string_view key, std::string_view value) {
          ++report.keys[static_cast<int>(column)];
          return writer.Put(column, key, value);
        }));
  }
  // The queue: each pending delivery staged anew under the target's layout.
  const size_t prefix = from_partitions > 1 ? 2 : 0;
  RETURN_IF_ERROR(ForEachKey(
      from, Column::kDeliveryQueue,
      [&](std::string_view key, std::string_view value) -> absl::Status {
        if (key.size() < prefix) {
          return absl::DataLossError("malformed delivery queue key");
        }
        auto entry = storage::keys::ParseQueueEntry(key.substr(prefix));
        if (!entry.has_value()) {
          return absl::DataLossError("malformed delivery queue key");
        }
        std::string bytes(value);
        std::optional<std::string> by_id;
        ASSIGN_OR_RETURN(by_id, from.Get(Column::kDeliveries, entry->delivery_id));
        if (bytes.empty()) {
          if (!by_id.has_value()) return absl::OkStatus();  // resolved
          bytes = *by_id;
        }
        DeliveryRecord record;
        if (!record.ParseFromString(bytes)) {
          return absl::DataLossError(StrCat("stored delivery \"",
                                            entry->delivery_id,
                                            "\" is corrupt"));
        }
        if (record.state() != DeliveryRecord::PENDING) return absl::OkStatus();
        record.set_next_attempt_micros(static_cast<int64_t>(entry->due_micros));
        storage::WriteBatch staged;
        DeliveryQueue::StageUpdate(nullptr, record, staged, nullptr,
                                   to_partitions);
        for (size_t i = 0; i < staged.size(); ++i) {
          const storage::WriteBatch::Op op = staged.op(i);
          if (op.column == Column::kDeliveries && by_id.has_value()) continue;
          ++report.keys[static_cast<int>(op.column)];
          RETURN_IF_ERROR(writer.Put(op.column, op.key, op.value));
        }
        ++report.queued_deliveries;
        return absl::OkStatus();
      }));
  RETURN_IF_ERROR(writer.Flush());
  return report;
}

}  // namespace webhooks::core
