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
namespace {

using ::testing::HasSubstr;

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

HttpResult Status(int code, std::string reason, HttpHeaders headers = {}) {
  HttpResult r;
  r.outcome = HttpResult::Outcome::kResponse;
  r.status_code = code;
  r.reason = std::move(reason);
  r.headers = std::move(headers);
  r.elapsed = absl::Milliseconds(3);
  return r;
}

std::string Header(const HttpRequest& request, std::string_view name) {
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
    dispatcher_ = std::make_unique<DeliveryDispatcher>(
        DispatcherDeps{&view_, &queue_, registry_.get(), catalog_.get(),
                       attempts_.get(), retry_.get(),
                       sender != nullptr ? sender : &sender_, &bus_,
                       &dispatch_clock_, &random_, nullptr, &sequencer_},
        options);
    bus_.Subscribe([this](const OutcomeNotice& n) {
      absl::MutexLock lock(&notices_mu_);
      notices_.push_back(n);
    });
    dispatcher_->Start();
  }
  void TearDown() override { dispatcher_.reset(); }

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

  int max_leased_ = DispatcherOptions().max_leased;
  // Deliveries whose first attempt the answering sender failed (its thread).
  absl::flat_hash_set<std::string> sender_first_;
  int fetch_batch_ = DispatcherOptions().fetch_batch;
  size_t max_waiting_ = DispatcherOptions().max_waiting;
  size_t max_recorded_body_ = DispatcherOptions().max_recorded_body;
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

// Outcomes written on one thread while the other fetches, retries due at
// once, and a lease cap smaller than the backlog: every delivery is sent
// exactly as many times as it has attempts, never twice at once, and
// nothing is left behind (the queue's low-water mark misses nothing).
TEST_F(DeliveryDispatcherTest, ConcurrentOutcomesNeverSendADeliveryTwice) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  RetryOptions retry;
  retry.schedule = {absl::ZeroDuration(), absl::ZeroDuration(),
                    absl::ZeroDuration()};
  retry.jitter = 0;
  max_leased_ = 16;
  fetch_batch_ = 7;
  answering_ = std::make_unique<AnsweringSender>([this](
                                                    const HttpRequest& request) {
    // Every third delivery fails its first attempt.
    const std::string id = Header(request, "webhook-id");
    const bool fail_first = std::hash<std::string>()(id) % 3 == 0;
    return fail_first && sender_first_.insert(id).second
               ? Status(500, "Internal Server Error")
               : Status(200, "OK");
  });
  AnsweringSender& sender = *answering_;
  view_.slow = true;
  Build(retry, /*failure_limit=*/1000000, /*keep=*/50, answering_.get());
  constexpr int kTransactions = 20, kEvents = 25;
  for (int t = 0; t < kTransactions; ++t) {
    std::vector<EventRecord> events;
    for (int e = 0; e < kEvents; ++e) {
      EventRecord event;
      event.set_id(StrCat("e", e));
      event.set_site("/NOAA");
      event.add_resource_types("user");
      event.add_event_types("added");
      (*event.mutable_representations())["webhook-delivery"].set_body(
          "{\"retry\":1}");
      events.push_back(std::move(event));
    }
    const std::string tx = StrCat("tx", t);
    ASSERT_TRUE(
        log_->Prepare("pub", tx, std::move(events), std::nullopt).ok());
    ASSERT_TRUE(log_->Commit("pub", tx).ok());
    dispatcher_->Wake();
  }
  absl::StatusOr<std::vector<DeliveryRecord>> all =
      queue_.Due(clock_.Now(), 100000);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> ids;
  for (const DeliveryRecord& d : *all) ids.push_back(d.id());
  // Some may already be done; collect every delivery from its record.
  ASSERT_TRUE(store_
                  .Scan(storage::Column::kDeliveries, "", "",
                        [&](std::string_view key, std::string_view) {
                          ids.emplace_back(key);
                          return true;
                        })
                  .ok());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ASSERT_EQ(ids.size(), static_cast<size_t>(kTransactions * kEvents));
  int attempts = 0;
  for (const std::string& id : ids) {
    DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
      return d.state() == DeliveryRecord::SUCCEEDED;
    });
    EXPECT_EQ(sender.sends(id), done.attempt_count()) << id;
    attempts += done.attempt_count();
  }
  EXPECT_EQ(sender.duplicates(), 0);
  EXPECT_GT(attempts, kTransactions * kEvents);  // some were retried
  EXPECT_EQ(*queue_.Depth(), 0);
}

