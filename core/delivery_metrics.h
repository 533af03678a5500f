// What the DeliveryDispatcher reports for the metrics endpoint, as it
// happens: the latencies and sizes that counters cannot carry. The server
// implements it over common/metrics; tests may fake it.
//
//   DispatcherDeps deps{..., /*metrics=*/&metrics};
//
// The dispatcher calls it from its own thread, on the delivery hot path:
// implementations must be thread-safe against concurrent scrapes, must not
// block, and should neither lock nor allocate (atomics only).
#ifndef WEBHOOKS_CORE_DELIVERY_METRICS_H_
#define WEBHOOKS_CORE_DELIVERY_METRICS_H_

#include <string_view>

#include "absl/time/time.h"
#include "core/attempt_outcome.h"
#include "core/http_sender.h"

namespace webhooks::core {

class DeliveryMetrics {
 public:
  // How an attempt ended, as the metrics' `outcome` label says it.
  enum class Outcome {
    kSuccess,    // 2xx
    kHttpError,  // another response but 410
    kGone,       // 410: the subscription is deactivated
    kTimeout,
    kConnectError,
    kTlsError,
    kRefused,  // the destination address is not allowed
  };
  static constexpr int kOutcomeCount = 7;

  virtual ~DeliveryMetrics() = default;

  // A delivery's first attempt is being handed to the sender,
  // `since_commit` after the delivery was created (its transaction
  // committed).
  virtual void FirstAttemptSent(absl::Duration since_commit) = 0;
  // An attempt ended after `elapsed` (HttpResult::elapsed). Not called for
  // requests the sender rejected unsent: those are not attempts.
  virtual void AttemptEnded(Outcome outcome, absl::Duration elapsed) = 0;
  // One write-back round staged the outcomes of `attempts` attempts (> 0)
  // into one batch.
  virtual void OutcomesWritten(int attempts) = 0;
};

// The label value: "success", "http_error", "gone", "timeout",
// "connect_error", "tls_error" or "refused".
inline std::string_view OutcomeLabel(DeliveryMetrics::Outcome outcome) {
  switch (outcome) {
    case DeliveryMetrics::Outcome::kSuccess:
      return "success";
    case DeliveryMetrics::Outcome::kHttpError:
      return "http_error";
    case DeliveryMetrics::Outcome::kGone:
      return "gone";
    case DeliveryMetrics::Outcome::kTimeout:
      return "timeout";
    case DeliveryMetrics::Outcome::kConnectError:
      return "connect_error";
    case DeliveryMetrics::Outcome::kTlsError:
      return "tls_error";
    case DeliveryMetrics::Outcome::kRefused:
      return "refused";
  }
  return "unknown";
}

// The outcome of an attempt that was made (result.outcome != kRejected),
// given how ClassifyResult judged it.
inline DeliveryMetrics::Outcome MetricOutcome(const HttpResult& result,
                                              const Classified& c) {
  using Outcome = DeliveryMetrics::Outcome;
  if (c.success) return Outcome::kSuccess;
  if (c.gone) return Outcome::kGone;
  switch (result.outcome) {
    case HttpResult::Outcome::kTimeout:
      return Outcome::kTimeout;
    case HttpResult::Outcome::kConnectError:
      return Outcome::kConnectError;
    case HttpResult::Outcome::kTlsError:
      return Outcome::kTlsError;
    case HttpResult::Outcome::kRefusedAddress:
      return Outcome::kRefused;
    case HttpResult::Outcome::kResponse:
    case HttpResult::Outcome::kRejected:
      break;
  }
  return Outcome::kHttpError;
}

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_METRICS_H_
