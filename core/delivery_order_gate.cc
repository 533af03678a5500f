#include "core/delivery_order_gate.h"

#include <algorithm>
#include <utility>

#include "core/delivery_order.h"

namespace webhooks::core {

bool DeliveryOrderGate::Sending(const std::string& lane) const {
  return !SendingId(lane).empty();
}

std::string_view DeliveryOrderGate::SendingId(const std::string& lane) const {
  auto it = lanes_.find(lane);
  if (it == lanes_.end()) return {};
  return it->second.sending;
}

void DeliveryOrderGate::StartSending(const std::string& lane,
                                     std::string delivery_id) {
  lanes_[lane].sending = std::move(delivery_id);
}

bool DeliveryOrderGate::EndSending(const std::string& lane,
                                   std::string_view delivery_id) {
  auto it = lanes_.find(lane);
  if (it == lanes_.end() || it->second.sending != delivery_id) return false;
  it->second.sending.clear();
  Tidy(lane);
  return true;
}

bool DeliveryOrderGate::Wait(DeliveryRecord delivery) {
  if (ids_.contains(delivery.id())) return false;
  if (ids_.size() >= capacity_) {
    overflow_due_ = std::min(overflow_due_, delivery.next_attempt_micros());
    return false;
  }
  ids_.insert(delivery.id());
  Lane& lane = lanes_[OrderLaneOf(delivery)];
  const uint64_t seq = delivery.order_seq();
  lane.waiting.insert_or_assign(seq, std::move(delivery));
  return true;
}

const DeliveryRecord* DeliveryOrderGate::Front(const std::string& lane) const {
  auto it = lanes_.find(lane);
  if (it == lanes_.end() || it->second.waiting.empty()) return nullptr;
  return &it->second.waiting.begin()->second;
}

DeliveryRecord DeliveryOrderGate::PopFront(const std::string& lane) {
  Lane& l = lanes_.find(lane)->second;
  auto first = l.waiting.begin();
  DeliveryRecord taken = std::move(first->second);
  l.waiting.erase(first);
  ids_.erase(taken.id());
  Tidy(lane);
  return taken;
}

std::vector<std::string> DeliveryOrderGate::TakeReleased() {
  std::vector<std::string> lanes(released_.begin(), released_.end());
  released_.clear();
  return lanes;
}

int64_t DeliveryOrderGate::TakeOverflow() {
  return std::exchange(overflow_due_, DeliveryQueue::kNothingQueued);
}

void DeliveryOrderGate::Tidy(const std::string& lane) {
  auto it = lanes_.find(lane);
  if (it != lanes_.end() && it->second.sending.empty() &&
      it->second.waiting.empty()) {
    lanes_.erase(it);
  }
}

}  // namespace webhooks::core
