// DeliveryService end to end: Redeliver and RecoverFailedDeliveries send
// again with the same webhook-id, WatchOutcomes streams attempt outcomes and
// deactivations scoped to the caller, and a subscriber never sees another
// subscriber's attempts or deliveries.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using Code = absl::StatusCode;
using Kind = v1::Outcome::Kind;

TEST_F(DeliveryE2eTest, RedeliverAndRecoverSendAgainWithTheSameWebhookId) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  // One attempt per delivery: a failure fails the delivery.
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  receiver_->QueueReplies("/flaky", {Reply::Status(500), Reply::Status(500)});
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/flaky")));
  const absl::Time before = absl::Now() - absl::Seconds(1);
  ASSERT_OK(Publish({"e1", "e2"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 2));
  std::string d1, d2;
  for (const v1::DeliveryAttempt& a : attempts) {
    EXPECT_EQ(a.status(), v1::DeliveryAttempt::FAILED);
    (a.event_id() == "e1" ? d1 : d2) = a.delivery_id();
  }
  ASSERT_FALSE(d1.empty());
  ASSERT_FALSE(d2.empty());
  ASSERT_OK(WaitForDeliveryState(admin(), d1, v1::Delivery::FAILED).status());
  ASSERT_OK(WaitForDeliveryState(admin(), d2, v1::Delivery::FAILED).status());

  // Redeliver: e1 again, now answered 200.
  ASSERT_OK_AND_ASSIGN(v1::Delivery redelivered,
                       RedeliverWhenIdle(admin(), d1));
  EXPECT_EQ(redelivered.id(), d1);
  ASSERT_OK_AND_ASSIGN(
      v1::Delivery done,
      WaitForDeliveryState(admin(), d1, v1::Delivery::SUCCEEDED));
  EXPECT_EQ(done.attempt_count(), 2);
  ASSERT_TRUE(receiver_->WaitForRequests(3, kWait, "/flaky"));
  std::vector<ReceivedRequest> requests = receiver_->Requests("/flaky");
  EXPECT_EQ(requests[2].Header("webhook-id"), d1);
  EXPECT_EQ(requests[2].body, EventBody("e1"));
  ASSERT_OK_AND_ASSIGN(attempts, WaitForResolvedAttempts(admin(), sub.id(), 3));
  EXPECT_EQ(attempts[0].delivery_id(), d1);
  EXPECT_EQ(attempts[0].attempt_number(), 2);
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL);

  // A succeeded delivery can be sent again too.
  ASSERT_OK(RedeliverWhenIdle(admin(), d1).status());
  ASSERT_TRUE(receiver_->WaitForRequests(4, kWait, "/flaky"));
  EXPECT_EQ(receiver_->Requests("/flaky")[3].Header("webhook-id"), d1);

  // Recover: every failed delivery of the subscription since `before`.
  ASSERT_OK_AND_ASSIGN(attempts, WaitForResolvedAttempts(admin(), sub.id(), 4));
  ASSERT_OK_AND_ASSIGN(int64_t recovered,
                       RecoverFailedDeliveries(admin(), sub.id(), before));
  EXPECT_EQ(recovered, 1);
  ASSERT_OK_AND_ASSIGN(
      done, WaitForDeliveryState(admin(), d2, v1::Delivery::SUCCEEDED));
  ASSERT_TRUE(receiver_->WaitForRequests(5, kWait, "/flaky"));
  requests = receiver_->Requests("/flaky");
  EXPECT_EQ(requests[4].Header("webhook-id"), d2);
  EXPECT_EQ(requests[4].body, EventBody("e2"));
  ASSERT_OK_AND_ASSIGN(recovered,
                       RecoverFailedDeliveries(admin(), sub.id(), before));
  EXPECT_EQ(recovered, 0);

  // Unknown deliveries.
  std::string unknown = d1;
  unknown.back() = unknown.back() == '0' ? '1' : '0';
  EXPECT_THAT(Redeliver(admin(), unknown), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(GetDelivery(admin(), unknown), StatusIs(Code::kNotFound, _));
}

