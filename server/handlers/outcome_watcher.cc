#include "server/handlers/outcome_watcher.h"

#include "server/converters/delivery_converter.h"
#include "server/grpc_status.h"

namespace webhooks::server {

OutcomeWatcher::OutcomeWatcher(core::OutcomeBus* bus,
                               std::string subscription_id,
                               std::optional<std::string> owner,
                               WatchQuota::Ticket ticket,
                               std::function<absl::Status()> still_authenticated)
    : bus_(bus),
      subscription_id_(std::move(subscription_id)),
      owner_(std::move(owner)),
      still_authenticated_(std::move(still_authenticated)),
      ticket_(std::move(ticket)) {
  listener_id_ =
      bus_->Subscribe([this](const core::OutcomeNotice& n) { Offer(n); });
  // Headers go out at once, so the client knows the watch is running.
  StartSendInitialMetadata();
}

void OutcomeWatcher::Offer(const core::OutcomeNotice& notice) {
  if (!subscription_id_.empty() && notice.subscription_id != subscription_id_) {
    return;
  }
  if (owner_.has_value() && notice.owner != *owner_) return;
  if (absl::Status still = still_authenticated_(); !still.ok()) {
    FinishOnce(ToGrpcStatus(still));
    return;
  }
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  buffer_.Push(OutcomeToApi(notice));
  WriteNextLocked();
}

void OutcomeWatcher::WriteNextLocked() {
  if (write_in_progress_ || finished_) return;
  std::optional<v1::Outcome> next = buffer_.Pop();
  if (!next.has_value()) return;
  writing_ = *std::move(next);
  write_in_progress_ = true;
  StartWrite(&writing_);
}

void OutcomeWatcher::OnWriteDone(bool ok) {
  if (!ok) {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
    return;
  }
  absl::MutexLock lock(&mu_);
  write_in_progress_ = false;
  WriteNextLocked();
}

void OutcomeWatcher::OnCancel() {
  FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
}

void OutcomeWatcher::FinishOnce(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  buffer_.Clear();
  Finish(status);
}

void OutcomeWatcher::OnDone() {
  bus_->Unsubscribe(listener_id_);  // waits for a running Offer
  WatchQuota::Ticket ticket = std::move(ticket_);
  delete this;
  // Released once this stream's memory is freed: the last release of a
  // burst gives the heap back.
  ticket.reset();
}

}  // namespace webhooks::server
