// Writing outcomes back (the dispatcher's writer thread): each arrived
// result becomes the attempt's record, the delivery's next state (done,
// failed for good, or queued for a retry) and the subscription's health,
// all in one synced batch per wake-up; see delivery_dispatcher.h.
#include <utility>

#include "core/attempt_body.h"
#include "core/attempt_outcome.h"
#include "core/delivery_dispatcher.h"

namespace webhooks::core {
namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// A lease whose response kept more than this is not reused: its storage
// would stay allocated while it waits to be filled again.
constexpr size_t kMaxReusedResponseBytes = 4 << 10;
constexpr int kMaxReusedResponseHeaders = 32;

}  // namespace

bool DeliveryDispatcher::ClearForReuse(Lease& lease) {
  if (lease.attempt.response_body().capacity() > kMaxReusedResponseBytes ||
      lease.attempt.response_headers_size() > kMaxReusedResponseHeaders) {
    return false;
  }
  // No Clear of lease.delivery: Launch hands the emptied-by-swap record to
  // the queue scan, whose parse clears it. The attempt keeps its body
  // reference (a message Clear would delete) for Prepare to fill again.
  internal::RequestBodyReference* reference =
      lease.attempt.has_request_body_reference()
          ? lease.attempt.release_request_body_reference()
          : nullptr;
  lease.attempt.Clear();
  if (reference != nullptr) {
    reference->Clear();
    lease.attempt.set_allocated_request_body_reference(reference);
  }
  lease.event.reset();
  lease.owner.clear();
  lease.retries.clear();
  lease.throttled = false;
  return true;
}

