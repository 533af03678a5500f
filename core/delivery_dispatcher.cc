#include "core/delivery_dispatcher.h"

#include <pthread.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "core/attempt_body.h"
#include "core/attempt_outcome.h"
#include "core/delivery_control.h"
#include "core/delivery_events.h"
#include "core/event_validation.h"
#include "core/request_renderer.h"
#include "core/validation.h"

namespace webhooks::core {
namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// A failure of the store (or of the process) rather than of the delivery:
// what Prepare reports for the delivery itself — its subscription gone or
// inactive (NOT_FOUND, FAILED_PRECONDITION), its event corrupt (DATA_LOSS),
// a request that cannot be rendered (INVALID_ARGUMENT) — resolves it.
bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsResourceExhausted(status) ||
         absl::IsAborted(status) || absl::IsInternal(status) ||
         absl::IsDeadlineExceeded(status) || absl::IsUnknown(status);
}

}  // namespace

struct DeliveryDispatcher::FetchCache {
  static constexpr size_t kMaxSubscriptions = 16384;
  uint64_t registry_generation = 0;
  absl::flat_hash_map<std::string, absl::StatusOr<SubscriptionRecord>>
      subscriptions;
  explicit FetchCache(const storage::Store* store) : events(store) {}
  DeliveryEvents events;
  absl::flat_hash_map<std::string, absl::StatusOr<DialectRecord>> dialects;
  // Each subscription's signer, kept with the secrets it was built from
  // (they are checked at each use: a rotation's overlap ends in time, not
  // by a registry change); cleared with `subscriptions`.
  struct Signer {
    std::string secret;
    std::string previous;
    std::unique_ptr<WebhookSigner> signer;
  };
  absl::flat_hash_map<std::string, Signer> signers;
  // Emptied leases taken from spare_leases_, filled again by Launch (their
  // delivery records still hold the last ones: Launch swaps them out).
  std::vector<std::unique_ptr<Lease>> spare_leases;
  // The records those leases held, for the next scan to parse into (a
  // parse clears first).
  std::vector<DeliveryRecord> spare_records;

  const WebhookSigner& SignerOf(const SubscriptionRecord& subscription,
                                absl::Time now) {
    Signer& kept = signers[subscription.id()];
    if (kept.signer == nullptr ||
        !SameSigningSecrets(subscription, now, kept.secret, kept.previous)) {
      std::vector<std::string> secrets = SigningSecrets(subscription, now);
      kept.secret = secrets.front();
      kept.previous = secrets.size() > 1 ? secrets[1] : std::string();
      kept.signer = std::make_unique<WebhookSigner>(secrets);
    }
    return *kept.signer;
  }
};

DeliveryDispatcher::DeliveryDispatcher(const DispatcherDeps& deps,
                                       const DispatcherOptions& options)
    : deps_(deps),
      options_(options),
      waiting_(options.max_waiting),
      order_(options.max_waiting),
      cache_(std::make_unique<FetchCache>(deps.store)) {}

DeliveryDispatcher::~DeliveryDispatcher() { Shutdown(absl::ZeroDuration()); }

void DeliveryDispatcher::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  fetch_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "dispatch-fetch");
    FetchLoop();
  });
  write_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "dispatch-write");
    WriteLoop();
  });
}

void DeliveryDispatcher::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
  cv_.SignalAll();
}

void DeliveryDispatcher::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    draining_ = true;
    cv_.SignalAll();
    {
      // The writer stops waiting for larger batches: the grace is for
      // writing what arrives.
      absl::MutexLock arrivals_lock(&arrivals_mu_);
      writer_draining_ = true;
      arrivals_cv_.Signal();
    }
    const absl::Time deadline = absl::Now() + grace;
    while (Held() > 0 && absl::Now() < deadline) {
      cv_.WaitWithDeadline(&mu_, deadline);
    }
    stopping_ = true;
    cv_.SignalAll();
    absl::MutexLock arrivals_lock(&arrivals_mu_);
    writer_stopping_ = true;
    arrivals_cv_.Signal();
  }
  fetch_thread_.join();
  write_thread_.join();
}

bool DeliveryDispatcher::Busy(std::string_view id) const {
  const auto key = AsAbsl(id);
  return leased_.contains(key) || writing_.contains(key) ||
         resolved_during_fetch_.contains(key) || waiting_.Contains(id) ||
         order_.Contains(id);
}

