// Stored events read at most once each: those of every delivery one fetch
// of the dispatcher took (or of every attempt on a page, core/attempt_body.h)
// in one Store::MultiGet (one round trip on PostgreSQL, where reading them
// one by one cost a round trip per delivery), any other on first use.
// Events are kept only until Clear (the dispatcher's next fetch): a
// transaction that is forgotten meanwhile is seen as gone by the next fetch.
//
//   events.Clear();
//   events.Prefetch(due);                       // one read
//   ASSIGN_OR_RETURN(auto event, events.Get(due[0]));  // no read
//
// Not thread-safe: the dispatcher's fetch thread owns it.
#ifndef WEBHOOKS_CORE_DELIVERY_EVENTS_H_
#define WEBHOOKS_CORE_DELIVERY_EVENTS_H_

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

class DeliveryEvents {
 public:
  explicit DeliveryEvents(const storage::Store* store) : store_(store) {}

  // The key of a delivery's event in Column::kTransactionEvents (two
  // owners' transactions may share an id: the key names the owner).
  static std::string KeyOf(const internal::DeliveryRecord& delivery);
  // KeyOf, remembered for the last delivery asked about: a fetch's
  // deliveries come in runs of one event's, and each delivery's key is
  // asked for more than once. Good until the next call.
  const std::string& KeyFor(const internal::DeliveryRecord& delivery);

  void Clear() { events_.clear(); }

  // Reads, in one MultiGet, the events of `deliveries` not read yet. A
  // failed read is not an error here: Get meets it again, per delivery.
  void Prefetch(std::span<const internal::DeliveryRecord> deliveries);
  // The same for the events stored at `keys` (KeyOf).
  void PrefetchKeys(std::vector<std::string> keys);

  // The event of `delivery`: null when it is no longer stored; DATA_LOSS
  // when it is corrupt; the store's error when it cannot be read.
  absl::StatusOr<std::shared_ptr<const internal::EventRecord>> Get(
      const internal::DeliveryRecord& delivery) {
    return GetByKey(KeyFor(delivery));
  }
  // The same for the event stored at `key` (KeyOf).
  absl::StatusOr<std::shared_ptr<const internal::EventRecord>> GetByKey(
      const std::string& key);

 private:
  // Parses `bytes` (nullopt: absent) into events_[key].
  absl::StatusOr<std::shared_ptr<const internal::EventRecord>> Keep(
      std::string key, const std::optional<std::string>& bytes);

  const storage::Store* const store_;
  // KeyFor's last delivery (its event's owner, transaction and id) and key.
  std::string last_owner_, last_transaction_, last_event_, last_key_;
  bool has_last_ = false;
  // By KeyOf; null: not stored.
  absl::flat_hash_map<std::string, std::shared_ptr<const internal::EventRecord>>
      events_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_EVENTS_H_
