#include "core/outcome_bus.h"

namespace webhooks::core {

int64_t OutcomeBus::Subscribe(Listener listener) {
  absl::MutexLock lock(&mu_);
  const int64_t id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  listener_count_.store(static_cast<int>(listeners_.size()),
                        std::memory_order_release);
  return id;
}

void OutcomeBus::Unsubscribe(int64_t id) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(id);
  listener_count_.store(static_cast<int>(listeners_.size()),
                        std::memory_order_release);
}

void OutcomeBus::Publish(const OutcomeNotice& notice) {
  // Listeners run under the lock, so Unsubscribe waits for a running one.
  absl::MutexLock lock(&mu_);
  for (const auto& [id, listener] : listeners_) listener(notice);
}

}  // namespace webhooks::core