void DeliveryDispatcher::FetchLoop() {
  bool more = false;  // the last fetch took all it asked for
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time deadline = absl::Now() + options_.idle_poll;
      const auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !draining_ && Held() < static_cast<size_t>(options_.max_leased);
      };
      // A waiting delivery's subscription gets its next token.
      const auto throttle_due = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return throttle_wake_ <= absl::Now();
      };
      bool timed_out = false;
      while (!stopping_ &&
             !(room() && (woken_ || more || throttle_due())) && !timed_out) {
        absl::Time until = deadline;
        if (room()) until = std::min(deadline, throttle_wake_);
        // Woken early for a token: the loop's test sees it.
        timed_out = cv_.WaitWithDeadline(&mu_, until) && absl::Now() >= deadline;
      }
      if (stopping_) return;
      if (!room()) continue;  // full or draining: wait again
      woken_ = false;
    }
    more = Fetch();
  }
}

bool DeliveryDispatcher::BatchOutcomes() const {
  return options_.saturated_write_interval > absl::ZeroDuration() &&
         waited_on_.load(std::memory_order_relaxed) == 0 &&
         2 * stats_.in_flight.load(std::memory_order_relaxed) >=
             options_.max_leased;
}

size_t DeliveryDispatcher::OutcomeBatchTarget() const {
  return static_cast<size_t>(std::max(1, options_.max_leased / 4));
}

void DeliveryDispatcher::WriteLoop() {
  absl::Time last_write = absl::InfinitePast();
  while (true) {
    std::vector<Arrival> arrivals;
    {
      absl::MutexLock lock(&arrivals_mu_);
      while (!writer_stopping_ && arrivals_.empty()) {
        arrivals_cv_.Wait(&arrivals_mu_);
      }
      // Saturated: the outcomes that arrive meanwhile join this write. At
      // this rate each synced write's fixed cost (the sync, the wake-ups,
      // the scan that follows) is worth sharing; a delivery's receipt is
      // not delayed, only its outcome's write.
      const absl::Time until = last_write + options_.saturated_write_interval;
      while (!writer_draining_ && arrivals_.size() < OutcomeBatchTarget() &&
             BatchOutcomes() && absl::Now() < until) {
        arrivals_cv_.WaitWithDeadline(&arrivals_mu_, until);
      }
      if (arrivals_.empty()) return;  // stopping
      arrivals.swap(arrivals_);
    }
    last_write = absl::Now();
    WriteBack(std::move(arrivals));
  }
}

bool DeliveryDispatcher::Fetch() {
  size_t room;
  {
    absl::MutexLock lock(&mu_);
    room = static_cast<size_t>(options_.max_leased) - Held();
    fetching_ = true;
    resolved_during_fetch_.clear();
  }
  const int limit = static_cast<int>(
      std::min<size_t>(room, static_cast<size_t>(options_.fetch_batch)));
  // Before anything is read: a change after this is seen by the next fetch.
  FetchCache& cache = *cache_;
  const uint64_t generation = deps_.registry->generation();
  if (generation != cache.registry_generation ||
      cache.subscriptions.size() > FetchCache::kMaxSubscriptions) {
    cache.subscriptions.clear();
    cache.signers.clear();
    cache.registry_generation = generation;
  }
  cache.events.Clear();
  cache.dialects.clear();
  {
    absl::MutexLock lock(&spare_mu_);
    if (cache.spare_leases.empty()) {
      cache.spare_leases.swap(spare_leases_);
    } else {
      for (std::unique_ptr<Lease>& lease : spare_leases_) {
        cache.spare_leases.push_back(std::move(lease));
      }
      spare_leases_.clear();
    }
  }
  bool storage_trouble = false;
  SendReleased(cache, storage_trouble);
  SendWaiting(cache, storage_trouble);
  absl::StatusOr<std::vector<DeliveryRecord>> due = deps_.queue->NextDue(
      deps_.clock->Now(), limit,
      [this](std::string_view id) {
        absl::MutexLock lock(&mu_);
        return Busy(id);
      },
      &cache.spare_records);
  if (!due.ok()) storage_trouble = true;
  if (due.ok()) {
    cache.events.Prefetch(*due);
    OrderHeads heads;
    for (DeliveryRecord& delivery : *due) {
      if (delivery.order_seq() != 0) {
        DispatchOrdered(std::move(delivery), cache, heads, storage_trouble);
      } else {
        Dispatch(std::move(delivery), cache, storage_trouble);
      }
    }
  }
  absl::MutexLock lock(&mu_);
  fetching_ = false;
  resolved_during_fetch_.clear();
  cv_.SignalAll();  // Reserve may be waiting for one of them
  // Outcomes written during this fetch noted their entries before this
  // scan began or while it ran; it skipped them as busy, so the next scan
  // must start at them.
  deps_.queue->NoteEnqueued(resolved_during_fetch_due_);
  resolved_during_fetch_due_ = DeliveryQueue::kNothingQueued;
  // After storage trouble, try again at the next poll rather than at once.
  return !storage_trouble && static_cast<int>(due->size()) >= limit;
}

