// The dispatcher's memory of ordered delivery (DeliveryControl.ordering):
// per lane (a subscription and ordering key, OrderLaneOf) the one delivery
// whose turn it is (being sent, or its outcome being written), and the
// followers read from the queue that wait for it, lowest order_seq first.
// Waiting followers stay pending on disk (after a crash they are read and
// wait again); when memory is full one is not kept and the lowest due time
// of those is remembered, to be read again once a turn ends, so the fetch
// loop does not re-read it meanwhile. Whose turn it may be is for the
// durable index to say (core/delivery_order.h). Not thread-safe: the
// dispatcher guards it with its own mutex.
//
//   if (gate.Sending(lane)) gate.Wait(delivery);   // its turn comes later
//   gate.StartSending(lane, id); ... gate.EndSending(lane, id);
//   for (const std::string& lane : gate.TakeReleased()) { gate.Front(lane) }
#ifndef WEBHOOKS_CORE_DELIVERY_ORDER_GATE_H_
#define WEBHOOKS_CORE_DELIVERY_ORDER_GATE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/strings.h"
#include "core/delivery_queue.h"

namespace webhooks::core {

class DeliveryOrderGate {
 public:
  explicit DeliveryOrderGate(size_t capacity) : capacity_(capacity) {}

  // Whether a delivery of `lane` has its turn.
  bool Sending(const std::string& lane) const;
  // The delivery whose turn it is; empty when none.
  std::string_view SendingId(const std::string& lane) const;
  void StartSending(const std::string& lane, std::string delivery_id);
  // Ends `delivery_id`'s turn (nothing when it does not have it). True when
  // it had it.
  bool EndSending(const std::string& lane, std::string_view delivery_id);

  // Keeps a follower waiting. False (not kept: it stays on disk, and
  // TakeOverflow remembers its due time) when memory is full or it waits
  // already.
  bool Wait(DeliveryRecord delivery);
  bool Contains(std::string_view delivery_id) const {
    return ids_.contains(AsAbsl(delivery_id));
  }
  // The lowest waiting follower of a lane; null when none.
  const DeliveryRecord* Front(const std::string& lane) const;
  // Takes out Front(lane), which must exist.
  DeliveryRecord PopFront(const std::string& lane);
  size_t size() const { return ids_.size(); }

  // Lanes whose followers should be looked at again (a turn ended).
  void MarkReleased(const std::string& lane) { released_.insert(lane); }
  std::vector<std::string> TakeReleased();
  // The earliest due time of followers not kept since the last call
  // (DeliveryQueue::kNothingQueued: none).
  int64_t TakeOverflow();

 private:
  struct Lane {
    std::string sending;
    std::map<uint64_t, DeliveryRecord> waiting;  // by order_seq
  };
  // Forgets a lane with nothing in it.
  void Tidy(const std::string& lane);

  const size_t capacity_;
  absl::flat_hash_map<std::string, Lane> lanes_;
  absl::flat_hash_set<std::string> ids_;  // waiting
  absl::flat_hash_set<std::string> released_;
  int64_t overflow_due_ = DeliveryQueue::kNothingQueued;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_ORDER_GATE_H_