// A delivery whose event cannot be read for a while (storage trouble) stays
// pending and is sent once the store answers again: it is not failed.
TEST_F(DeliveryDispatcherTest, StorageTroubleLeavesTheDeliveryPending) {
  MustCreate(Draft("/"));
  view_.failing_event_reads = 3;
  Build();
  const std::string id = Commit("tx");
  HttpRequest request = sender_.Answer(Status(200, "OK"));
  EXPECT_EQ(Header(request, "webhook-id"), id);
  EXPECT_LE(view_.failing_event_reads.load(), 0);  // the failures happened
  DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  EXPECT_EQ(done.attempt_count(), 1);
}

TEST_F(DeliveryDispatcherTest, AFetchReadsTheEventsOfItsDeliveriesAtOnce) {
  for (int i = 0; i < 3; ++i) {
    MustCreate(Draft("/", "https://example.com/hook" + std::to_string(i)));
  }
  Build();
  Commit("tx");  // one event, three deliveries, one write: one fetch
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sender_.Answer(Status(200, "OK")).body, "{\"n\":1}");
  }
  EXPECT_EQ(view_.event_gets.load(), 0);
  EXPECT_EQ(view_.event_multi_gets.load(), 1);
}

TEST_F(DeliveryDispatcherTest, SuccessIsRecordedAndSigned) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  HttpRequest request = sender_.Answer(Status(200, "OK"));
  EXPECT_EQ(request.url, "https://example.com/hook");
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.body, "{\"n\":1}");
  EXPECT_EQ(Header(request, "webhook-id"), id);
  EXPECT_EQ(Header(request, "Content-Type"), "application/json");
  EXPECT_TRUE(VerifyV1(sub.secret(), id,
                       std::stoll(Header(request, "webhook-timestamp")),
                       request.body, Header(request, "webhook-signature")));
  DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  EXPECT_EQ(done.attempt_count(), 1);
  std::vector<AttemptRecord> attempts = Attempts(sub.id());
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].status(), AttemptRecord::SUCCESSFUL);
  EXPECT_EQ(attempts[0].message(), "200 OK");
  EXPECT_EQ(attempts[0].delivery_id(), id);
  bool redacted = false;
  for (const auto& h : attempts[0].request_headers()) {
    if (h.name() == "webhook-signature") redacted = h.value() == "[redacted]";
  }
  EXPECT_TRUE(redacted);
  EXPECT_EQ(*queue_.Depth(), 0);
}

// The attempt record keeps at most max_recorded_body bytes of the request's
// body; the receiver gets all of it.
TEST_F(DeliveryDispatcherTest, AttemptRecordsKeepTheBodyUpToTheirCap) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  max_recorded_body_ = 4;
  Build();
  const std::string id = Commit("tx");
  EXPECT_EQ(sender_.Answer(Status(200, "OK")).body, "{\"n\":1}");
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  std::vector<AttemptRecord> attempts = Attempts(sub.id());
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].request_body(), "{\"n\"");
}

