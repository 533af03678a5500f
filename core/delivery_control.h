// Per-subscription delivery settings (Subscription.delivery): their
// validation against the server's limits, and what the dispatcher reads
// from them.
//
//   RETURN_IF_ERROR(ValidateDeliveryControl("subscription.delivery", c, limits));
//   std::vector<absl::Duration> retries = RetrySchedule(c);
#ifndef WEBHOOKS_CORE_DELIVERY_CONTROL_H_
#define WEBHOOKS_CORE_DELIVERY_CONTROL_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/limits.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::DeliveryControlRecord;

// Highest rate and burst accepted (requests per second, requests).
inline constexpr double kMaxRatePerSecond = 100000;
inline constexpr int kMaxBurst = 100000;
inline constexpr int kMaxSubscriptionInFlight = 10000;

// INVALID_ARGUMENT naming the field under `field` (e.g.
// "subscription.delivery.rate_limit.per_second") when a setting is out of
// its bounds.
absl::Status ValidateDeliveryControl(std::string_view field,
                                     const DeliveryControlRecord& control,
                                     const Limits& limits);

// Checks DeliveryControl.ordering alone (`field` names it).
absl::Status ValidateOrdering(std::string_view field,
                              const DeliveryControlRecord& control);
inline constexpr size_t kMaxOrderKeyPathBytes = 256;

// Whether deliveries wait for a token or a free slot.
inline bool Throttled(const DeliveryControlRecord& control) {
  return control.rate_per_second() > 0 || control.max_in_flight() > 0;
}

// The burst in effect: as set, or the rate rounded up (at least 1).
int EffectiveBurst(const DeliveryControlRecord& control);

// The subscription's retry delays (empty: the server's schedule).
std::vector<absl::Duration> RetrySchedule(const DeliveryControlRecord& control);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_CONTROL_H_
