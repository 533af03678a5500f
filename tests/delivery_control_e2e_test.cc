// Per-subscription delivery control end to end (issue 13): a real webhookd
// and a real HTTPS receiver. Settings are validated against the server's
// limits naming the field, kept, updated and declared in the config file; a
// rate limit holds over a 10-second window and lets a burst through; an
// in-flight cap holds; a subscription's timeout and retry schedule are used.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t micros = absl::ToInt64Microseconds(d);
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Arrival times at `path`, earliest first.
std::vector<absl::Time> Arrivals(const HttpsReceiver& receiver,
                                 std::string_view path) {
  std::vector<absl::Time> times;
  for (const ReceivedRequest& r : receiver.Requests(path)) {
    times.push_back(r.arrival);
  }
  std::sort(times.begin(), times.end());
  return times;
}

std::vector<std::string> EventIds(std::string_view prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(StrCat(prefix, i));
  return ids;
}

class DeliveryControlE2eTest : public DeliveryE2eTest {};

TEST_F(DeliveryControlE2eTest, SettingsAreCheckedKeptAndUpdated) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(""));
  struct Case {
    std::function<void(v1::DeliveryControl&)> set;
    std::string field;
  };
  const std::vector<Case> bad = {
      {[](auto& c) { c.mutable_rate_limit()->set_per_second(0); },
       "subscription.delivery.rate_limit.per_second"},
      {[](auto& c) { c.mutable_rate_limit()->set_per_second(-1); },
       "subscription.delivery.rate_limit.per_second"},
      {[](auto& c) { c.mutable_rate_limit()->set_per_second(1e9); },
       "subscription.delivery.rate_limit.per_second"},
      {[](auto& c) {
         c.mutable_rate_limit()->set_per_second(1);
         c.mutable_rate_limit()->set_burst(-1);
       },
       "subscription.delivery.rate_limit.burst"},
      {[](auto& c) { c.set_max_in_flight(-1); },
       "subscription.delivery.max_in_flight"},
      {[](auto& c) {
         SetDuration(absl::Microseconds(500), c.mutable_connect_timeout());
       },
       "subscription.delivery.connect_timeout"},
      {[](auto& c) { SetDuration(absl::Seconds(31), c.mutable_connect_timeout()); },
       "subscription.delivery.connect_timeout"},
      {[](auto& c) { SetDuration(absl::Seconds(121), c.mutable_timeout()); },
       "subscription.delivery.timeout"},
      {[](auto& c) { SetDuration(absl::Seconds(-1), c.mutable_timeout()); },
       "subscription.delivery.timeout"},
      {[](auto& c) {
         SetDuration(absl::Seconds(5), c.mutable_connect_timeout());
         SetDuration(absl::Seconds(2), c.mutable_timeout());
       },
       "subscription.delivery.connect_timeout"},
      {[](auto& c) {
         SetDuration(absl::Seconds(1), c.add_retry_schedule());
         SetDuration(absl::Hours(25), c.add_retry_schedule());
       },
       "subscription.delivery.retry_schedule[1]"},
      {[](auto& c) {
         for (int i = 0; i < 21; ++i) {
           SetDuration(absl::Seconds(1), c.add_retry_schedule());
         }
       },
       "subscription.delivery.retry_schedule"},
  };
  for (const Case& c : bad) {
    v1::DeliveryControl control;
    c.set(control);
    EXPECT_THAT(SubscribeWith("/bad", control),
                StatusIs(kInvalid, HasSubstr(c.field + ":")))
        << control.ShortDebugString();
  }
  ASSERT_OK_AND_ASSIGN(auto all, admin().ListAllSubscriptions());
  EXPECT_TRUE(all.empty());

  v1::DeliveryControl control;
  control.mutable_rate_limit()->set_per_second(2.5);
  control.mutable_rate_limit()->set_burst(4);
  control.set_max_in_flight(3);
  SetDuration(absl::Milliseconds(1500), control.mutable_connect_timeout());
  SetDuration(absl::Seconds(7), control.mutable_timeout());
  SetDuration(absl::Seconds(1), control.add_retry_schedule());
  SetDuration(absl::Minutes(2), control.add_retry_schedule());
  ASSERT_OK_AND_ASSIGN(v1::Subscription created, SubscribeWith("/ok", control));
  EXPECT_EQ(created.delivery().ShortDebugString(), control.ShortDebugString());
  ASSERT_OK_AND_ASSIGN(v1::Subscription got,
                       admin().GetSubscription(created.id()));
  EXPECT_EQ(got.delivery().ShortDebugString(), control.ShortDebugString());

  // A bad update leaves it as it was; a good one replaces the whole message;
  // an empty one removes it.
  v1::Subscription change;
  change.set_id(created.id());
  change.mutable_delivery()->set_max_in_flight(100000);
  EXPECT_THAT(admin().UpdateSubscription(change, {"delivery"}),
              StatusIs(kInvalid,
                       HasSubstr("subscription.delivery.max_in_flight:")));
  ASSERT_OK_AND_ASSIGN(got, admin().GetSubscription(created.id()));
  EXPECT_EQ(got.delivery().ShortDebugString(), control.ShortDebugString());
  change.mutable_delivery()->set_max_in_flight(7);
  ASSERT_OK_AND_ASSIGN(v1::Subscription updated,
                       admin().UpdateSubscription(change, {"delivery"}));
  EXPECT_EQ(updated.delivery().ShortDebugString(), "max_in_flight: 7");
  change.clear_delivery();
  ASSERT_OK_AND_ASSIGN(updated, admin().UpdateSubscription(change, {"delivery"}));
  EXPECT_FALSE(updated.has_delivery() &&
               updated.delivery().ByteSizeLong() > 0);
}