TEST_F(DeliveryDispatcherTest, FailureRetriesOnScheduleWithSameId) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  HttpRequest first = sender_.Answer(Status(500, "Internal Server Error"));
  DeliveryRecord waiting = WaitFor(id, [](const DeliveryRecord& d) {
    return d.attempt_count() == 1;
  });
  EXPECT_EQ(waiting.state(), DeliveryRecord::PENDING);
  const absl::Duration delay =
      absl::FromUnixMicros(waiting.next_attempt_micros()) - clock_.Now();
  EXPECT_GE(delay, absl::Seconds(4));  // 5 s ± 20%
  EXPECT_LE(delay, absl::Seconds(6));
  EXPECT_EQ(sender_.InFlight(), 0);
  clock_.Advance(absl::Seconds(7));
  dispatcher_->Wake();
  HttpRequest second = sender_.Answer(Status(204, "No Content"));
  EXPECT_EQ(Header(second, "webhook-id"), Header(first, "webhook-id"));
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  std::vector<AttemptRecord> attempts = Attempts(sub.id());
  ASSERT_EQ(attempts.size(), 2u);  // newest first
  EXPECT_EQ(attempts[0].status(), AttemptRecord::SUCCESSFUL);
  EXPECT_EQ(attempts[0].attempt_number(), 2);
  EXPECT_EQ(attempts[1].status(), AttemptRecord::FAILED);
  EXPECT_EQ(attempts[1].message(), "500 Internal Server Error");
}

TEST_F(DeliveryDispatcherTest, RetryAfterIsHonoured) {
  MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  sender_.Answer(Status(503, "Service Unavailable", {{"Retry-After", "120"}}));
  DeliveryRecord waiting = WaitFor(id, [](const DeliveryRecord& d) {
    return d.attempt_count() == 1;
  });
  EXPECT_EQ(absl::FromUnixMicros(waiting.next_attempt_micros()) - clock_.Now(),
            absl::Seconds(120));
}

TEST_F(DeliveryDispatcherTest, GoneDeactivatesAtOnce) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  sender_.Answer(Status(410, "Gone"));
  DeliveryRecord failed = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::FAILED;
  });
  EXPECT_EQ(failed.attempt_count(), 1);
  // The delivery's outcome is written first, then the subscription is
  // deactivated and its notice sent: wait for that notice, then look.
  for (int i = 0; i < 400; ++i) {
    absl::MutexLock lock(&notices_mu_);
    if (notices_.size() == 2) break;
    notices_mu_.Unlock();
    absl::SleepFor(absl::Milliseconds(5));
    notices_mu_.Lock();
  }
  {
    absl::MutexLock lock(&notices_mu_);
    ASSERT_EQ(notices_.size(), 2u);
    EXPECT_EQ(notices_[0].kind, OutcomeNotice::Kind::kAttemptFailed);
    EXPECT_EQ(notices_[1].kind, OutcomeNotice::Kind::kSubscriptionDeactivated);
  }
  absl::StatusOr<SubscriptionRecord> after = registry_->Get(sub.id(), Scope::All());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(after->active());
  EXPECT_THAT(after->status_message(), HasSubstr("410"));
}

