// The WatchOutcomes stream: forwards outcome notices the caller may see,
// buffering up to a bound for a slow reader (OutcomeBuffer: messages and
// bytes); past it the oldest are dropped and the next outcome sent says how
// many (Outcome.dropped). It holds its WatchQuota ticket until done. Before
// each outcome it asks `still_authenticated`: once the caller's API key is
// revoked or expired the stream ends with that UNAUTHENTICATED, sending
// nothing more.
#ifndef WEBHOOKS_SERVER_HANDLERS_OUTCOME_WATCHER_H_
#define WEBHOOKS_SERVER_HANDLERS_OUTCOME_WATCHER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/outcome_bus.h"
#include "grpcpp/grpcpp.h"
#include "server/handlers/outcome_buffer.h"
#include "server/handlers/watch_quota.h"
#include "webhooks/v1/delivery.pb.h"

namespace webhooks::server {

class OutcomeWatcher final : public grpc::ServerWriteReactor<v1::Outcome> {
 public:
  // Watches notices of `subscription_id` (empty: all) owned by `owner`
  // (nullopt: any owner). Deletes itself when the call is done.
  OutcomeWatcher(core::OutcomeBus* bus, std::string subscription_id,
                 std::optional<std::string> owner, WatchQuota::Ticket ticket,
                 std::function<absl::Status()> still_authenticated);

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnDone() override;

 private:
  void Offer(const core::OutcomeNotice& notice) ABSL_LOCKS_EXCLUDED(mu_);
  // Starts the next write when none is running.
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishOnce(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

  core::OutcomeBus* const bus_;
  const std::string subscription_id_;
  const std::optional<std::string> owner_;
  const std::function<absl::Status()> still_authenticated_;
  int64_t listener_id_ = 0;
  WatchQuota::Ticket ticket_;  // released last (see OnDone)

  absl::Mutex mu_;
  OutcomeBuffer buffer_ ABSL_GUARDED_BY(mu_);
  v1::Outcome writing_ ABSL_GUARDED_BY(mu_);  // valid until OnWriteDone
  bool write_in_progress_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace webhooks::server

#endif  // WEBHOOKS_SERVER_HANDLERS_OUTCOME_WATCHER_H_
