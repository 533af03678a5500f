// The DeliveryDispatcher tests' fixture and test doubles: a sender the test
// answers by hand (FakeSender) or one that answers from a thread of its own
// (AnsweringSender), a store whose scans read a snapshot like RocksDB's
// (SnapshotScanStore), a clock that can hold the fetch thread
// (FetchGateClock), and DeliveryDispatcherTest, which builds a dispatcher
// over them. The tests are in delivery_dispatcher_test.cc (outcomes),
// delivery_dispatcher_race_test.cc (fetch, writer and redelivery racing)
// and delivery_dispatcher_ordered_test.cc (ordered subscriptions).
#ifndef WEBHOOKS_CORE_DELIVERY_DISPATCHER_FIXTURE_H_
#define WEBHOOKS_CORE_DELIVERY_DISPATCHER_FIXTURE_H_

#include "core/delivery_dispatcher.h"

#include <pthread.h>

#include <deque>
#include <set>
#include <functional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "common/strings.h"
#include "core/registry_fixture.h"
#include "core/transaction_log.h"
#include "core/webhook_signature.h"
#include "gmock/gmock.h"

namespace webhooks::core {

// Records requests; the test answers them.
class FakeSender final : public HttpSender {
 public:
  void Send(HttpRequest request, HttpCallback done) override {
    absl::MutexLock lock(&mu_);
    pending_.push_back({std::move(request), std::move(done)});
  }
  int InFlight() const override {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(pending_.size());
  }
  void Shutdown(absl::Duration) override {}
  // Waits up to `timeout` for a request to be sent; true when one is.
  bool AwaitSent(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto sent = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !pending_.empty();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&sent), timeout);
  }
  // Waits for a request and answers it with `result`; returns the request.
  HttpRequest Answer(HttpResult result) {
    std::pair<HttpRequest, HttpCallback> next;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return !pending_.empty();
      };
      EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(10)))
          << "no request was sent";
      if (pending_.empty()) return {};
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    next.second(std::move(result));
    return next.first;
  }

 private:
  mutable absl::Mutex mu_;
  std::deque<std::pair<HttpRequest, HttpCallback>> pending_ ABSL_GUARDED_BY(mu_);
};

inline HttpResult Status(int code, std::string reason, HttpHeaders headers = {}) {
  HttpResult r;
  r.outcome = HttpResult::Outcome::kResponse;
  r.status_code = code;
  r.reason = std::move(reason);
  r.headers = std::move(headers);
  r.elapsed = absl::Milliseconds(3);
  return r;
}

inline std::string Header(const HttpRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return v;
  }
  return "";
}

// Answers every request from a thread of its own as soon as it is sent (so
// outcomes are written while the dispatcher fetches), and counts sends: a
// delivery sent again while still in flight is a duplicate.
class AnsweringSender final : public HttpSender {
 public:
  explicit AnsweringSender(std::function<HttpResult(const HttpRequest&)> answer)
      : answer_(std::move(answer)), thread_([this] { Run(); }) {}
  ~AnsweringSender() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  void Send(HttpRequest request, HttpCallback done) override {
    absl::MutexLock lock(&mu_);
    const std::string id = Header(request, "webhook-id");
    if (!in_flight_.insert(id).second) ++duplicates_;
    ++sends_[id];
    queue_.push_back({std::move(request), std::move(done)});
  }
  int InFlight() const override {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(in_flight_.size());
  }
  void Shutdown(absl::Duration) override {}
  int duplicates() const {
    absl::MutexLock lock(&mu_);
    return duplicates_;
  }
  int sends(const std::string& id) const {
    absl::MutexLock lock(&mu_);
    auto it = sends_.find(id);
    return it == sends_.end() ? 0 : it->second;
  }

 private:
  void Run() {
    while (true) {
      std::pair<HttpRequest, HttpCallback> next;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return stopping_ || !queue_.empty();
        };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        next = std::move(queue_.front());
        queue_.pop_front();
        in_flight_.erase(Header(next.first, "webhook-id"));
      }
      next.second(answer_(next.first));
    }
  }

  const std::function<HttpResult(const HttpRequest&)> answer_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::pair<HttpRequest, HttpCallback>> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> sends_ ABSL_GUARDED_BY(mu_);
  int duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// A view of a store whose scans behave like RocksDB's: they read a
