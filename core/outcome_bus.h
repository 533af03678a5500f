// Fan-out of delivery outcomes to watchers (the WatchOutcomes stream): an
// attempt succeeded, an attempt failed, a subscription was deactivated.
// Listeners run on the publishing thread and must not block: they buffer.
//
//   int64_t id = bus.Subscribe([](const OutcomeNotice& n) { ... });
//   bus.Unsubscribe(id);
//
// Thread-safe.
#ifndef WEBHOOKS_CORE_OUTCOME_BUS_H_
#define WEBHOOKS_CORE_OUTCOME_BUS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

struct OutcomeNotice {
  enum class Kind { kAttemptSucceeded, kAttemptFailed, kSubscriptionDeactivated };
  Kind kind;
  std::string subscription_id;
  std::string owner;                // the subscription's owner, for scoping
  internal::AttemptRecord attempt;  // for attempt notices
  std::string message;              // for deactivations: why
  absl::Time time;
};

class OutcomeBus {
 public:
  using Listener = std::function<void(const OutcomeNotice&)>;

  int64_t Subscribe(Listener listener) ABSL_LOCKS_EXCLUDED(mu_);
  // After it returns the listener is not running and will not run again.
  void Unsubscribe(int64_t id) ABSL_LOCKS_EXCLUDED(mu_);
  void Publish(const OutcomeNotice& notice) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether anyone listens (a hint: publishers may skip building notices).
  bool HasListeners() const {
    return listener_count_.load(std::memory_order_acquire) > 0;
  }

 private:
  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> listener_count_{0};
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_OUTCOME_BUS_H_