void DeliveryDispatcher::Dispatch(DeliveryRecord delivery, FetchCache& cache,
                                  bool& storage_trouble) {
  bool throttled = false;
  absl::StatusOr<const SubscriptionRecord*> subscription =
      SubscriptionOf(delivery.subscription_id(), cache);
  if (subscription.ok() && Throttled((*subscription)->delivery())) {
    const absl::Time now = deps_.clock->Now();
    absl::MutexLock lock(&mu_);
    if (Busy(delivery.id())) return;
    // Behind those waiting already, or over the limit: it waits.
    if (waiting_.Front(delivery.subscription_id()) != nullptr ||
        !throttle_.TryTake(delivery.subscription_id(),
                           (*subscription)->delivery(), now)) {
      const int64_t due_micros = delivery.next_attempt_micros();
      if (!waiting_.Add(std::move(delivery))) {
        // No room to wait in memory: left pending for a later scan.
        deps_.queue->NoteEnqueued(due_micros);
      } else {
        throttle_wake_ = absl::Now();  // the next SendWaiting computes it
      }
      return;
    }
    throttled = true;
  }
  Launch(std::move(delivery), cache, false, throttled, storage_trouble);
}

absl::StatusOr<const SubscriptionRecord*> DeliveryDispatcher::SubscriptionOf(
    const std::string& subscription_id, FetchCache& cache) {
  auto sub_it = cache.subscriptions.find(subscription_id);
  if (sub_it == cache.subscriptions.end()) {
    absl::StatusOr<SubscriptionRecord> loaded =
        deps_.registry->Get(subscription_id, Scope::All());
    // Kept: the record, or that there is none; not a failure to read.
    if (!loaded.ok() && !absl::IsNotFound(loaded.status())) {
      return loaded.status();
    }
    sub_it = cache.subscriptions.emplace(subscription_id, std::move(loaded))
                 .first;
  }
  if (!sub_it->second.ok()) return sub_it->second.status();
  return &*sub_it->second;
}

void DeliveryDispatcher::SendWaiting(FetchCache& cache, bool& storage_trouble) {
  std::vector<std::string> subscriptions;
  {
    absl::MutexLock lock(&mu_);
    throttle_wake_ = absl::InfiniteFuture();
    if (waiting_.empty()) return;
    subscriptions = waiting_.Subscriptions();
  }
  absl::Time wake = absl::InfiniteFuture();
  for (const std::string& id : subscriptions) {
    // Copied: later look-ups may move the cache's entries.
    DeliveryControlRecord control;
    bool known = false;
    if (absl::StatusOr<const SubscriptionRecord*> subscription =
            SubscriptionOf(id, cache);
        subscription.ok()) {
      control = (*subscription)->delivery();
      known = true;
    }
    // The clock is read outside mu_ (a test's clock may block).
    const absl::Time now = deps_.clock->Now();
    while (true) {
      DeliveryRecord next;
      bool throttled = false;
      {
        absl::MutexLock lock(&mu_);
        if (draining_ || Held() >= static_cast<size_t>(options_.max_leased)) {
          break;  // Release wakes the fetcher once there is room
        }
        const DeliveryRecord* front = waiting_.Front(id);
        if (front == nullptr) break;
        // Limits lifted, or the subscription gone (Launch resolves it):
        // no more waiting.
        if (known && Throttled(control)) {
          if (!throttle_.TryTake(id, control, now)) {
            // In real time: what the fetcher's waits are measured in.
            const absl::Time chance = throttle_.NextChance(id, control, now);
            if (chance != absl::InfiniteFuture()) {
              wake = std::min(wake, absl::Now() + (chance - now));
            }
            break;
          }
          throttled = true;
        }
        next = waiting_.PopFront(id);
        // Still busy (as leased) until Launch is done with it.
        leased_.emplace(next.id(), nullptr);
      }
      const std::string lane =
          next.order_seq() != 0 ? OrderLaneOf(next) : std::string();
      const std::string next_id = next.id();
      Launch(std::move(next), cache, true, throttled, storage_trouble);
      if (!lane.empty()) EndTurnIfIdle(lane, next_id);
    }
  }
  absl::MutexLock lock(&mu_);
  throttle_wake_ = std::min(throttle_wake_, wake);
}