// snapshot taken when the scan starts and visit it without holding any lock,
// so writes can complete while a scan is still visiting what they changed.
// With `slow` each visited entry takes a moment, to widen that window.
class SnapshotScanStore final : public storage::Store {
 public:
  explicit SnapshotScanStore(storage::Store* inner) : inner_(inner) {}
  absl::StatusOr<std::optional<std::string>> Get(
      storage::Column column, std::string_view key) const override {
    if (column == storage::Column::kTransactionEvents &&
        failing_event_reads.fetch_sub(1) > 0) {
      return absl::UnavailableError("injected: the disk is unreadable");
    }
    if (column == storage::Column::kTransactionEvents) {
      ++event_gets;
      RunOnce(before_next_event_read_);
    }
    return inner_->Get(column, key);
  }
  // The dispatcher reads each fetch's events at once: that read fails like
  // Get while event reads fail, and while `failing_prefetches` lasts (the
  // events are then read one by one, as their requests are built).
  absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      storage::Column column,
      std::span<const std::string> keys) const override {
    if (column == storage::Column::kTransactionEvents &&
        (failing_prefetches.fetch_sub(1) > 0 ||
         failing_event_reads.fetch_sub(1) > 0)) {
      return absl::UnavailableError("injected: the disk is unreadable");
    }
    if (column == storage::Column::kTransactionEvents) ++event_multi_gets;
    return inner_->MultiGet(column, keys);
  }
  absl::Status Write(const storage::WriteBatch& batch,
                     storage::WriteOptions options) override {
    RunOnce(before_next_write_);
    return inner_->Write(batch, options);
  }
  // Runs `hook` on the thread of the next write, before it is made.
  void BeforeNextWrite(std::function<void()> hook) {
    Set(before_next_write_, std::move(hook));
  }
  // Runs `hook` on the thread of the next read of a stored event (the
  // dispatcher reads one while it builds a request), before it is made.
  void BeforeNextEventRead(std::function<void()> hook) {
    Set(before_next_event_read_, std::move(hook));
  }
  absl::Status Scan(storage::Column column, std::string_view start,
                    std::string_view end,
                    storage::ScanVisitor visitor) const override {
    std::vector<std::pair<std::string, std::string>> snapshot;
    absl::Status status =
        inner_->Scan(column, start, end, [&](std::string_view k, std::string_view v) {
          snapshot.emplace_back(k, v);
          return true;
        });
    if (!status.ok()) return status;
    for (const auto& [key, value] : snapshot) {
      if (slow.load()) absl::SleepFor(absl::Microseconds(50));
      if (!visitor(key, value)) break;
    }
    return absl::OkStatus();
  }
  std::atomic<bool> slow{false};
  // Reads of stored events that fail (UNAVAILABLE) before they work again.
  mutable std::atomic<int> failing_event_reads{0};
  mutable std::atomic<int> failing_prefetches{0};
  // Reads of stored events: one by one, and a fetch's at once.
  mutable std::atomic<int> event_gets{0};
  mutable std::atomic<int> event_multi_gets{0};

 private:
  void Set(std::function<void()>& slot, std::function<void()> hook) {
    absl::MutexLock lock(&hook_mu_);
    slot = std::move(hook);
  }
  // Takes the hook out of `slot` (so it runs once) and runs it.
  void RunOnce(std::function<void()>& slot) const {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&hook_mu_);
      hook.swap(slot);
    }
    if (hook) hook();
  }

  storage::Store* const inner_;
  mutable absl::Mutex hook_mu_;
  mutable std::function<void()> before_next_write_ ABSL_GUARDED_BY(hook_mu_);
  mutable std::function<void()> before_next_event_read_
      ABSL_GUARDED_BY(hook_mu_);
};

// A clock that, once armed, holds the dispatcher's fetch thread at its next
// reading of the time (a fetch reads it just before it scans the queue)
// until released, so a test can finish an outcome while a fetch has begun
// but not yet scanned.
class FetchGateClock final : public Clock {
 public:
  explicit FetchGateClock(const Clock* inner) : inner_(inner) {}
  absl::Time Now() const override {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    if (std::string_view(name) == "dispatch-fetch") {
      absl::MutexLock lock(&mu_);
      if (armed_) {
        held_ = true;
        mu_.Await(absl::Condition(
            +[](bool* armed) { return !*armed; }, &armed_));
        held_ = false;
      }
    }
    return inner_->Now();
  }
  void Arm() {
    absl::MutexLock lock(&mu_);
    armed_ = true;
    held_ = false;
  }
  // Waits until the fetch thread is held.
  bool AwaitHeld() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&held_), absl::Seconds(10));
  }
  // Lets the fetch thread go, and waits until it has (so an Arm right
  // after holds it at a later reading).
  void Release() {
    absl::MutexLock lock(&mu_);
    armed_ = false;
    mu_.Await(absl::Condition(
        +[](bool* held) { return !*held; }, &held_));
  }

 private:
  const Clock* const inner_;
  mutable absl::Mutex mu_;
  mutable bool armed_ ABSL_GUARDED_BY(mu_) = false;
  mutable bool held_ ABSL_GUARDED_BY(mu_) = false;
};