TEST_F(DeliveryDispatcherTest, RecoverFailedSendsAgainAndRedeliverToo) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const absl::Time start = clock_.Now();
  const std::string id = Commit("tx");
  sender_.Answer(Status(410, "Gone"));
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::FAILED;
  });
  // The 410 deactivates the subscription just after the outcome is written:
  // wait for it, or it could land after the SetActive below.
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<SubscriptionRecord> now = registry_->Get(sub.id(), Scope::All());
    if (now.ok() && !now->active()) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(dispatcher_->Redeliver(id, Scope::All()).status().code(),
            absl::StatusCode::kFailedPrecondition);  // deactivated by the 410
  ASSERT_TRUE(registry_->SetActive(sub.id(), true, "", Scope::All()).ok());
  EXPECT_EQ(dispatcher_->RecoverFailed(sub.id(), start, Scope::OwnedBy("bob"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*dispatcher_->RecoverFailed(sub.id(), start + absl::Hours(1),
                                        Scope::All()),
            0);
  EXPECT_EQ(*dispatcher_->RecoverFailed(sub.id(), start, Scope::All()), 1);
  HttpRequest again = sender_.Answer(Status(200, "OK"));
  EXPECT_EQ(Header(again, "webhook-id"), id);
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED && d.attempt_count() == 2;
  });
  // Redeliver a delivered one: sent a third time, same id.
  absl::StatusOr<DeliveryRecord> redelivered =
      dispatcher_->Redeliver(id, Scope::All());
  ASSERT_TRUE(redelivered.ok()) << redelivered.status();
  EXPECT_EQ(Header(sender_.Answer(Status(200, "OK")), "webhook-id"), id);
  WaitFor(id, [](const DeliveryRecord& d) { return d.attempt_count() == 3; });
  EXPECT_EQ(dispatcher_->Redeliver("dlv_nope", Scope::All()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DeliveryDispatcherTest, ConsecutiveFailuresSuspendTheSubscription) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  RetryOptions immediate;
  immediate.schedule = std::vector<absl::Duration>(10, absl::ZeroDuration());
  Build(immediate, /*failure_limit=*/3);
  const std::string id = Commit("tx");
  for (int i = 0; i < 3; ++i) sender_.Answer(Status(500, "Internal Server Error"));
  DeliveryRecord failed = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::FAILED;
  });
  EXPECT_EQ(failed.attempt_count(), 3);  // the 4th was not attempted
  // The suspension follows the outcome's write: wait for it.
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<SubscriptionRecord> now = registry_->Get(sub.id(), Scope::All());
    if (now.ok() && !now->active()) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::StatusOr<SubscriptionRecord> after = registry_->Get(sub.id(), Scope::All());
  EXPECT_FALSE(after->active());
  EXPECT_EQ(after->status_message(),
            "Delivery suspended due to too many delivery failures.");
  // Reactivating starts a fresh count.
  absl::StatusOr<SubscriptionRecord> on =
      registry_->SetActive(sub.id(), true, "", Scope::All());
  EXPECT_EQ(on->consecutive_failures(), 0);
}

TEST_F(DeliveryDispatcherTest, ScheduleUsedUpFailsTheDelivery) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  RetryOptions two;
  two.schedule = {absl::ZeroDuration(), absl::ZeroDuration()};
  Build(two);
  const std::string id = Commit("tx");
  HttpResult reset;
  reset.outcome = HttpResult::Outcome::kConnectError;
  reset.error = "Connection reset by peer";
  sender_.Answer(reset);
  sender_.Answer(reset);
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::FAILED;
  });
  std::vector<AttemptRecord> attempts = Attempts(sub.id());
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_THAT(attempts[0].message(),
              HasSubstr("Contacting the remote server experienced an "
                        "unexpected error."));
  EXPECT_TRUE(registry_->Get(sub.id(), Scope::All())->active());
}

TEST_F(DeliveryDispatcherTest, RotatedSecretSignsAlongsideTheNewOne) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  absl::StatusOr<SubscriptionRecord> rotated =
      registry_->RotateSecret(sub.id(), Scope::All());
  Build();
  const std::string id = Commit("tx");
  HttpRequest request = sender_.Answer(Status(200, "OK"));
  const std::string header = Header(request, "webhook-signature");
  EXPECT_EQ(std::count(header.begin(), header.end(), ' '), 1);
  const int64_t ts = std::stoll(Header(request, "webhook-timestamp"));
  EXPECT_TRUE(VerifyV1(rotated->secret(), id, ts, request.body, header));
  EXPECT_TRUE(VerifyV1(sub.secret(), id, ts, request.body, header));
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  // After the overlap only the new secret signs.
  clock_.Advance(absl::Hours(25));
  const std::string next = Commit("tx2");
  request = sender_.Answer(Status(200, "OK"));
  EXPECT_TRUE(VerifyV1(rotated->secret(), next,
                       std::stoll(Header(request, "webhook-timestamp")),
                       request.body, Header(request, "webhook-signature")));
  EXPECT_FALSE(VerifyV1(sub.secret(), next,
                        std::stoll(Header(request, "webhook-timestamp")),
                        request.body, Header(request, "webhook-signature")));
}