TEST_F(DeliveryControlE2eTest, StaticSubscriptionsTakeSettingsFromTheConfig) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  const std::string config = StrCat(
      DeliveryConfig(""),
      "subscriptions { site: \"/\" resource_type: \"user\" "
      "event_type: \"added\" target_url: \"",
      receiver_->Url("/static"),
      "\" delivery { rate_limit { per_second: 50 burst: 5 } "
      "max_in_flight: 2 timeout { seconds: 3 } "
      "retry_schedule { seconds: 10 } } }\n");
  ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(config, TlsFlags(certs())));
  admin_.emplace(server_->NewChannel(), kAdminToken);
  publisher_.emplace(admin_->WithToken(kPublisherToken));
  ASSERT_OK_AND_ASSIGN(auto all, admin().ListAllSubscriptions());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].delivery().ShortDebugString(),
            "rate_limit { per_second: 50 burst: 5 } max_in_flight: 2 "
            "timeout { seconds: 3 } retry_schedule { seconds: 10 }");
  ASSERT_OK(Publish(EventIds("s", 12)));
  EXPECT_TRUE(receiver_->WaitForRequests(12, kWait, "/static"));

  // Out of the server's bounds: the server refuses to start, naming it.
  const std::string bad = StrCat(
      DeliveryConfig(""),
      "subscriptions { site: \"/\" resource_type: \"user\" "
      "event_type: \"added\" target_url: \"",
      receiver_->Url("/static"), "\" delivery { max_in_flight: -2 } }\n");
  server_.reset();
  absl::StatusOr<std::unique_ptr<ServerProcess>> refused =
      ServerProcess::Start(bad, TlsFlags(certs()));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("subscription.delivery.max_in_flight"));
}

// 10 per second with a burst of 20, and 150 deliveries waiting: the first 20
// go at once, then 10 a second; none is dropped or failed.
TEST_F(DeliveryControlE2eTest, RateLimitHoldsOverTenSecondsAfterABurst) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  v1::DeliveryControl control;
  control.mutable_rate_limit()->set_per_second(10);
  control.mutable_rate_limit()->set_burst(20);
  ASSERT_OK_AND_ASSIGN(v1::Subscription limited,
                       SubscribeWith("/limited", control));
  ASSERT_OK(Publish(EventIds("r", 150)));
  ASSERT_TRUE(receiver_->WaitForRequests(150, kWait, "/limited"));
  const std::vector<absl::Time> t = Arrivals(*receiver_, "/limited");
  ASSERT_EQ(t.size(), 150u);
  // Each delivered once: the waits were not failures.
  std::set<std::string> ids;
  for (const ReceivedRequest& r : receiver_->Requests("/limited")) {
    ids.insert(r.Header("webhook-id"));
  }
  EXPECT_EQ(ids.size(), 150u);
  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), limited.id(), 50));
  for (const auto& a : attempts) {
    EXPECT_EQ(a.status(), v1::DeliveryAttempt::SUCCESSFUL) << a.message();
  }
  // The burst: without it the first 20 would take 1.9 s.
  EXPECT_LT(t[19] - t[0], absl::Seconds(1));
  // The rate: 100 (within 10 %) in the 10 seconds from 2 s after the first.
  const absl::Time from = t[0] + absl::Seconds(2);
  const absl::Time to = from + absl::Seconds(10);
  const auto in_window = std::count_if(t.begin(), t.end(), [&](absl::Time x) {
    return x >= from && x < to;
  });
  EXPECT_GE(in_window, 90);
  EXPECT_LE(in_window, 110);
  // Never faster than the rate after the burst, over any 100 requests.
  for (size_t i = 20; i + 100 < t.size(); ++i) {
    EXPECT_GE(t[i + 100] - t[i], absl::Milliseconds(9500)) << i;
  }
}

// A rate-limited subscription with a backlog (2/s, 100 waiting) does not hold
// up another one: the other gets all 100 while the limited one has had only
// what its rate allows.
TEST_F(DeliveryControlE2eTest, WaitingDeliveriesDoNotHoldUpOtherSubscriptions) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  v1::DeliveryControl control;
  control.mutable_rate_limit()->set_per_second(2);
  control.mutable_rate_limit()->set_burst(1);
  ASSERT_OK(SubscribeWith("/slow", control).status());
  ASSERT_OK(Subscribe(receiver_->Url("/free")).status());
  const absl::Time start = absl::Now();
  ASSERT_OK(Publish(EventIds("w", 100)));
  ASSERT_TRUE(receiver_->WaitForRequests(100, kWait, "/free"));
  const absl::Duration took = absl::Now() - start;
  const size_t slow = receiver_->Requests("/slow").size();
  // Measured, not asserted: how long the free subscription took.
  RecordProperty("free_subscription_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(took)));
  EXPECT_LE(slow, 2 + static_cast<size_t>(2 * absl::ToDoubleSeconds(took)));
  EXPECT_LT(slow, 100u);
}

