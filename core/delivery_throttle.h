// Per-subscription pacing of deliveries: a token bucket (rate R per
// second, burst B) and a count of requests in flight, for subscriptions
// whose DeliveryControl asks for either. A delivery that may not go yet
// waits in the dispatcher; nothing here drops or fails it.
//
//   if (throttle.TryTake(sub_id, control, now)) { send; ...; throttle.Done(sub_id); }
//   else { wait until throttle.NextChance(sub_id, control, now) or a Done }
//
// State lives in this process only: in a cluster each subscription's
// deliveries are sent by the one node holding its queue partition, so the
// limit holds cluster-wide (a partition passing to another node starts
// with a full bucket there). Thread-safe.
#ifndef WEBHOOKS_CORE_DELIVERY_THROTTLE_H_
#define WEBHOOKS_CORE_DELIVERY_THROTTLE_H_

#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/delivery_control.h"

namespace webhooks::core {

class DeliveryThrottle {
 public:
  // Takes a token and a slot for one request of `subscription_id`; false
  // (nothing taken) when the bucket is empty or the slots are full. Always
  // true when `control` limits nothing.
  bool TryTake(std::string_view subscription_id,
               const DeliveryControlRecord& control, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Gives back what TryTake took for a request that was not sent after all.
  void Return(std::string_view subscription_id) ABSL_LOCKS_EXCLUDED(mu_);
  // A request TryTake allowed has ended: its slot is free.
  void Done(std::string_view subscription_id) ABSL_LOCKS_EXCLUDED(mu_);
  // When the bucket next holds a token (now, if it does; InfiniteFuture
  // when only the in-flight cap holds it back: a Done frees it).
  absl::Time NextChance(std::string_view subscription_id,
                        const DeliveryControlRecord& control, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
    double rate = 0;  // as last configured; a change starts a full bucket
    int in_flight = 0;
    bool fresh = true;
  };
  // Brings the bucket up to `now` under `control`.
  static void Refill(Bucket& b, const DeliveryControlRecord& control,
                     absl::Time now);

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_THROTTLE_H_