TEST_F(DeliveryDispatcherTest, RejectedRequestIsAFailedAttemptAndRetriedLater) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  HttpResult rejected;
  rejected.outcome = HttpResult::Outcome::kRejected;
  rejected.error = "scheme http is not allowed";
  sender_.Answer(rejected);
  DeliveryRecord waiting = WaitFor(id, [](const DeliveryRecord& d) {
    return d.attempt_count() == 1;
  });
  EXPECT_EQ(waiting.state(), DeliveryRecord::PENDING);
  EXPECT_GT(waiting.next_attempt_micros(), absl::ToUnixMicros(clock_.Now()));
  EXPECT_THAT(Attempts(sub.id())[0].message(), HasSubstr("not sent"));
}

TEST_F(DeliveryDispatcherTest, RingBufferKeepsLastResolvedAttempts) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  RetryOptions immediate;
  immediate.schedule = std::vector<absl::Duration>(10, absl::ZeroDuration());
  Build(immediate, 50, /*keep=*/3);
  const std::string id = Commit("tx");
  for (int i = 0; i < 5; ++i) sender_.Answer(Status(500, "Internal Server Error"));
  WaitFor(id, [](const DeliveryRecord& d) { return d.attempt_count() == 5; });
  std::vector<AttemptRecord> attempts = Attempts(sub.id());
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].attempt_number(), 5);
  EXPECT_EQ(attempts[2].attempt_number(), 3);
}

// An outcome written after a fetch began but before it scanned: the scan
// takes the outcome's note of the retry and skips the retry as resolved
// during the fetch; the fetch must note it again, or the queue's low-water
// mark passes it and it waits for the next full scan (never, on this clock).
TEST_F(DeliveryDispatcherTest, RetryResolvedDuringAFetchIsFetchedAfterIt) {
  MustCreate(Draft("/"));
  RetryOptions immediate;
  immediate.schedule = {absl::ZeroDuration(), absl::ZeroDuration()};
  Build(immediate);
  const std::string id = Commit("tx");
  ASSERT_TRUE(sender_.AwaitSent(absl::Seconds(5)));
  ASSERT_EQ(sender_.InFlight(), 1);
  dispatch_clock_.Arm();
  ASSERT_TRUE(dispatch_clock_.AwaitHeld());
  sender_.Answer(Status(500, "Internal Server Error"));
  {
    // Published once the outcome is written and noted.
    absl::MutexLock lock(&notices_mu_);
    auto written = [this]() ABSL_SHARED_LOCKS_REQUIRED(notices_mu_) {
      return !notices_.empty();
    };
    ASSERT_TRUE(notices_mu_.AwaitWithTimeout(absl::Condition(&written),
                                             absl::Seconds(10)));
  }
  dispatch_clock_.Release();
  HttpRequest retry = sender_.Answer(Status(200, "OK"));
  EXPECT_EQ(Header(retry, "webhook-id"), id);
  DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  EXPECT_EQ(done.attempt_count(), 2);
}

// Redeliver of a retry that is due: the fetcher must not send it while the
// redelivery reads and rewrites it, or the delivery is sent and also left
// queued by the redelivery, to be sent once more after it succeeded.
TEST_F(DeliveryDispatcherTest, RedeliverHoldsTheDeliveryWhileItWritesIt) {
  MustCreate(Draft("/"));
  RetryOptions retry;
  retry.schedule = {absl::ZeroDuration(), absl::Minutes(5)};
  retry.jitter = 0;
  Build(retry);
  const std::string id = Commit("tx");
  sender_.Answer(Status(500, "Internal Server Error"));  // retry in 5 min
  WaitFor(id, [](const DeliveryRecord& d) { return d.attempt_count() == 1; });
  // The fetcher is held while the retry falls due, then let go while the
  // redelivery writes; it gets as long as it needs to send the delivery.
  dispatch_clock_.Arm();
  ASSERT_TRUE(dispatch_clock_.AwaitHeld());
  clock_.Advance(absl::Minutes(6));
  bool sent_during_write = false;
  view_.BeforeNextWrite([&] {
    dispatch_clock_.Release();
    sent_during_write = sender_.AwaitSent(absl::Milliseconds(300));
  });
  ASSERT_TRUE(dispatcher_->Redeliver(id, Scope::All()).ok());
  EXPECT_FALSE(sent_during_write);
  sender_.Answer(Status(200, "OK"));
  DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  EXPECT_EQ(done.attempt_count(), 2);
  EXPECT_EQ(*queue_.Depth(), 0);
  EXPECT_EQ(sender_.InFlight(), 0);
}

