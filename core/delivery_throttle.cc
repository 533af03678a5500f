#include "core/delivery_throttle.h"

#include <algorithm>

#include "common/strings.h"

namespace webhooks::core {

void DeliveryThrottle::Refill(Bucket& b, const DeliveryControlRecord& control,
                              absl::Time now) {
  const double rate = control.rate_per_second();
  const double burst = EffectiveBurst(control);
  if (b.fresh || b.rate != rate) {
    b.fresh = false;
    b.rate = rate;
    b.tokens = burst;
    b.refilled = now;
    return;
  }
  if (now > b.refilled) {
    b.tokens = std::min(
        burst, b.tokens + absl::ToDoubleSeconds(now - b.refilled) * rate);
    b.refilled = now;
  }
}

bool DeliveryThrottle::TryTake(std::string_view subscription_id,
                               const DeliveryControlRecord& control,
                               absl::Time now) {
  if (!Throttled(control)) return true;
  absl::MutexLock lock(&mu_);
  Bucket& b = buckets_[AsAbsl(subscription_id)];
  if (control.max_in_flight() > 0 && b.in_flight >= control.max_in_flight()) {
    return false;
  }
  if (control.rate_per_second() > 0) {
    Refill(b, control, now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
  }
  ++b.in_flight;
  return true;
}

void DeliveryThrottle::Return(std::string_view subscription_id) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(AsAbsl(subscription_id));
  if (it == buckets_.end()) return;
  if (it->second.rate > 0) it->second.tokens += 1;
  if (it->second.in_flight > 0) --it->second.in_flight;
}

void DeliveryThrottle::Done(std::string_view subscription_id) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(AsAbsl(subscription_id));
  if (it == buckets_.end()) return;
  if (it->second.in_flight > 0) --it->second.in_flight;
  // Idle and full again: forget it (a new bucket starts full anyway).
  if (it->second.in_flight == 0 && it->second.rate == 0) buckets_.erase(it);
}

absl::Time DeliveryThrottle::NextChance(std::string_view subscription_id,
                                        const DeliveryControlRecord& control,
                                        absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(AsAbsl(subscription_id));
  if (it == buckets_.end()) return now;
  Bucket& b = it->second;
  if (control.max_in_flight() > 0 && b.in_flight >= control.max_in_flight()) {
    return absl::InfiniteFuture();
  }
  if (control.rate_per_second() <= 0) return now;
  Refill(b, control, now);
  if (b.tokens >= 1) return now;
  return now + absl::Seconds((1 - b.tokens) / control.rate_per_second());
}

}  // namespace webhooks::core
