#include "core/delivery_queue.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using storage::Column;

bool Pending(const DeliveryRecord& d) {
  return d.state() == DeliveryRecord::PENDING;
}

std::string QueueKey(const DeliveryRecord& d) {
  return storage::keys::QueueEntry(
      static_cast<uint64_t>(std::max<int64_t>(0, d.next_attempt_micros())),
      d.id());
}

absl::StatusOr<DeliveryRecord> Parse(std::string_view id,
                                     std::string_view bytes) {
  DeliveryRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(StrCat("stored delivery \"", id, "\" is corrupt"));
  }
  return record;
}

}  // namespace

void DeliveryQueue::StageUpdate(const DeliveryRecord* before,
                                const DeliveryRecord& after,
                                storage::WriteBatch& batch) {
  if (before != nullptr && Pending(*before)) {
    batch.Delete(Column::kDeliveryQueue, QueueKey(*before));
  }
  batch.Put(Column::kDeliveries, after.id(), after.SerializeAsString());
  if (Pending(after)) batch.Put(Column::kDeliveryQueue, QueueKey(after), "");
}

absl::StatusOr<std::vector<DeliveryRecord>> DeliveryQueue::Due(
    absl::Time now, int limit) const {
  std::vector<std::string> ids;
  const uint64_t end_micros =
      static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(now))) + 1;
  RETURN_IF_ERROR(store_->Scan(
      Column::kDeliveryQueue, "", storage::keys::QueueEntry(end_micros, ""),
      [&](std::string_view key, std::string_view) {
        if (auto entry = storage::keys::ParseQueueEntry(key)) {
          ids.push_back(std::move(entry->delivery_id));
        }
        return ids.size() < static_cast<size_t>(limit);
      }));
  std::vector<DeliveryRecord> due;
  due.reserve(ids.size());
  for (const std::string& id : ids) {
    absl::StatusOr<DeliveryRecord> record = Get(id);
    // A queue key without its record was resolved after the scan.
    if (absl::IsNotFound(record.status())) continue;
    if (!record.ok()) return record.status();
    if (Pending(*record)) due.push_back(*std::move(record));
  }
  return due;
}

absl::StatusOr<DeliveryRecord> DeliveryQueue::Get(std::string_view id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(Column::kDeliveries, id));
  if (!bytes.has_value()) {
    return absl::NotFoundError(StrCat("delivery \"", id, "\" not found"));
  }
  return Parse(id, *bytes);
}

absl::StatusOr<int64_t> DeliveryQueue::Depth() const {
  int64_t depth = 0;
  RETURN_IF_ERROR(store_->Scan(Column::kDeliveryQueue, "", "",
                               [&](std::string_view, std::string_view) {
                                 ++depth;
                                 return true;
                               }));
  return depth;
}

}  // namespace webhooks::core