// Redeliver while the delivery's outcome is being written: it waits for the
// write to end (moments) instead of calling a finished delivery busy.
TEST_F(DeliveryDispatcherTest, RedeliverWhileTheOutcomeIsWrittenWaitsForIt) {
  MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  absl::Status redelivered = absl::UnknownError("not called");
  std::thread caller;
  absl::Notification called;
  view_.BeforeNextWrite([&] {  // the outcome's write
    caller = std::thread(
        [&] { redelivered = dispatcher_->Redeliver(id, Scope::All()).status(); });
    called.Notify();
    absl::SleepFor(absl::Milliseconds(100));  // the caller finds it held
  });
  sender_.Answer(Status(200, "OK"));
  // The redelivery follows the outcome's write at once: no polling could
  // see the SUCCEEDED in between, so wait for the caller.
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
  caller.join();
  ASSERT_TRUE(redelivered.ok()) << redelivered;
  EXPECT_EQ(Header(sender_.Answer(Status(200, "OK")), "webhook-id"), id);
  DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED && d.attempt_count() == 2;
  });
  EXPECT_EQ(*queue_.Depth(), 0);
}

// Redeliver while the fetcher builds the delivery's request (after it chose
// the delivery, before it sends it): refused as in flight, and the delivery
// is sent once.
TEST_F(DeliveryDispatcherTest, RedeliverWhileTheRequestIsBuiltIsRefused) {
  MustCreate(Draft("/"));
  absl::Status redelivered;
  view_.failing_prefetches = 1;  // the event is read while it is built
  view_.BeforeNextEventRead([&] {
    absl::StatusOr<std::vector<DeliveryRecord>> due =
        queue_.Due(clock_.Now(), 1);
    ASSERT_TRUE(due.ok() && due->size() == 1u);
    redelivered = dispatcher_->Redeliver(due->front().id(), Scope::All()).status();
  });
  Build();
  const std::string id = Commit("tx");
  sender_.Answer(Status(200, "OK"));
  DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  EXPECT_EQ(redelivered.code(), absl::StatusCode::kFailedPrecondition)
      << redelivered;
  EXPECT_EQ(done.attempt_count(), 1);
  EXPECT_EQ(*queue_.Depth(), 0);
}

