#include "core/delivery_events.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "storage/key_codec.h"

namespace webhooks::core {

using internal::DeliveryRecord;
using internal::EventRecord;

std::string DeliveryEvents::KeyOf(const DeliveryRecord& delivery) {
  return storage::keys::TransactionEvent(
      storage::keys::Transaction(delivery.transaction_owner(),
                                 delivery.transaction_id()),
      delivery.event_id());
}

const std::string& DeliveryEvents::KeyFor(const DeliveryRecord& delivery) {
  if (!has_last_ || delivery.event_id() != last_event_ ||
      delivery.transaction_id() != last_transaction_ ||
      delivery.transaction_owner() != last_owner_) {
    last_key_ = KeyOf(delivery);
    last_owner_ = delivery.transaction_owner();
    last_transaction_ = delivery.transaction_id();
    last_event_ = delivery.event_id();
    has_last_ = true;
  }
  return last_key_;
}

void DeliveryEvents::Prefetch(std::span<const DeliveryRecord> deliveries) {
  std::vector<std::string> keys;
  for (const DeliveryRecord& delivery : deliveries) {
    const std::string& key = KeyFor(delivery);
    if (keys.empty() || keys.back() != key) keys.push_back(key);
  }
  PrefetchKeys(std::move(keys));
}

void DeliveryEvents::PrefetchKeys(std::vector<std::string> keys) {
  absl::flat_hash_set<std::string> asked;
  std::erase_if(keys, [&](const std::string& key) {
    return events_.contains(key) || !asked.insert(key).second;
  });
  if (keys.empty()) return;
  absl::StatusOr<std::vector<std::optional<std::string>>> values =
      store_->MultiGet(storage::Column::kTransactionEvents, keys);
  if (!values.ok() || values->size() != keys.size()) return;
  for (size_t i = 0; i < keys.size(); ++i) {
    // A corrupt one is left for Get to read again and report.
    (void)Keep(std::move(keys[i]), (*values)[i]);
  }
}

absl::StatusOr<std::shared_ptr<const EventRecord>> DeliveryEvents::GetByKey(
    const std::string& key) {
  auto it = events_.find(key);
  if (it != events_.end()) return it->second;
  absl::StatusOr<std::optional<std::string>> bytes =
      store_->Get(storage::Column::kTransactionEvents, key);
  if (!bytes.ok()) return bytes.status();
  return Keep(key, *bytes);
}

absl::StatusOr<std::shared_ptr<const EventRecord>> DeliveryEvents::Keep(
    std::string key, const std::optional<std::string>& bytes) {
  std::shared_ptr<EventRecord> parsed;
  if (bytes.has_value()) {
    parsed = std::make_shared<EventRecord>();
    if (!parsed->ParseFromString(*bytes)) {
      return absl::DataLossError("The stored event is corrupt.");
    }
  }
  events_[std::move(key)] = parsed;
  return std::shared_ptr<const EventRecord>(std::move(parsed));
}

}  // namespace webhooks::core
