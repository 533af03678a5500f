// The durable queue of deliveries, ordered by due time. A delivery's record
// lives in kDeliveries; while it is pending, a key (due time, id) in
// kDeliveryQueue points at it. Writers stage changes into the same batch as
// whatever caused them (a commit, an attempt's outcome), so queue and records
// never disagree.
//
//   DeliveryQueue::StageUpdate(nullptr, &delivery, batch);  // enqueue
//   ASSIGN_OR_RETURN(auto due, queue.Due(clock.Now(), 100));
//
// Thread-safe (the Store is); callers serialize updates of one delivery.
#ifndef WEBHOOKS_CORE_DELIVERY_QUEUE_H_
#define WEBHOOKS_CORE_DELIVERY_QUEUE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::DeliveryRecord;

class DeliveryQueue {
 public:
  explicit DeliveryQueue(storage::Store* store) : store_(store) {}

  // Adds to `batch` the writes that replace `before` (null: a new delivery)
  // by `after`: the record, and the queue key of a PENDING delivery at its
  // next_attempt_micros.
  static void StageUpdate(const DeliveryRecord* before,
                          const DeliveryRecord& after,
                          storage::WriteBatch& batch);

  // Pending deliveries due at or before `now`, earliest first, at most
  // `limit`.
  absl::StatusOr<std::vector<DeliveryRecord>> Due(absl::Time now,
                                                  int limit) const;

  // NOT_FOUND when there is no such delivery.
  absl::StatusOr<DeliveryRecord> Get(std::string_view id) const;

  // Number of pending deliveries (a scan: for tests and occasional metrics).
  absl::StatusOr<int64_t> Depth() const;

 private:
  storage::Store* const store_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_QUEUE_H_