TEST_F(DeliveryDispatcherTest, RedeliverInFlightIsRefusedButHiddenStaysHidden) {
  MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  ASSERT_TRUE(sender_.AwaitSent(absl::Seconds(5)));
  ASSERT_EQ(sender_.InFlight(), 1);
  EXPECT_EQ(dispatcher_->Redeliver(id, Scope::All()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Another owner learns nothing, not even that it is being sent.
  EXPECT_EQ(dispatcher_->Redeliver(id, Scope::OwnedBy("bob")).status().code(),
            absl::StatusCode::kNotFound);
  sender_.Answer(Status(200, "OK"));
  DeliveryRecord done = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  EXPECT_EQ(done.attempt_count(), 1);
}

TEST_F(DeliveryDispatcherTest, ShutdownLeavesUnansweredDeliveriesPending) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  ASSERT_TRUE(sender_.AwaitSent(absl::Seconds(5)));
  ASSERT_EQ(sender_.InFlight(), 1);
  std::vector<AttemptRecord> in_flight = dispatcher_->InFlight(sub.id());
  ASSERT_EQ(in_flight.size(), 1u);
  EXPECT_EQ(in_flight[0].status(), AttemptRecord::PENDING);
  dispatcher_->Shutdown(absl::Milliseconds(50));
  absl::StatusOr<DeliveryRecord> still = queue_.Get(id);
  EXPECT_EQ(still->state(), DeliveryRecord::PENDING);
  EXPECT_EQ(*queue_.Depth(), 1);
}

TEST(RetryPolicyTest, ScheduleJitterAndRetryAfter) {
  SeededRandom random(5);
  RetryPolicy policy(RetryOptions{}, &random);
  EXPECT_EQ(policy.max_attempts(), 8);
  for (int i = 0; i < 50; ++i) {
    absl::Duration d = *policy.DelayAfterFailure(2, std::nullopt);
    EXPECT_GE(d, absl::Minutes(4));
    EXPECT_LE(d, absl::Minutes(6));
  }
  EXPECT_FALSE(policy.DelayAfterFailure(8, std::nullopt).has_value());
  EXPECT_EQ(*policy.DelayAfterFailure(1, absl::Seconds(30)), absl::Seconds(30));
  EXPECT_EQ(*policy.DelayAfterFailure(1, absl::Hours(100)), absl::Hours(24));
  const absl::Time now = absl::FromUnixSeconds(1445412480);  // 07:28:00 GMT
  EXPECT_EQ(*ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(*ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now),
            absl::Seconds(30));
  EXPECT_EQ(*ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now),
            absl::ZeroDuration());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
}

// Ordered delivery: one transaction's events, each with the body `bodies[i]`.
void CommitBodies(TransactionLog& log, const std::string& tx,
                  const std::vector<std::string>& bodies) {
  std::vector<EventRecord> events;
  for (size_t i = 0; i < bodies.size(); ++i) {
    EventRecord& e = events.emplace_back();
    e.set_id(StrCat("e", i));
    e.set_site("/NOAA");
    e.add_resource_types("user");
    e.add_event_types("added");
    (*e.mutable_representations())["webhook-delivery"].set_body(bodies[i]);
  }
  ASSERT_TRUE(log.Prepare("pub", tx, std::move(events), std::nullopt).ok());
  ASSERT_TRUE(log.Commit("pub", tx).ok());
}

// The body of a request (the webhook-delivery envelope holds the event's).
std::string BodyOf(const HttpRequest& request) { return request.body; }

// An ordered subscription: the head fails and waits for its retry while the
// others stay unsent (two whole fetches pass), then they go one at a time
// in commit order.
TEST_F(DeliveryDispatcherTest, OrderedDeliveriesWaitForTheHeadsRetries) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  MustCreate(draft);
  Build();
  CommitBodies(*log_, "tx", {"{\"n\":0}", "{\"n\":1}", "{\"n\":2}"});
  dispatcher_->Wake();
  const HttpRequest head = sender_.Answer(Status(500, "Internal Server Error"));
  EXPECT_THAT(BodyOf(head), HasSubstr("\"n\":0"));
  WaitFor(Header(head, "webhook-id"),
          [](const DeliveryRecord& d) { return d.attempt_count() == 1; });
  for (int fetch = 0; fetch < 2; ++fetch) {  // whole fetches pass
    dispatch_clock_.Arm();
    ASSERT_TRUE(dispatch_clock_.AwaitHeld());
    dispatch_clock_.Release();
  }
  EXPECT_EQ(sender_.InFlight(), 0);  // the followers wait for the retry
  clock_.Advance(absl::Seconds(7));
  dispatcher_->Wake();
  for (int n = 0; n < 3; ++n) {
    // Only the head is out (its follower may go once it is answered).
    ASSERT_TRUE(sender_.AwaitSent(absl::Seconds(10)));
    EXPECT_EQ(sender_.InFlight(), 1) << "a follower went with its head";
    const HttpRequest sent = sender_.Answer(Status(204, "No Content"));
    EXPECT_THAT(BodyOf(sent), HasSubstr(StrCat("\"n\":", n)));
  }
}