class DeliveryDispatcherTest : public RegistryFixture {
 protected:
  void Build(RetryOptions retry_options = {}, int failure_limit = 50,
             int keep = 50, HttpSender* sender = nullptr) {
    matcher_ = std::make_unique<EventMatcher>(&registry_->index(),
                                              directory_.get());
    log_ = std::make_unique<TransactionLog>(&view_, &queue_, matcher_.get(),
                                            catalog_.get(), &clock_, &random_,
                                            options_.limits, TransactionOptions());
    log_->EnableOrdering(&registry_->ordering(), &sequencer_);
    attempts_ = std::make_unique<AttemptLog>(&store_, keep, options_.limits);
    retry_ = std::make_unique<RetryPolicy>(std::move(retry_options), &random_);
    DispatcherOptions options;
    options.failure_limit = failure_limit;
    options.idle_poll = absl::Milliseconds(5);
    options.max_leased = max_leased_;
    options.fetch_batch = fetch_batch_;
    options.max_waiting = max_waiting_;
    options.max_recorded_body = max_recorded_body_;
    options.saturated_write_interval = saturated_write_interval_;
    dispatcher_ = std::make_unique<DeliveryDispatcher>(
        DispatcherDeps{&view_, &queue_, registry_.get(), catalog_.get(),
                       attempts_.get(), retry_.get(),
                       sender != nullptr ? sender : &sender_, &bus_,
                       &dispatch_clock_, &random_, nullptr, &sequencer_},
        options);
    if (watch_outcomes_) WatchOutcomes();
    dispatcher_->Start();
  }
  void TearDown() override { dispatcher_.reset(); }

  // Collects every outcome notice into notices_ (Build does, unless
  // watch_outcomes_ is false).
  void WatchOutcomes() {
    bus_.Subscribe([this](const OutcomeNotice& n) {
      absl::MutexLock lock(&notices_mu_);
      notices_.push_back(n);
    });
  }

  std::string Commit(std::string tx) {
    EventRecord e;
    e.set_id("e1");
    e.set_site("/NOAA");
    e.add_resource_types("user");
    e.add_event_types("added");
    (*e.mutable_representations())["webhook-delivery"].set_body("{\"n\":1}");
    EXPECT_TRUE(log_->Prepare("pub", tx, {e}, std::nullopt).ok());
    EXPECT_TRUE(log_->Commit("pub", tx).ok());
    auto due = queue_.Due(clock_.Now(), 10);
    dispatcher_->Wake();
    return due.ok() && !due->empty() ? due->front().id() : "";
  }

  // Waits until the delivery's stored state satisfies `done`.
  DeliveryRecord WaitFor(const std::string& id,
                         std::function<bool(const DeliveryRecord&)> done) {
    for (int i = 0; i < 2000; ++i) {
      absl::StatusOr<DeliveryRecord> d = queue_.Get(id);
      if (d.ok() && done(*d)) return *d;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "delivery " << id << " never reached the state";
    return DeliveryRecord();
  }

  std::vector<AttemptRecord> Attempts(const std::string& subscription) {
    auto page = attempts_->List(subscription, std::nullopt, 100, "");
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->attempts : std::vector<AttemptRecord>{};
  }

  bool watch_outcomes_ = true;
  int max_leased_ = DispatcherOptions().max_leased;
  // Deliveries whose first attempt the answering sender failed (its thread).
  absl::flat_hash_set<std::string> sender_first_;
  int fetch_batch_ = DispatcherOptions().fetch_batch;
  size_t max_waiting_ = DispatcherOptions().max_waiting;
  size_t max_recorded_body_ = DispatcherOptions().max_recorded_body;
  absl::Duration saturated_write_interval_ =
      DispatcherOptions().saturated_write_interval;
  FakeSender sender_;
  FetchGateClock dispatch_clock_{&clock_};
  OutcomeBus bus_;
  SnapshotScanStore view_{&store_};
  DeliveryQueue queue_{&view_};
  storage::Sequencer sequencer_{&view_};
  std::unique_ptr<EventMatcher> matcher_;
  std::unique_ptr<TransactionLog> log_;
  std::unique_ptr<AttemptLog> attempts_;
  std::unique_ptr<RetryPolicy> retry_;
  // Declared before dispatcher_, so it outlives it.
  std::unique_ptr<AnsweringSender> answering_;
  std::unique_ptr<DeliveryDispatcher> dispatcher_;
  absl::Mutex notices_mu_;
  std::vector<OutcomeNotice> notices_ ABSL_GUARDED_BY(notices_mu_);
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DELIVERY_DISPATCHER_FIXTURE_H_
