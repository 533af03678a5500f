// DeliveryDispatcher's changes from outside its threads: Redeliver and
// RecoverFailed (which hold a delivery busy while they rewrite it), and what
// is in flight.
#include <algorithm>
#include <memory>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/attempt_body.h"
#include "core/delivery_dispatcher.h"
#include "core/validation.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// How long Redeliver waits for an outcome that is being written to be let go.
constexpr absl::Duration kReserveWait = absl::Seconds(2);

}  // namespace

bool DeliveryDispatcher::Reserve(std::string_view id) {
  absl::MutexLock lock(&mu_);
  // An outcome being written (or noted by a running fetch) is let go in
  // moments: wait for it rather than call a finished delivery busy. Only a
  // request on the wire makes Reserve fail at once.
  // One waiting for its subscription's rate limit is pending on disk and
  // not on the wire: it stops waiting (Release notes it).
  waiting_.Remove(id);
  const absl::Time deadline = absl::Now() + kReserveWait;
  while (Busy(id) && !leased_.contains(AsAbsl(id)) && !stopping_) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) break;
  }
  if (Busy(id)) return false;
  writing_.emplace(id);
  return true;
}

void DeliveryDispatcher::Release(std::vector<std::string> ids,
                                 int64_t due_micros) {
  {
    absl::MutexLock lock(&mu_);
    for (std::string& id : ids) {
      writing_.erase(id);
      if (fetching_) resolved_during_fetch_.insert(std::move(id));
    }
    // A slot may have come free for a subscription whose deliveries wait.
    if (!waiting_.empty()) woken_ = true;
    if (fetching_) {
      resolved_during_fetch_due_ =
          std::min(resolved_during_fetch_due_, due_micros);
    }
    cv_.SignalAll();  // room for the fetcher; Shutdown may be waiting
  }
  deps_.queue->NoteEnqueued(due_micros);
}

absl::StatusOr<DeliveryRecord> DeliveryDispatcher::Redeliver(
    std::string_view delivery_id, const Scope& scope) {
  RETURN_IF_ERROR(ValidateResourceId("delivery_id", delivery_id));
  const bool held = Reserve(delivery_id);
  int64_t to_note = DeliveryQueue::kNothingQueued;
  absl::StatusOr<DeliveryRecord> after =
      RedeliverHeld(delivery_id, scope, held, to_note);
  if (!held) return after;
  Release({std::string(delivery_id)}, to_note);
  if (after.ok()) Wake();
  return after;
}

absl::StatusOr<DeliveryRecord> DeliveryDispatcher::RedeliverHeld(
    std::string_view delivery_id, const Scope& scope, bool held,
    int64_t& to_note) {
  absl::StatusOr<DeliveryRecord> before = deps_.queue->Get(delivery_id);
  if (!before.ok()) {
    // A fetch may have read it from the queue and left it to us: without
    // its due time the queue must look from the start.
    if (!absl::IsNotFound(before.status())) to_note = 0;
    return before.status();
  }
  if (before->state() == DeliveryRecord::PENDING) {
    to_note = before->next_attempt_micros();
  }
  absl::StatusOr<SubscriptionRecord> subscription =
      deps_.registry->Get(before->subscription_id(), scope);
  if (!subscription.ok()) {
    return absl::NotFoundError(StrCat("delivery \"", delivery_id, "\" not found"));
  }
  // Only now: busy says nothing to a caller who may not see the delivery.
  if (!held) {
    return absl::FailedPreconditionError(
        StrCat("delivery \"", delivery_id, "\" is being sent right now"));
  }
  if (!subscription->active()) {
    return absl::FailedPreconditionError(
        StrCat("subscription \"", subscription->id(),
               "\" is inactive; activate it before redelivering"));
  }
  DeliveryRecord after = *before;
  after.set_state(DeliveryRecord::PENDING);
  after.set_next_attempt_micros(Micros(deps_.clock->Now()));
  storage::WriteBatch batch;
  int64_t queued_min = DeliveryQueue::kNothingQueued;
  // A pending one keeps its place; one that was done joins the end of its
  // lane's order when the subscription is ordered now.
  std::vector<DeliveryRecord*> ordered;
  if (before->state() != DeliveryRecord::PENDING) {
    after.set_order_seq(0);
    if (subscription->delivery().ordered()) ordered.push_back(&after);
  }
  RETURN_IF_ERROR(WriteRedeliveries(batch, ordered, [&](auto& b) {
    DeliveryQueue::StageUpdate(&*before, after, b, &queued_min,
                               deps_.queue->partitions());
  }));
  to_note = std::min(to_note, queued_min);
  return after;
}

