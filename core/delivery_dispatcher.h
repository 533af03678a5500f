// Sends pending deliveries: takes due ones from the DeliveryQueue in due
// order, renders each with its subscription's dialect and secrets, hands it
// to the HttpSender, and writes outcomes back in batches — the delivery's
// new state, its attempt record (ring buffer), the subscription's health —
// with one synced write per batch. A delivery stays in the queue on disk
// until its outcome is written, so one in flight when the process dies is
// sent again after restart, with the same webhook-id (at-least-once).
//
// Two threads: the fetcher reads due deliveries and hands them to the
// sender; the writer writes outcomes back as they arrive (saturated, it
// lets them gather into larger batches: saturated_write_interval), so a WAL
// sync never holds up fetching. A delivery is "busy" from its lease until its
// outcome is written, and also while a fetch that began before that write
// is running (its scan may have read the record as it was), so it is never
// leased twice.
//
//   DeliveryDispatcher dispatcher(deps, options);
//   dispatcher.Start();
//   dispatcher.Wake();              // after a commit
//   dispatcher.Shutdown(absl::Seconds(10));
//
// Thread-safe. Runs one thread of its own; the sender's callbacks only queue.
#ifndef WEBHOOKS_CORE_DELIVERY_DISPATCHER_H_
#define WEBHOOKS_CORE_DELIVERY_DISPATCHER_H_

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/random.h"
#include "core/attempt_log.h"
#include "core/delivery_metrics.h"
#include "core/delivery_order.h"
#include "core/delivery_order_gate.h"
#include "core/delivery_queue.h"
#include "core/delivery_throttle.h"
#include "core/delivery_waitroom.h"
#include "core/dialect_catalog.h"
#include "core/http_sender.h"
#include "core/outcome_bus.h"
#include "core/retry_policy.h"
#include "core/subscription_registry.h"
#include "storage/sequencer.h"
#include "storage/store.h"

namespace webhooks::core {

struct DispatcherDeps {
  storage::Store* store;
  DeliveryQueue* queue;
  SubscriptionRegistry* registry;
  const DialectCatalog* dialects;
  AttemptLog* attempts;
  const RetryPolicy* retry;
  HttpSender* sender;
  OutcomeBus* outcomes;  // may be null
  const Clock* clock;
  RandomSource* random;
  DeliveryMetrics* metrics = nullptr;  // may be null; must outlive Shutdown
  // Numbers redelivered deliveries of ordered subscriptions; null: they are
  // redelivered unordered.
  storage::Sequencer* sequencer = nullptr;
};

struct DispatcherOptions {
  // Deliveries handed to the sender and not yet written back, at most.
  int max_leased = 2048;
  // Due deliveries read from the queue per fetch.
  int fetch_batch = 512;
  // Longest sleep when nothing is due and nobody calls Wake.
  absl::Duration idle_poll = absl::Milliseconds(100);
  // Consecutive failed attempts that deactivate a subscription.
  int failure_limit = 50;
  // Bytes of a request body kept in its attempt record.
  size_t max_recorded_body = 64 << 10;
  // Deliveries held in memory while their subscription's rate limit or
  // in-flight cap makes them wait, at most (more stay in the queue, read
  // again by later scans); as many again of ordered deliveries waiting for
  // their turn.
  size_t max_waiting = 65536;
  // While the dispatcher is saturated (at least half of max_leased in
  // flight) and nothing in flight is ordered or held to a subscription's
  // limits, the writer starts a synced write at most this often, or once a
  // quarter of max_leased has arrived: outcomes then reach the disk in
  // fewer, larger batches. Otherwise (and with zero) each is written as
  // soon as the previous write ends.
  absl::Duration saturated_write_interval = absl::Milliseconds(5);
};

// Counters for the metrics endpoint. Monotonic unless noted.
struct DispatcherStats {
  std::atomic<int64_t> attempts_succeeded{0};
  std::atomic<int64_t> attempts_failed{0};
  std::atomic<int64_t> retries_scheduled{0};
  std::atomic<int64_t> deliveries_failed{0};  // schedule used up, 410, ...
  std::atomic<int64_t> subscriptions_deactivated{0};
  std::atomic<int64_t> in_flight{0};          // gauge
  std::atomic<int64_t> write_batches{0};
};

class DeliveryDispatcher {
 public:
  DeliveryDispatcher(const DispatcherDeps& deps, const DispatcherOptions& options);
  // Shutdown(0) when still running.
  ~DeliveryDispatcher();

  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Something may have become due (a commit, a redelivery).
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);
  // Stops taking work; lets outcomes of deliveries in flight arrive and be
  // written for up to `grace`; leaves everything else pending on disk.
  void Shutdown(absl::Duration grace) ABSL_LOCKS_EXCLUDED(mu_);

