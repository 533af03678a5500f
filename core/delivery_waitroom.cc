#include "core/delivery_waitroom.h"

#include <algorithm>

#include "common/strings.h"

namespace webhooks::core {
namespace {

bool Before(const DeliveryRecord& a, const DeliveryRecord& b) {
  if (a.next_attempt_micros() != b.next_attempt_micros()) {
    return a.next_attempt_micros() < b.next_attempt_micros();
  }
  return a.id() < b.id();
}

}  // namespace

bool DeliveryWaitroom::Add(DeliveryRecord delivery) {
  if (ids_.size() >= capacity_ || ids_.contains(delivery.id())) return false;
  ids_.insert(delivery.id());
  std::deque<DeliveryRecord>& queue =
      by_subscription_[delivery.subscription_id()];
  // Scans return deliveries in due order, so this is nearly always the end.
  auto at = std::upper_bound(queue.begin(), queue.end(), delivery, Before);
  queue.insert(at, std::move(delivery));
  return true;
}

std::optional<int64_t> DeliveryWaitroom::Remove(std::string_view delivery_id) {
  if (!ids_.contains(AsAbsl(delivery_id))) return std::nullopt;
  ids_.erase(AsAbsl(delivery_id));
  for (auto it = by_subscription_.begin(); it != by_subscription_.end(); ++it) {
    std::deque<DeliveryRecord>& queue = it->second;
    auto found = std::find_if(queue.begin(), queue.end(),
                              [&](const DeliveryRecord& d) {
                                return d.id() == delivery_id;
                              });
    if (found == queue.end()) continue;
    const int64_t due = found->next_attempt_micros();
    queue.erase(found);
    if (queue.empty()) by_subscription_.erase(it);
    return due;
  }
  return std::nullopt;
}

std::vector<std::string> DeliveryWaitroom::Subscriptions() const {
  std::vector<std::string> subscriptions;
  subscriptions.reserve(by_subscription_.size());
  for (const auto& [id, queue] : by_subscription_) subscriptions.push_back(id);
  return subscriptions;
}

const DeliveryRecord* DeliveryWaitroom::Front(
    std::string_view subscription_id) const {
  auto it = by_subscription_.find(AsAbsl(subscription_id));
  if (it == by_subscription_.end() || it->second.empty()) return nullptr;
  return &it->second.front();
}

DeliveryRecord DeliveryWaitroom::PopFront(std::string_view subscription_id) {
  auto it = by_subscription_.find(AsAbsl(subscription_id));
  DeliveryRecord front = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) by_subscription_.erase(it);
  ids_.erase(front.id());
  return front;
}

}  // namespace webhooks::core