absl::StatusOr<int64_t> DeliveryDispatcher::RecoverFailed(
    std::string_view subscription_id, absl::Time since, const Scope& scope) {
  ASSIGN_OR_RETURN(const SubscriptionRecord subscription,
                   deps_.registry->Get(subscription_id, scope));
  // Delivery ids begin with their creation time, so the scan starts there.
  std::vector<std::string> failed;
  absl::Status parse_error;
  RETURN_IF_ERROR(deps_.store->Scan(
      storage::Column::kDeliveries,
      IdTimeFloor(DeliveryQueue::kIdPrefix, absl::ToUnixMillis(since)), "",
      [&](std::string_view key, std::string_view value) {
        DeliveryRecord d;
        if (!d.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError("stored delivery is corrupt");
          return false;
        }
        if (d.subscription_id() == subscription_id &&
            d.state() == DeliveryRecord::FAILED &&
            d.create_time_micros() >= Micros(since)) {
          failed.emplace_back(key);
        }
        return true;
      }));
  RETURN_IF_ERROR(parse_error);
  if (failed.empty()) return 0;
  // Each is held busy and read again: one redelivered meanwhile is pending
  // already and is left as it is.
  std::vector<std::string> reserved;
  for (std::string& id : failed) {
    if (Reserve(id)) reserved.push_back(std::move(id));
  }
  storage::WriteBatch batch;
  int64_t queued_min = DeliveryQueue::kNothingQueued;
  const int64_t now = Micros(deps_.clock->Now());
  std::vector<DeliveryRecord> befores, afters;
  absl::Status status;
  for (const std::string& id : reserved) {
    absl::StatusOr<DeliveryRecord> before = deps_.queue->Get(id);
    if (!before.ok()) {
      status = before.status();
      break;
    }
    if (before->state() != DeliveryRecord::FAILED) continue;
    befores.push_back(*before);
  }
  // In creation order, each joins the end of its lane's order (ordered).
  std::vector<DeliveryRecord*> ordered;
  afters.reserve(befores.size());
  for (const DeliveryRecord& before : befores) {
    DeliveryRecord& after = afters.emplace_back(before);
    after.set_state(DeliveryRecord::PENDING);
    after.set_next_attempt_micros(now);
    after.set_order_seq(0);
    if (subscription.delivery().ordered()) ordered.push_back(&after);
  }
  const int64_t recovered = static_cast<int64_t>(afters.size());
  if (status.ok() && !afters.empty()) {
    status = WriteRedeliveries(batch, ordered, [&](auto& b) {
      for (size_t i = 0; i < afters.size(); ++i) {
        DeliveryQueue::StageUpdate(&befores[i], afters[i], b, &queued_min,
                                   deps_.queue->partitions());
      }
    });
  }
  // None of them was in the queue before: only what was written is noted.
  Release(std::move(reserved),
          status.ok() ? queued_min : DeliveryQueue::kNothingQueued);
  RETURN_IF_ERROR(status);
  Wake();
  return recovered;
}

absl::StatusOr<std::vector<AttemptRecord>> DeliveryDispatcher::InFlight(
    std::string_view subscription_id) const {
  // A lease keeps its event only while outcomes are watched: the others'
  // events are read from the store.
  std::vector<AttemptRecord> attempts;  // rendered from their kept events
  std::vector<std::shared_ptr<const internal::EventRecord>> events;
  std::vector<AttemptRecord> unread;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, lease] : leased_) {
      // Null: its request is being built.
      if (lease == nullptr ||
          lease->attempt.subscription_id() != subscription_id) {
        continue;
      }
      if (lease->event == nullptr) {
        unread.push_back(lease->attempt);
      } else {
        attempts.push_back(lease->attempt);
        events.push_back(lease->event);
      }
    }
  }
  // Bodies rendered without holding up the fetch and write threads.
  for (size_t i = 0; i < attempts.size(); ++i) {
    FillRequestBody(events[i].get(), attempts[i]);
  }
  RETURN_IF_ERROR(FillRequestBodies(*deps_.store, unread));
  for (AttemptRecord& attempt : unread) attempts.push_back(std::move(attempt));
  std::sort(attempts.begin(), attempts.end(),
            [](const AttemptRecord& a, const AttemptRecord& b) {
              return a.id() > b.id();
            });
  return attempts;
}

}  // namespace webhooks::core