// Ordering keys: the heads of keys a and b are in flight at once; a's
// second waits for a's first.
TEST_F(DeliveryDispatcherTest, OrderingKeysGoInParallel) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  draft.mutable_delivery()->set_order_key_path("k");
  MustCreate(draft);
  Build();
  CommitBodies(*log_, "tx",
               {"{\"k\":\"a\",\"n\":0}", "{\"k\":\"a\",\"n\":1}",
                "{\"k\":\"b\",\"n\":2}"});
  dispatcher_->Wake();
  for (int i = 0; i < 2000 && sender_.InFlight() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(sender_.InFlight(), 2);
  std::set<std::string> first_two;
  for (int i = 0; i < 2; ++i) {
    const std::string body = BodyOf(sender_.Answer(Status(204, "No Content")));
    first_two.insert(body.find("\"n\":0") != std::string::npos   ? "a0"
                     : body.find("\"n\":2") != std::string::npos ? "b2"
                                                                  : body);
  }
  EXPECT_EQ(first_two, (std::set<std::string>{"a0", "b2"}));
  EXPECT_THAT(BodyOf(sender_.Answer(Status(204, "No Content"))),
              HasSubstr("\"n\":1"));
}

// A head that fails for good (schedule used up) lets the next go; a
// redelivery of it joins the end of the order with a new number.
TEST_F(DeliveryDispatcherTest, FailedForGoodReleasesTheNextAndRedeliveryJoinsTheEnd) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  MustCreate(draft);
  RetryOptions none;
  none.schedule = {};
  Build(none);
  CommitBodies(*log_, "tx", {"{\"n\":0}", "{\"n\":1}"});
  dispatcher_->Wake();
  const HttpRequest head = sender_.Answer(Status(500, "Internal Server Error"));
  EXPECT_THAT(BodyOf(head), HasSubstr("\"n\":0"));
  const std::string id = Header(head, "webhook-id");
  const DeliveryRecord failed = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::FAILED;
  });
  const HttpRequest next = sender_.Answer(Status(204, "No Content"));
  EXPECT_THAT(BodyOf(next), HasSubstr("\"n\":1"));
  const DeliveryRecord second =
      WaitFor(Header(next, "webhook-id"), [](const DeliveryRecord& d) {
        return d.state() == DeliveryRecord::SUCCEEDED;
      });
  absl::StatusOr<DeliveryRecord> again = dispatcher_->Redeliver(id, Scope::All());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GT(again->order_seq(), second.order_seq());
  EXPECT_GT(second.order_seq(), failed.order_seq());
  EXPECT_THAT(BodyOf(sender_.Answer(Status(204, "No Content"))),
              HasSubstr("\"n\":0"));
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
}

// Room for two waiting followers of seven: the others stay on disk (the
// queue's scans move past them) and are read again once a turn ends; all
// go, in order, none lost.
TEST_F(DeliveryDispatcherTest, OrderedFollowersBeyondMemoryStayOnDiskInOrder) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  MustCreate(draft);
  max_waiting_ = 2;
  Build();
  std::vector<std::string> bodies;
  for (int n = 0; n < 6; ++n) bodies.push_back(StrCat("{\"n\":", n, "}"));
  dispatch_clock_.Arm();  // the first fetch reads both commits
  CommitBodies(*log_, "tx", bodies);
  // A later due time, so the queue's scans move past the first six.
  clock_.Advance(absl::Seconds(1));
  CommitBodies(*log_, "tx-2", {"{\"n\":6}"});
  dispatch_clock_.Release();
  dispatcher_->Wake();
  for (int n = 0; n < 7; ++n) {
    EXPECT_THAT(BodyOf(sender_.Answer(Status(204, "No Content"))),
                HasSubstr(StrCat("\"n\":", n)));
  }
}

}  // namespace
}  // namespace webhooks::core
