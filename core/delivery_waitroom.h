// Deliveries read from the queue that must wait before they are sent (their
// subscription's rate limit or in-flight cap holds them back), by
// subscription, each subscription's in due order. They stay pending on disk
// meanwhile: after a crash they are read and wait again. Not thread-safe:
// the dispatcher guards it with its own mutex.
//
//   if (!room.Add(delivery)) { leave it pending: the next scan sees it }
//   const DeliveryRecord* next = room.Front(sub_id);
//   DeliveryRecord taken = room.PopFront(sub_id);
#ifndef WEBHOOKS_CORE_DELIVERY_WAITROOM_H_
#define WEBHOOKS_CORE_DELIVERY_WAITROOM_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/strings.h"
#include "core/delivery_queue.h"

namespace webhooks::core {

class DeliveryWaitroom {
 public:
  explicit DeliveryWaitroom(size_t capacity) : capacity_(capacity) {}

  // False (nothing kept) when full or when it holds the delivery already.
  bool Add(DeliveryRecord delivery);
  bool Contains(std::string_view delivery_id) const {
    return ids_.contains(AsAbsl(delivery_id));
  }
  // Takes a delivery out wherever it waits; its due time, or nullopt when
  // it was not waiting.
  std::optional<int64_t> Remove(std::string_view delivery_id);
  // The subscriptions with deliveries waiting.
  std::vector<std::string> Subscriptions() const;
  // The first waiting delivery of a subscription; null when none.
  const DeliveryRecord* Front(std::string_view subscription_id) const;
  // Takes out Front(subscription_id), which must exist.
  DeliveryRecord PopFront(std::string_view subscription_id);
  bool empty() const { return ids_.empty(); }
  size_t size() const { return ids_.size(); }

 private:
  const size_t capacity_;
  absl::flat_hash_map<std::string, std::deque<DeliveryRecord>> by_subscription_;
  absl::flat_hash_set<std::string> ids_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_WAITROOM_H_
