// DeliveryDispatcher under races: outcomes written while the fetch thread
// fetches, storage trouble, a fetch's reads, and redeliveries that meet a
// fetch, a write or a request being built. Those with a comment naming a
// race failed before its fix.
#include <string>
#include <vector>

#include "core/delivery_dispatcher_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;

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

}  // namespace
}  // namespace webhooks::core