void DeliveryDispatcher::WriteBack(std::vector<Arrival> arrivals) {
  const absl::Time now = deps_.clock->Now();
  const bool watched =
      deps_.outcomes != nullptr && deps_.outcomes->HasListeners();
  storage::WriteBatch batch;
  int64_t queued_min = DeliveryQueue::kNothingQueued;
  // Due times of leases left pending as they were: the queue must see them
  // again (NextDue's contract).
  int64_t unwritten_min = DeliveryQueue::kNothingQueued;
  int64_t written_min = DeliveryQueue::kNothingQueued;
  std::vector<SubscriptionRegistry::AttemptOutcome> health;
  std::vector<OutcomeNotice> notices;
  std::vector<std::string> done;
  std::vector<std::unique_ptr<Lease>> leases;
  bool draining;
  {
    absl::MutexLock lock(&mu_);
    draining = draining_;
    leases.reserve(arrivals.size());
    for (const Arrival& arrival : arrivals) {
      auto it = leased_.find(arrival.delivery_id);
      if (it == leased_.end() || it->second == nullptr) {
        // Not leased, or its request still being built (neither can
        // happen once sent): skipped below.
        leases.emplace_back();
        continue;
      }
      std::unique_ptr<Lease>& lease =
          leases.emplace_back(std::move(it->second));
      leased_.erase(it);
      writing_.insert(arrival.delivery_id);
      done.push_back(arrival.delivery_id);
      if (lease->throttled) throttle_.Done(lease->delivery.subscription_id());
      if (lease->WaitedOn()) --waited_on_;
    }
  }
  std::vector<bool> staged(arrivals.size(), false);
  for (size_t i = 0; i < arrivals.size(); ++i) {
    if (leases[i] == nullptr) continue;
    Lease& lease = *leases[i];
    const HttpResult& result = arrivals[i].result;
    if (!deps_.queue->Holds(lease.delivery)) {
      // Its partition may have passed to another node, which sends it
      // again: it stays pending on disk as it was.
      unwritten_min = std::min(unwritten_min, lease.delivery.next_attempt_micros());
      continue;
    }
    if (result.outcome == HttpResult::Outcome::kRejected && draining) {
      // Not sent (shutting down): stays pending on disk.
      unwritten_min = std::min(unwritten_min, lease.delivery.next_attempt_micros());
      continue;
    }
    // Otherwise a rejected request (say, a scheme no longer allowed) is a
    // failed attempt like any other, so it is not fetched again at once.
    const Classified c = ClassifyResult(result, now);
    AttemptRecord& attempt = lease.attempt;
    attempt.set_status(c.success ? AttemptRecord::SUCCESSFUL
                                 : AttemptRecord::FAILED);
    attempt.set_message(c.message);
    attempt.set_response_status(result.status_code);
    attempt.set_response_reason(result.reason);
    CopyHeaders(result.headers, attempt.mutable_response_headers());
    attempt.set_response_body(result.body);
    attempt.set_response_body_truncated(result.body_truncated);
    attempt.set_elapsed_micros(absl::ToInt64Microseconds(result.elapsed));
    attempt.set_complete_time_micros(Micros(now));

    // The lease's own record becomes the new one (no copy).
    DeliveryRecord& after = lease.delivery;
    const int64_t leased_due = after.next_attempt_micros();
    after.set_attempt_count(after.attempt_count() + 1);
    if (c.success) {
      after.set_state(DeliveryRecord::SUCCEEDED);
    } else if (c.gone) {
      after.set_state(DeliveryRecord::FAILED);
    } else {
      std::optional<absl::Duration> delay = deps_.retry->DelayAfterFailure(
          after.attempt_count(), c.retry_after, lease.retries);
      if (delay.has_value()) {
        after.set_next_attempt_micros(Micros(now + *delay));
        ++stats_.retries_scheduled;
      } else {
        after.set_state(DeliveryRecord::FAILED);
      }
    }
    if (after.state() == DeliveryRecord::FAILED) ++stats_.deliveries_failed;
    if (!deps_.attempts->StageAppend(attempt, batch).ok()) {
      unwritten_min = std::min(unwritten_min, leased_due);
      continue;
    }
    written_min = std::min(written_min, leased_due);
    DeliveryQueue::StageReplacePending(leased_due, after, batch, &queued_min,
                                       deps_.queue->partitions());
    staged[i] = true;
    health.push_back(
        {attempt.subscription_id(),
         c.success ? SubscriptionRegistry::AttemptOutcome::Kind::kSucceeded
         : c.gone  ? SubscriptionRegistry::AttemptOutcome::Kind::kGone
                   : SubscriptionRegistry::AttemptOutcome::Kind::kFailed});
    ++(c.success ? stats_.attempts_succeeded : stats_.attempts_failed);
    if (deps_.metrics != nullptr) {
      deps_.metrics->AttemptEnded(MetricOutcome(result, c), result.elapsed);
    }
    if (watched) {
      if (lease.event != nullptr) {
        FillRequestBody(lease.event.get(), attempt);
      } else if (!FillRequestBodies(*deps_.store, {&attempt, 1}).ok()) {
        FillRequestBody(nullptr, attempt);  // unreadable now: no body to show
      }
      notices.push_back(OutcomeNotice{
          c.success ? OutcomeNotice::Kind::kAttemptSucceeded
                    : OutcomeNotice::Kind::kAttemptFailed,
          attempt.subscription_id(), lease.owner, std::move(attempt), "", now});
    }
  }
  if (deps_.metrics != nullptr && !health.empty()) {
    deps_.metrics->OutcomesWritten(static_cast<int>(health.size()));
  }
  absl::Status written = batch.empty() ? absl::OkStatus()
                                       : deps_.store->Write(batch);
  ++stats_.write_batches;
  // Where the queue must look again; Release notes it (below) once these
  // deliveries are no longer busy.
  const int64_t to_note = written.ok() ? std::min(queued_min, unwritten_min)
                                       : std::min(written_min, unwritten_min);
  if (!written.ok()) {
    // Nothing of this batch is on disk: the deliveries stay pending and are
    // sent again; the attempt rings must be reloaded.
    for (const auto& outcome : health) {
      deps_.attempts->Invalidate(outcome.subscription_id);
    }
    notices.clear();
    health.clear();
  }
  // Ordered deliveries' turns end; a final outcome on disk lets the next go.
  std::vector<TurnEnd> turns;
  for (size_t i = 0; i < leases.size(); ++i) {
    if (leases[i] == nullptr) continue;
    const DeliveryRecord& d = leases[i]->delivery;
    if (d.order_seq() == 0 || d.id().empty()) continue;
    turns.push_back({OrderLaneOf(d), d.id(),
                     written.ok() && staged[i] &&
                         d.state() != DeliveryRecord::PENDING});
  }
  if (!turns.empty()) EndTurns(turns);
  absl::StatusOr<std::vector<SubscriptionRegistry::Deactivation>> deactivated =
      deps_.registry->RecordAttemptOutcomes(health, options_.failure_limit);
  stats_.in_flight -= static_cast<int64_t>(done.size());
  Release(std::move(done), to_note);
  // The leases go back to the fetch thread, emptied but with their storage.
  size_t kept = 0;
  for (size_t i = 0; i < leases.size(); ++i) {
    if (leases[i] == nullptr || !ClearForReuse(*leases[i])) continue;
    if (kept != i) leases[kept] = std::move(leases[i]);
    ++kept;
  }
  leases.resize(kept);
  {
    absl::MutexLock lock(&spare_mu_);
    const size_t room =
        static_cast<size_t>(options_.max_leased) > spare_leases_.size()
            ? static_cast<size_t>(options_.max_leased) - spare_leases_.size()
            : 0;
    for (size_t i = 0; i < leases.size() && i < room; ++i) {
      spare_leases_.push_back(std::move(leases[i]));
    }
  }
  if (deps_.outcomes == nullptr) return;
  for (OutcomeNotice& notice : notices) deps_.outcomes->Publish(notice);
  if (!deactivated.ok()) return;
  for (const auto& d : *deactivated) {
    ++stats_.subscriptions_deactivated;
    deps_.outcomes->Publish(OutcomeNotice{
        OutcomeNotice::Kind::kSubscriptionDeactivated, d.subscription_id,
        d.owner, AttemptRecord(), d.message, now});
  }
}

}  // namespace webhooks::core