void DeliveryDispatcher::Launch(DeliveryRecord delivery, FetchCache& cache,
                                bool from_waitroom, bool throttled,
                                bool& storage_trouble) {
  std::string id = delivery.id();  // moved into the callback at the end
  {
    absl::MutexLock lock(&mu_);
    if (!from_waitroom) {
      // The scan skipped what was busy; since then an outcome may have
      // been written or a redelivery may have taken it. Either notes it
      // again when it is done.
      if (Busy(id)) {
        if (throttled) throttle_.Return(delivery.subscription_id());
        return;
      }
      if (draining_ || Held() >= static_cast<size_t>(options_.max_leased)) {
        // Left pending: the next scan must see it again.
        deps_.queue->NoteEnqueued(delivery.next_attempt_micros());
        if (throttled) throttle_.Return(delivery.subscription_id());
        return;
      }
      // Leased from here, while its request is built: a redelivery that
      // starts now finds it busy instead of queueing it a second time.
      leased_.emplace(id, nullptr);
    }
  }
  if (from_waitroom && !deps_.queue->Holds(delivery)) {
    // Its partition passed to another node while it waited: that node
    // sends it.
    absl::MutexLock lock(&mu_);
    leased_.erase(id);
    if (throttled) throttle_.Return(delivery.subscription_id());
    return;
  }
  std::unique_ptr<Lease> lease;
  if (!cache.spare_leases.empty()) {
    lease = std::move(cache.spare_leases.back());
    cache.spare_leases.pop_back();
  } else {
    lease = std::make_unique<Lease>();
  }
  AttemptRecord& attempt = lease->attempt;
  absl::StatusOr<HttpRequest> request =
      Prepare(delivery, attempt, *lease, cache);
  if (!request.ok()) {
    const int64_t due_micros = delivery.next_attempt_micros();
    const bool transient = Transient(request.status());
    // Resolved while still held; left pending, noted once let go.
    if (!transient) Abandon(delivery, AsStd(request.status().message()));
    {
      absl::MutexLock lock(&mu_);
      leased_.erase(id);
    }
    if (throttled) throttle_.Return(delivery.subscription_id());
    if (transient) {
      // Storage trouble, not the delivery's: it stays pending and is
      // tried again at the next poll.
      deps_.queue->NoteEnqueued(due_micros);
      storage_trouble = true;
    }
    return;
  }
  const bool first_attempt = delivery.attempt_count() == 0;
  const int64_t since_commit_micros =
      attempt.create_time_micros() - delivery.create_time_micros();
  // A swap: `delivery` now holds the spare lease's old record, if any.
  lease->delivery = std::move(delivery);
  if (cache.spare_records.size() < static_cast<size_t>(options_.max_leased)) {
    cache.spare_records.push_back(std::move(delivery));
  }
  lease->throttled = throttled;
  const bool waited_on = lease->WaitedOn();
  if (waited_on) ++waited_on_;
  {
    absl::MutexLock lock(&mu_);
    leased_[id] = std::move(lease);
  }
  ++stats_.in_flight;
  if (deps_.metrics != nullptr && first_attempt) {
    deps_.metrics->FirstAttemptSent(absl::Microseconds(since_commit_micros));
  }
  // The callback runs once: it gives its id to the arrival.
  deps_.sender->Send(*std::move(request), [this, id = std::move(id), waited_on](
                                              HttpResult result) mutable {
    absl::MutexLock lock(&arrivals_mu_);
    // Only the writer waits for arrivals; it takes all there are, or waits
    // for a batch's worth (WriteLoop), which one waited on ends.
    arrivals_.push_back(Arrival{std::move(id), std::move(result)});
    if (arrivals_.size() == 1 || arrivals_.size() == OutcomeBatchTarget() ||
        waited_on) {
      arrivals_cv_.Signal();
    }
  });
}

