// DeliveryDispatcher: what an attempt's outcome does — the attempt record,
// the signature, retries on schedule, Retry-After, 410 Gone, recovery and
// redelivery, suspension, the attempt ring, shutdown — and RetryPolicy.
#include <string>
#include <utility>
#include <vector>

#include "core/delivery_dispatcher_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;

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
  // The record shows the headers as sent, in order, the signature redacted
  // (stored by reference: core/attempt_headers.h).
  std::vector<std::pair<std::string, std::string>> recorded;
  for (const auto& h : attempts[0].request_headers()) {
    recorded.emplace_back(h.name(), h.value());
  }
  HttpHeaders sent = request.headers;
  for (auto& [name, value] : sent) {
    if (name == "webhook-signature") value = "[redacted]";
  }
  EXPECT_EQ(recorded, sent);
  EXPECT_EQ(Header(request, "webhook-signature").rfind("v1,", 0), 0u);
  EXPECT_FALSE(attempts[0].has_request_headers_reference());
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

// The stored attempt refers to its event for the request body instead of
// holding a copy; the body is read back from the event until the event's
// transaction is forgotten after the retention, then reads as forgotten.
TEST_F(DeliveryDispatcherTest, AttemptRecordsReadTheirBodyFromTheEvent) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  EXPECT_EQ(sender_.Answer(Status(200, "OK")).body, "{\"n\":1}");
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
  int stored = 0;
  ASSERT_TRUE(store_
                  .ScanPrefix(storage::Column::kAttempts, "",
                              [&](std::string_view, std::string_view value) {
                                AttemptRecord record;
                                EXPECT_TRUE(record.ParseFromArray(
                                    value.data(), static_cast<int>(value.size())));
                                EXPECT_EQ(record.request_body(), "");
                                EXPECT_EQ(record.request_body_reference()
                                              .representation(),
                                          "webhook-delivery");
                                ++stored;
                                return true;
                              })
                  .ok());
  EXPECT_EQ(stored, 1);
  std::vector<AttemptRecord> attempts = Attempts(sub.id());
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].request_body(), "{\"n\":1}");
  EXPECT_FALSE(attempts[0].request_body_forgotten());
  absl::StatusOr<AttemptRecord> one = attempts_->Get(sub.id(), attempts[0].id());
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->request_body(), "{\"n\":1}");

  clock_.Advance(TransactionOptions().retention + absl::Hours(1));
  ASSERT_TRUE(log_->Reap(100).ok());
  attempts = Attempts(sub.id());
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].request_body(), "");
  EXPECT_TRUE(attempts[0].request_body_forgotten());
  one = attempts_->Get(sub.id(), attempts[0].id());
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->request_body_forgotten());
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

TEST_F(DeliveryDispatcherTest, ShutdownLeavesUnansweredDeliveriesPending) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  Build();
  const std::string id = Commit("tx");
  ASSERT_TRUE(sender_.AwaitSent(absl::Seconds(5)));
  ASSERT_EQ(sender_.InFlight(), 1);
  absl::StatusOr<std::vector<AttemptRecord>> found =
      dispatcher_->InFlight(sub.id());
  ASSERT_TRUE(found.ok()) << found.status();
  const std::vector<AttemptRecord>& in_flight = *found;
  ASSERT_EQ(in_flight.size(), 1u);
  EXPECT_EQ(in_flight[0].status(), AttemptRecord::PENDING);
  EXPECT_EQ(in_flight[0].request_body(), "{\"n\":1}");  // from its event
  dispatcher_->Shutdown(absl::Milliseconds(50));
  absl::StatusOr<DeliveryRecord> still = queue_.Get(id);
  EXPECT_EQ(still->state(), DeliveryRecord::PENDING);
  EXPECT_EQ(*queue_.Depth(), 1);
}

// Unwatched, a lease does not keep its event (the fetch thread frees it):
// what is in flight and a listener that comes later read it again.
TEST_F(DeliveryDispatcherTest, UnwatchedLeasesReadTheirBodiesAgain) {
  SubscriptionRecord sub = MustCreate(Draft("/"));
  watch_outcomes_ = false;
  Build();
  Commit("tx");
  ASSERT_TRUE(sender_.AwaitSent(absl::Seconds(5)));
  absl::StatusOr<std::vector<AttemptRecord>> in_flight =
      dispatcher_->InFlight(sub.id());
  ASSERT_TRUE(in_flight.ok()) << in_flight.status();
  ASSERT_EQ(in_flight->size(), 1u);
  EXPECT_EQ((*in_flight)[0].request_body(), "{\"n\":1}");
  EXPECT_FALSE((*in_flight)[0].request_body_forgotten());

  WatchOutcomes();  // after the send: its lease has no event
  sender_.Answer(Status(200, "OK"));
  for (int i = 0; i < 2000; ++i) {
    {
      absl::MutexLock lock(&notices_mu_);
      if (!notices_.empty()) break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::MutexLock lock(&notices_mu_);
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].kind, OutcomeNotice::Kind::kAttemptSucceeded);
  EXPECT_EQ(notices_[0].attempt.request_body(), "{\"n\":1}");
  EXPECT_FALSE(notices_[0].attempt.request_body_forgotten());
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

}  // namespace
}  // namespace webhooks::core