TEST_F(DeliveryE2eTest, OtherSubscribersSeeNothingOfASubscription) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  const Api alice = admin().WithToken(kAliceToken);
  const Api bob = admin().WithToken(kBobToken);
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/alice"), &alice));
  EXPECT_EQ(sub.owner(), "alice");
  ASSERT_OK(Publish({"e1"}, "alice"));
  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(alice, sub.id(), 1));
  const std::string delivery_id = attempts[0].delivery_id();
  const std::string attempt_id = attempts[0].id();

  // Alice sees her own.
  v1::GetAttemptRequest get;
  get.set_subscription_id(sub.id());
  get.set_attempt_id(attempt_id);
  EXPECT_OK(alice.Call(&v1::DeliveryService::Stub::GetAttempt, get));
  EXPECT_OK(GetDelivery(alice, delivery_id));
  EXPECT_OK(RedeliverWhenIdle(alice, delivery_id));
  EXPECT_OK(RecoverFailedDeliveries(alice, sub.id(), absl::UnixEpoch()));

  // Bob gets NOT_FOUND for all of it.
  EXPECT_THAT(ListAllAttempts(bob, sub.id()), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(bob.Call(&v1::DeliveryService::Stub::GetAttempt, get),
              StatusIs(Code::kNotFound, _));
  EXPECT_THAT(GetDelivery(bob, delivery_id), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(Redeliver(bob, delivery_id), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(RecoverFailedDeliveries(bob, sub.id(), absl::UnixEpoch()),
              StatusIs(Code::kNotFound, _));
  OutcomeStream watch(server_->NewChannel(), kBobToken, sub.id());
  std::optional<absl::Status> end = watch.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(Code::kNotFound, _));
  // Nor without a token.
  EXPECT_THAT(ListAllAttempts(admin().WithToken(""), sub.id()),
              StatusIs(Code::kUnauthenticated, _));
  EXPECT_THAT(ListAllAttempts(admin().WithToken(kUnknownToken), sub.id()),
              StatusIs(Code::kUnauthenticated, _));
}

bool HasOutcome(const std::vector<v1::Outcome>& outcomes, Kind kind,
                const std::string& subscription_id) {
  return !OutcomesOf(outcomes, kind, subscription_id).empty();
}

TEST_F(DeliveryE2eTest, WatchOutcomesStreamsWhatTheCallerMaySee) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  receiver_->SetReply("/alice-gone", Reply::Status(410));
  receiver_->SetReply("/ops-fail", Reply::Status(500));
  const Api alice = admin().WithToken(kAliceToken);
  const Api bob = admin().WithToken(kBobToken);
  ASSERT_OK_AND_ASSIGN(v1::Subscription alice_ok,
                       Subscribe(receiver_->Url("/alice-ok"), &alice));
  ASSERT_OK_AND_ASSIGN(v1::Subscription alice_gone,
                       Subscribe(receiver_->Url("/alice-gone"), &alice));
  ASSERT_OK_AND_ASSIGN(v1::Subscription bob_ok,
                       Subscribe(receiver_->Url("/bob-ok"), &bob));
  ASSERT_OK_AND_ASSIGN(v1::Subscription ops_fail,
                       Subscribe(receiver_->Url("/ops-fail")));

  OutcomeStream everything(server_->NewChannel(), kAdminToken);
  OutcomeStream alices(server_->NewChannel(), kAliceToken);
  OutcomeStream bobs(server_->NewChannel(), kBobToken);
  OutcomeStream alice_one(server_->NewChannel(), kAliceToken, alice_ok.id());
  ASSERT_OK(Publish({"e1"}, "system.Everyone"));

  ASSERT_TRUE(everything.WaitFor([&](const std::vector<v1::Outcome>& all) {
    return HasOutcome(all, v1::Outcome::ATTEMPT_SUCCEEDED, alice_ok.id()) &&
           HasOutcome(all, v1::Outcome::ATTEMPT_FAILED, alice_gone.id()) &&
           HasOutcome(all, v1::Outcome::SUBSCRIPTION_DEACTIVATED,
                      alice_gone.id()) &&
           HasOutcome(all, v1::Outcome::ATTEMPT_SUCCEEDED, bob_ok.id()) &&
           HasOutcome(all, v1::Outcome::ATTEMPT_FAILED, ops_fail.id());
  })) << everything.Outcomes().size()
      << " outcomes";
  const std::vector<v1::Outcome> all = everything.Outcomes();
  const v1::Outcome ok =
      OutcomesOf(all, v1::Outcome::ATTEMPT_SUCCEEDED, alice_ok.id())[0];
  EXPECT_EQ(ok.attempt().status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_EQ(ok.attempt().message(), "200 OK");
  EXPECT_EQ(ok.attempt().event_id(), "e1");
  // Not stored with the attempt: filled in from the event it was sent for.
  EXPECT_EQ(ok.attempt().request().body(), EventBody("e1"));
  EXPECT_FALSE(ok.attempt().request().body_forgotten());
  EXPECT_TRUE(ok.has_time());
  const v1::Outcome failed =
      OutcomesOf(all, v1::Outcome::ATTEMPT_FAILED, ops_fail.id())[0];
  EXPECT_EQ(failed.attempt().message(), "500 Internal Server Error");
  const v1::Outcome deactivated = OutcomesOf(
      all, v1::Outcome::SUBSCRIPTION_DEACTIVATED, alice_gone.id())[0];
  EXPECT_THAT(deactivated.message(), HasSubstr("410"));

  ASSERT_TRUE(alices.WaitFor([&](const std::vector<v1::Outcome>& got) {
    return HasOutcome(got, v1::Outcome::ATTEMPT_SUCCEEDED, alice_ok.id()) &&
           HasOutcome(got, v1::Outcome::SUBSCRIPTION_DEACTIVATED,
                      alice_gone.id());
  }));
  ASSERT_TRUE(bobs.WaitFor([&](const std::vector<v1::Outcome>& got) {
    return HasOutcome(got, v1::Outcome::ATTEMPT_SUCCEEDED, bob_ok.id());
  }));
  ASSERT_TRUE(alice_one.WaitFor([&](const std::vector<v1::Outcome>& got) {
    return HasOutcome(got, v1::Outcome::ATTEMPT_SUCCEEDED, alice_ok.id());
  }));
  const std::set<std::string> alice_ids = {alice_ok.id(), alice_gone.id()};
  for (const v1::Outcome& o : alices.Outcomes()) {
    EXPECT_TRUE(alice_ids.contains(o.subscription_id()))
        << o.ShortDebugString();
  }
  for (const v1::Outcome& o : bobs.Outcomes()) {
    EXPECT_EQ(o.subscription_id(), bob_ok.id()) << o.ShortDebugString();
  }
  for (const v1::Outcome& o : alice_one.Outcomes()) {
    EXPECT_EQ(o.subscription_id(), alice_ok.id()) << o.ShortDebugString();
  }
}

// A stream opened with an API key ends once the key is revoked: the next
// outcome it may see is not sent; the stream ends UNAUTHENTICATED instead.
TEST_F(DeliveryE2eTest, WatchWithARevokedApiKeyEndsBeforeTheNextOutcome) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  const Api alice = admin().WithToken(kAliceToken);
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/alice"), &alice));
  v1::CreateApiKeyRequest create;
  create.mutable_api_key()->set_principal("alice");
  create.mutable_api_key()->add_roles(v1::SUBSCRIBER);
  ASSERT_OK_AND_ASSIGN(
      v1::CreateApiKeyResponse key,
      admin().Call(&v1::ApiKeyService::Stub::CreateApiKey, create));
  OutcomeStream everything(server_->NewChannel(), kAdminToken);
  OutcomeStream portal(server_->NewChannel(), key.secret());
  ASSERT_OK(Publish({"e1"}, "system.Everyone"));
  ASSERT_TRUE(portal.WaitFor([&](const std::vector<v1::Outcome>& got) {
    return HasOutcome(got, v1::Outcome::ATTEMPT_SUCCEEDED, sub.id());
  }));
  v1::RevokeApiKeyRequest revoke;
  revoke.set_id(key.api_key().id());
  ASSERT_OK(admin().Call(&v1::ApiKeyService::Stub::RevokeApiKey, revoke).status());
  ASSERT_OK(Publish({"e2"}, "system.Everyone"));
  ASSERT_TRUE(everything.WaitFor([&](const std::vector<v1::Outcome>& got) {
    for (const v1::Outcome& o : got) {
      if (o.attempt().event_id() == "e2") return true;
    }
    return false;
  }));
  std::optional<absl::Status> end = portal.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(Code::kUnauthenticated, HasSubstr("revoked")));
  for (const v1::Outcome& o : portal.Outcomes()) {
    EXPECT_NE(o.attempt().event_id(), "e2") << o.ShortDebugString();
  }
}

}  // namespace
}  // namespace webhooks::e2e