  // Makes a delivery pending again, due now. NOT_FOUND when unknown or
  // hidden from `scope`; FAILED_PRECONDITION while it is in flight or while
  // its subscription is inactive.
  absl::StatusOr<DeliveryRecord> Redeliver(std::string_view delivery_id,
                                           const Scope& scope)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Makes every FAILED delivery of the subscription created at or after
  // `since` pending again, due now. Returns how many. NOT_FOUND when the
  // subscription is unknown or hidden from `scope`.
  absl::StatusOr<int64_t> RecoverFailed(std::string_view subscription_id,
                                        absl::Time since, const Scope& scope)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Attempts in flight for a subscription (status PENDING), newest first
  // (not those whose outcome is being written at this moment), with their
  // request bodies; the store's error when an event cannot be read.
  absl::StatusOr<std::vector<AttemptRecord>> InFlight(
      std::string_view subscription_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  const DispatcherStats& stats() const { return stats_; }

 private:
  struct Lease {
    DeliveryRecord delivery;  // as stored when leased
    AttemptRecord attempt;    // PENDING, with the request
    // What the attempt's request body was rendered from (its record only
    // refers to it: core/attempt_body.h).
    std::shared_ptr<const internal::EventRecord> event;
    std::string owner;        // the subscription's, for watchers' scopes
    // The subscription's retry delays (empty: the server's schedule).
    std::vector<absl::Duration> retries;
    bool throttled = false;   // took from throttle_: Done when it ends
    // Whether another delivery waits for this one's outcome to be written
    // (the next of its ordered lane, or of its limited subscription): the
    // writer then does not hold it back for a batch (waited_on_).
    bool WaitedOn() const { return throttled || delivery.order_seq() != 0; }
  };
  // Empties a lease whose outcome was written so the fetch thread can fill
  // it again: its records keep their strings' and headers' storage, and
  // what they allocated is freed (if ever) on the thread that allocated
  // it. False when it holds too much to keep (a large response).
  static bool ClearForReuse(Lease& lease);
  struct Arrival {
    std::string delivery_id;
    HttpResult result;
  };

  // What fetches read: subscriptions (kept while the registry's generation
  // stays the same), events and dialects (for one fetch), so each is read
  // once however many deliveries share it.
  struct FetchCache;

  void FetchLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void WriteLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Reads due deliveries and hands them to the sender. Returns true when it
  // took as many as it asked for (more may be due).
  bool Fetch() ABSL_LOCKS_EXCLUDED(mu_);
  // The subscription of a delivery, read once per registry generation.
  // The pointer is good until the next look-up.
  absl::StatusOr<const SubscriptionRecord*> SubscriptionOf(
      const std::string& subscription_id, FetchCache& cache);
  // Sends the waiting deliveries whose subscriptions may send now; sets
  // throttle_wake_ to when the next of the others may.
  void SendWaiting(FetchCache& cache, bool& storage_trouble)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Leases one due delivery, builds its request and hands it to the
  // sender. `from_waitroom`: taken out of waiting_ (else read by a scan);
  // `throttled`: took from throttle_.
  void Launch(DeliveryRecord delivery, FetchCache& cache, bool from_waitroom,
              bool throttled, bool& storage_trouble) ABSL_LOCKS_EXCLUDED(mu_);
  // Builds the request of one due delivery; on failure resolves it.
  absl::StatusOr<HttpRequest> Prepare(const DeliveryRecord& delivery,
                                      AttemptRecord& attempt, Lease& lease,
                                      FetchCache& cache);
  size_t Held() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return leased_.size() + writing_.size();
  }
  bool Busy(std::string_view id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A change from outside the fetch and write threads (Redeliver,
  // RecoverFailed) holds the delivery busy while it reads and writes it, so
  // the fetcher neither sends it meanwhile nor loses it. Reserve fails when
  // it is busy already.
  bool Reserve(std::string_view id) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends what Reserve or an outcome's write held busy, then makes the queue
  // look again from `due_micros`: only once they are no longer busy, or a
  // scan could take the note and still skip them (and a fetch running now
  // notes it again when it ends).
  void Release(std::vector<std::string> ids, int64_t due_micros)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Redeliver's work; `held`: Reserve succeeded. Sets `to_note` to what
  // Release must note.
  absl::StatusOr<DeliveryRecord> RedeliverHeld(std::string_view delivery_id,
                                               const Scope& scope, bool held,
                                               int64_t& to_note);
  // Hands one due delivery read by a scan to the sender, or to the
  // waitroom when its subscription's limits hold it back.
  void Dispatch(DeliveryRecord delivery, FetchCache& cache,
                bool& storage_trouble) ABSL_LOCKS_EXCLUDED(mu_);

  // Ordered delivery (delivery_dispatcher_order.cc). The heads read in one
  // fetch, by lane.
  using OrderHeads =
      absl::flat_hash_map<std::string, std::optional<OrderHead>>;
  // Dispatch for a delivery with an order_seq: only in its turn (it is
  // its lane's head in the index and no other delivery of the lane is
  // being sent); otherwise it waits in order_.
  void DispatchOrdered(DeliveryRecord delivery, FetchCache& cache,
                       OrderHeads& heads, bool& storage_trouble)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Sends the first follower of each lane whose turn ended, when the index
  // says it is its turn now.
  void SendReleased(FetchCache& cache, bool& storage_trouble)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the turn of `id` if it is neither leased, written nor waiting for
  // its subscription's limits (it was not sent after all, or resolved).
  void EndTurnIfIdle(const std::string& lane, const std::string& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The turns WriteBack ended: `released` when the outcome was final and
  // written (the next of the lane may go).
  struct TurnEnd {
    std::string lane;
    std::string id;
    bool released = false;
  };
  void EndTurns(const std::vector<TurnEnd>& ends) ABSL_LOCKS_EXCLUDED(mu_);
  // Redeliver and RecoverFailed: writes `batch` after `stage`, numbering
  // `ordered` first (they join the end of their lane's order).
  absl::Status WriteRedeliveries(storage::WriteBatch& batch,
                                 std::vector<DeliveryRecord*> ordered,
                                 absl::FunctionRef<void(storage::WriteBatch&)> stage);

  // Writes back what arrived.
  void WriteBack(std::vector<Arrival> arrivals) ABSL_LOCKS_EXCLUDED(mu_);
  // Resolves a delivery that cannot be attempted (subscription gone, ...).
  void Abandon(const DeliveryRecord& delivery, std::string_view why);

  const DispatcherDeps deps_;
  const DispatcherOptions options_;
  DispatcherStats stats_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;  // no new work
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // thread must exit
  // By delivery id; null while Launch builds its request (held busy).
  // Leases are held by pointer: they move between the fetch thread, this
  // map, the writer and the spares, each move a pointer's.
  absl::flat_hash_map<std::string, std::unique_ptr<Lease>> leased_
      ABSL_GUARDED_BY(mu_);
  // Outcomes being written (taken out of leased_), and deliveries held by
  // Reserve.
  absl::flat_hash_set<std::string> writing_ ABSL_GUARDED_BY(mu_);
  // Written while the current fetch runs.
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::string> resolved_during_fetch_ ABSL_GUARDED_BY(mu_);
  // The earliest due time those outcomes queued: the current fetch's scan
  // may have taken their note yet skipped them, so it notes this again
  // when it ends (DeliveryQueue::kNothingQueued: none).
  int64_t resolved_during_fetch_due_ ABSL_GUARDED_BY(mu_) =
      DeliveryQueue::kNothingQueued;
  // Whether the writer may wait for more outcomes before its next write
  // (see saturated_write_interval).
  bool BatchOutcomes() const;
  // How many arrivals end that wait early.
  size_t OutcomeBatchTarget() const;
  // Leases of ordered deliveries and of deliveries that took from a
  // subscription's limits (throttle_): their outcome lets another go, so
  // the writer does not hold them back.
  std::atomic<int64_t> waited_on_{0};

  // Results on their way to the writer, under a lock of their own: the
  // curl thread adds one per request and should not contend for mu_ with
  // the fetch thread. Never held while taking mu_.
  absl::Mutex arrivals_mu_ ABSL_ACQUIRED_AFTER(mu_);
  absl::CondVar arrivals_cv_;
  std::vector<Arrival> arrivals_ ABSL_GUARDED_BY(arrivals_mu_);
  bool writer_stopping_ ABSL_GUARDED_BY(arrivals_mu_) = false;
  bool writer_draining_ ABSL_GUARDED_BY(arrivals_mu_) = false;
  // Read from the queue, waiting for their subscription's rate limit or
  // in-flight cap; busy like leased ones.
  DeliveryWaitroom waiting_ ABSL_GUARDED_BY(mu_);
  // Ordered deliveries: whose turn it is, and who waits for it; busy like
  // leased ones.
  DeliveryOrderGate order_ ABSL_GUARDED_BY(mu_);
  // When a waiting delivery may go next (InfiniteFuture: none, or only
  // when an attempt ends).
  absl::Time throttle_wake_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  DeliveryThrottle throttle_;
  // Leases the writer emptied (ClearForReuse), for the fetch thread to
  // take; never more than max_leased.
  absl::Mutex spare_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::vector<std::unique_ptr<Lease>> spare_leases_ ABSL_GUARDED_BY(spare_mu_);
  // Only the fetch thread touches it.
  std::unique_ptr<FetchCache> cache_;
  std::thread fetch_thread_;
  std::thread write_thread_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_DISPATCHER_H_