// kill -9 while deliveries wait for their rate limit: they were pending on
// disk all along, so the restarted server sends every one (at least once).
TEST_F(DeliveryControlE2eTest, KillNineWhileDeliveriesWaitLosesNone) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  v1::DeliveryControl control;
  control.mutable_rate_limit()->set_per_second(10);
  control.mutable_rate_limit()->set_burst(1);
  ASSERT_OK(SubscribeWith("/limited", control).status());
  ASSERT_OK(Publish(EventIds("k", 40)));
  ASSERT_TRUE(receiver_->WaitForRequests(5, kWait, "/limited"));
  ASSERT_OK(server_->Kill9());
  EXPECT_LT(receiver_->Requests("/limited").size(), 40u);
  ASSERT_OK(server_->Restart());
  admin_.emplace(server_->NewChannel(), kAdminToken);
  const absl::Time deadline = absl::Now() + kWait;
  std::set<std::string> ids;
  while (ids.size() < 40 && absl::Now() < deadline) {
    ids.clear();
    for (const ReceivedRequest& r : receiver_->Requests("/limited")) {
      ids.insert(r.Header("webhook-id"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(ids.size(), 40u);
}

// At most 2 in flight: each request starts only once one of the two before
// it has been answered (the receiver answers after 300 ms).
TEST_F(DeliveryControlE2eTest, InFlightCapHolds) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  receiver_->SetReply("/capped", Reply::Status(200).After(absl::Milliseconds(300)));
  receiver_->SetReply("/free", Reply::Status(200).After(absl::Milliseconds(300)));
  v1::DeliveryControl control;
  control.set_max_in_flight(2);
  ASSERT_OK(SubscribeWith("/capped", control).status());
  ASSERT_OK(Subscribe(receiver_->Url("/free")).status());
  ASSERT_OK(Publish(EventIds("c", 10)));
  ASSERT_TRUE(receiver_->WaitForRequests(10, kWait, "/capped"));
  ASSERT_TRUE(receiver_->WaitForRequests(10, kWait, "/free"));
  const std::vector<absl::Time> t = Arrivals(*receiver_, "/capped");
  for (size_t i = 0; i + 2 < t.size(); ++i) {
    EXPECT_GE(t[i + 2] - t[i], absl::Milliseconds(290)) << i;
  }
  // Without a cap of its own the other subscription had more at once.
  const std::vector<absl::Time> f = Arrivals(*receiver_, "/free");
  EXPECT_LT(f[2] - f[0], absl::Milliseconds(290));
}

// A 500 ms timeout against a receiver that answers after 5 s, and retries
// after 1 s and 2 s: three attempts that time out, the delivery then failed
// (the server's schedule would wait 5 s and try 8 times).
TEST_F(DeliveryControlE2eTest, OwnTimeoutAndRetryScheduleAreUsed) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(""));
  receiver_->SetReply("/slow", Reply::Status(200).After(absl::Seconds(5)));
  v1::DeliveryControl control;
  SetDuration(absl::Milliseconds(500), control.mutable_timeout());
  SetDuration(absl::Seconds(1), control.add_retry_schedule());
  SetDuration(absl::Seconds(2), control.add_retry_schedule());
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, SubscribeWith("/slow", control));
  ASSERT_OK(Publish({"t1"}));
  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 3));
  ASSERT_EQ(attempts.size(), 3u);
  ASSERT_OK_AND_ASSIGN(
      v1::Delivery delivery,
      WaitForDeliveryState(admin(), attempts[0].delivery_id(),
                           v1::Delivery::FAILED));
  EXPECT_EQ(delivery.attempt_count(), 3);
  // Newest first.
  for (const auto& a : attempts) {
    EXPECT_EQ(a.status(), v1::DeliveryAttempt::FAILED);
    EXPECT_THAT(a.message(), HasSubstr("timed out"));
    const absl::Duration took =
        TimeOf(a.complete_time()) - TimeOf(a.create_time());
    EXPECT_GE(took, absl::Milliseconds(450));
    EXPECT_LT(took, absl::Seconds(4)) << "the receiver's 5 s, not 500 ms";
  }
  // Each retry waited its own delay (±20 % jitter) after the failure.
  const absl::Duration first_wait =
      TimeOf(attempts[1].create_time()) - TimeOf(attempts[2].complete_time());
  const absl::Duration second_wait =
      TimeOf(attempts[0].create_time()) - TimeOf(attempts[1].complete_time());
  EXPECT_GE(first_wait, absl::Milliseconds(790));
  EXPECT_GE(second_wait, absl::Milliseconds(1590));
  EXPECT_LT(first_wait, second_wait + absl::Seconds(1));
}

}  // namespace
}  // namespace webhooks::e2e