absl::StatusOr<HttpRequest> DeliveryDispatcher::Prepare(
    const DeliveryRecord& delivery, AttemptRecord& attempt, Lease& lease,
    FetchCache& cache) {
  ASSIGN_OR_RETURN(const SubscriptionRecord* found,
                   SubscriptionOf(delivery.subscription_id(), cache));
  const SubscriptionRecord& subscription = *found;
  lease.owner = subscription.owner();
  if (!subscription.delivery().retry_schedule_micros().empty()) {
    lease.retries = RetrySchedule(subscription.delivery());
  }
  if (!subscription.active()) {
    return absl::FailedPreconditionError("The subscription is inactive.");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const EventRecord> stored,
                   cache.events.Get(delivery));
  if (stored == nullptr) {
    return absl::FailedPreconditionError(
        "The event is no longer stored (its transaction was forgotten).");
  }
  auto dialect_it = cache.dialects.find(delivery.dialect());
  if (dialect_it == cache.dialects.end()) {
    absl::StatusOr<DialectRecord> dialect =
        deps_.dialects->Get(delivery.dialect());
    if (!dialect.ok()) dialect = deps_.dialects->Get(kDefaultDialect);
    dialect_it =
        cache.dialects.emplace(delivery.dialect(), std::move(dialect)).first;
  }
  if (!dialect_it->second.ok()) return dialect_it->second.status();
  const DialectRecord& dialect = *dialect_it->second;
  const absl::Time now = deps_.clock->Now();
  // The URL may have changed since commit: send where the subscription
  // points now.
  const WebhookSigner& signer = cache.SignerOf(subscription, now);
  absl::StatusOr<HttpRequest> rendered;
  if (delivery.target_url() == subscription.target_url()) {
    rendered = RenderRequest(delivery, stored, dialect, signer, now,
                             attempt.mutable_request_headers_reference());
  } else {
    DeliveryRecord current = delivery;
    current.set_target_url(subscription.target_url());
    rendered = RenderRequest(current, stored, dialect, signer, now,
                             attempt.mutable_request_headers_reference());
  }
  if (!rendered.ok()) return rendered.status();
  HttpRequest& request = *rendered;
  request.bypass_proxy = subscription.bypass_proxy();
  // The subscription's own client certificate, else its dialect's.
  const bool own_cert = !subscription.client_certificate_pem().empty();
  request.client_certificate_pem = own_cert
                                       ? subscription.client_certificate_pem()
                                       : dialect.client_certificate_pem();
  request.client_key_pem =
      own_cert ? subscription.client_key_pem() : dialect.client_key_pem();
  request.connect_timeout =
      absl::Microseconds(subscription.delivery().connect_timeout_micros());
  request.total_timeout =
      absl::Microseconds(subscription.delivery().timeout_micros());
  attempt.set_id(NewId("att_", absl::ToUnixMillis(now), *deps_.random));
  attempt.set_delivery_id(delivery.id());
  attempt.set_subscription_id(delivery.subscription_id());
  attempt.set_transaction_id(delivery.transaction_id());
  attempt.set_event_id(delivery.event_id());
  attempt.set_attempt_number(delivery.attempt_count() + 1);
  attempt.set_status(AttemptRecord::PENDING);
  attempt.set_request_url(request.url);
  attempt.set_request_method(request.method);
  ReferToRequestBody(delivery, cache.events.KeyFor(delivery),
                     dialect.envelope(), options_.max_recorded_body, attempt);
  // Kept for the outcome's notice only while someone listens (one who
  // comes later has the event read again); otherwise it goes with this
  // fetch's events, freed by the thread that parsed it.
  if (deps_.outcomes != nullptr && deps_.outcomes->HasListeners()) {
    lease.event = std::move(stored);
  }
  attempt.set_create_time_micros(Micros(now));
  return std::move(request);
}

void DeliveryDispatcher::Abandon(const DeliveryRecord& delivery,
                                 std::string_view why) {
  DeliveryRecord after = delivery;
  after.set_state(DeliveryRecord::FAILED);
  storage::WriteBatch batch;
  DeliveryQueue::StageUpdate(&delivery, after, batch, nullptr,
                             deps_.queue->partitions());
  if (deps_.store->Write(batch).ok()) ++stats_.deliveries_failed;
  (void)why;  // not an attempt: the subscription's log is left alone
}

}  // namespace webhooks::core
