// Delivery end to end, when receivers misbehave: 410 Gone deactivates at
// once, a receiver that never answers times out, a reset connection is a
// connection error, a huge response body is capped, redirects are not
// followed, consecutive failures deactivate, and only the newest
// keep_attempts attempts are kept.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;
using Code = absl::StatusCode;

MATCHER_P(HasStatusAndMessage, message_matcher,
          std::string("is a FAILED attempt whose message ") +
              ::testing::DescribeMatcher<std::string>(message_matcher)) {
  *result_listener << "which is #" << arg.attempt_number() << " "
                   << v1::DeliveryAttempt::Status_Name(arg.status()) << " \""
                   << arg.message() << "\"";
  return arg.status() == v1::DeliveryAttempt::FAILED &&
         ::testing::Matches(message_matcher)(arg.message());
}

TEST_F(DeliveryE2eTest, GoneDeactivatesAtOnceAndLaterEventsAreNotDelivered) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(
      StartTlsServer("retry_schedule_seconds: [0, 1, 1, 1]"));
  receiver_->SetReply("/gone", Reply::Status(410));
  ASSERT_OK_AND_ASSIGN(v1::Subscription gone,
                       Subscribe(receiver_->Url("/gone")));
  ASSERT_OK_AND_ASSIGN(v1::Subscription control,
                       Subscribe(receiver_->Url("/control")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), gone.id(), 1));
  ASSERT_THAT(attempts, SizeIs(1));
  EXPECT_THAT(attempts[0], HasStatusAndMessage("410 Gone"));
  EXPECT_EQ(attempts[0].response().status_code(), 410);
  ASSERT_OK_AND_ASSIGN(v1::Subscription after,
                       WaitForInactive(admin(), gone.id()));
  EXPECT_THAT(after.status_message(), HasSubstr("410"));
  ASSERT_OK_AND_ASSIGN(v1::Delivery delivery,
                       WaitForDeliveryState(admin(), attempts[0].delivery_id(),
                                            v1::Delivery::FAILED));
  EXPECT_EQ(delivery.attempt_count(), 1);

  // A later event reaches the control subscription but not the gone one.
  ASSERT_OK(Publish({"e2"}));
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait, "/control"));
  ASSERT_OK_AND_ASSIGN(Attempts control_attempts,
                       WaitForResolvedAttempts(admin(), control.id(), 2));
  EXPECT_EQ(receiver_->Count("/gone"), 1u);
  ASSERT_OK_AND_ASSIGN(attempts, ListAllAttempts(admin(), gone.id()));
  EXPECT_THAT(attempts, SizeIs(1));
}

TEST_F(DeliveryE2eTest, ReceiverThatNeverAnswersTimesOut) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(
      StartTlsServer("total_timeout_ms: 1000 retry_schedule_seconds: [0, 1]"));
  receiver_->SetReply("/hang", Reply::Hang());
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hang")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 2));
  EXPECT_THAT(
      attempts,
      Each(HasStatusAndMessage(StartsWith("The remote server did not answer in "
                                          "time: "))));
  EXPECT_EQ(attempts[0].response().status_code(), 0);
  EXPECT_GE(attempts[0].response().elapsed().seconds(), 0);
  ASSERT_OK(WaitForDeliveryState(admin(), attempts[0].delivery_id(),
                                 v1::Delivery::FAILED)
                .status());
  EXPECT_EQ(receiver_->Count("/hang"), 2u);
}

TEST_F(DeliveryE2eTest, ConnectionResetIsAConnectionError) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  receiver_->SetReply("/reset", Reply::Reset());
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/reset")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 1));
  ASSERT_THAT(attempts, SizeIs(1));
  EXPECT_THAT(attempts[0],
              HasStatusAndMessage(StartsWith(
                  "Contacting the remote server experienced an unexpected "
                  "error. ")));
  EXPECT_EQ(attempts[0].response().status_code(), 0);
  ASSERT_OK(WaitForDeliveryState(admin(), attempts[0].delivery_id(),
                                 v1::Delivery::FAILED)
                .status());
  EXPECT_GE(receiver_->Count("/reset"), 1u);
}

TEST_F(DeliveryE2eTest, HugeResponseBodyIsCappedAtTheDefault) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  const Reply huge = Reply::Huge(1 << 20);
  receiver_->SetReply("/huge", huge);
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/huge")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 1));
  ASSERT_THAT(attempts, SizeIs(1));
  const v1::DeliveryAttempt& a = attempts[0];
  EXPECT_EQ(a.status(), v1::DeliveryAttempt::SUCCESSFUL) << a.message();
  EXPECT_EQ(a.message(), "200 OK");
  EXPECT_EQ(a.response().status_code(), 200);
  EXPECT_TRUE(a.response().body_truncated());
  ASSERT_EQ(a.response().body().size(), 16384u);
  EXPECT_EQ(a.response().body(), huge.body.substr(0, 16384));
}

TEST_F(DeliveryE2eTest, ResponseBodyCapIsConfigurable) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "retry_schedule_seconds: [0] max_response_body_bytes: 100"));
  const Reply huge = Reply::Huge(1 << 20);
  receiver_->SetReply("/huge", huge);
  receiver_->SetReply("/small", Reply::Status(200, std::string(100, 's')));
  ASSERT_OK_AND_ASSIGN(v1::Subscription big,
                       Subscribe(receiver_->Url("/huge")));
  ASSERT_OK_AND_ASSIGN(v1::Subscription small,
                       Subscribe(receiver_->Url("/small")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), big.id(), 1));
  EXPECT_TRUE(attempts[0].response().body_truncated());
  EXPECT_EQ(attempts[0].response().body(), huge.body.substr(0, 100));
  // Exactly at the cap: whole, not truncated.
  ASSERT_OK_AND_ASSIGN(attempts,
                       WaitForResolvedAttempts(admin(), small.id(), 1));
  EXPECT_FALSE(attempts[0].response().body_truncated());
  EXPECT_EQ(attempts[0].response().body(), std::string(100, 's'));
}

TEST_F(DeliveryE2eTest, RedirectsAreFailuresAndNotFollowed) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0, 1, 1]"));
  const std::string location = receiver_->Url("/elsewhere");
  receiver_->SetReply("/redirect", Reply::Redirect(302, location));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/redirect")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 3));
  EXPECT_THAT(attempts, Each(HasStatusAndMessage("302 Found")));
  EXPECT_EQ(HeaderValue(attempts[0].response().headers(), "location"),
            location);
  ASSERT_OK(WaitForDeliveryState(admin(), attempts[0].delivery_id(),
                                 v1::Delivery::FAILED)
                .status());
  EXPECT_EQ(receiver_->Count("/redirect"), 3u);
  EXPECT_EQ(receiver_->Count("/elsewhere"), 0u);
}

TEST_F(DeliveryE2eTest, ConsecutiveFailuresDeactivateAtTheFailureLimit) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "failure_limit: 3 retry_schedule_seconds: [0, 1, 1, 1, 1]"));
  // e1: two failures, then success (the count starts again); e2: failures
  // only.
  receiver_->QueueReplies(
      "/down", {Reply::Status(500), Reply::Status(500), Reply::Status(200)});
  receiver_->SetReply("/down", Reply::Status(500));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/down")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 3));
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL);
  ASSERT_OK_AND_ASSIGN(v1::Subscription still,
                       admin().GetSubscription(sub.id()));
  EXPECT_TRUE(still.active());

  ASSERT_OK(Publish({"e2"}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription after,
                       WaitForInactive(admin(), sub.id()));
  EXPECT_EQ(after.status_message(),
            "Delivery suspended due to too many delivery failures.");
  ASSERT_OK_AND_ASSIGN(attempts, WaitForResolvedAttempts(admin(), sub.id(), 6));
  ASSERT_THAT(attempts, SizeIs(6));
  EXPECT_EQ(attempts[0].event_id(), "e2");
  EXPECT_EQ(attempts[0].attempt_number(), 3);
  // The schedule had a fourth attempt left; the inactive subscription does
  // not get it.
  ASSERT_OK(WaitForDeliveryState(admin(), attempts[0].delivery_id(),
                                 v1::Delivery::FAILED)
                .status());
  ASSERT_OK_AND_ASSIGN(attempts, ListAllAttempts(admin(), sub.id()));
  EXPECT_THAT(attempts, SizeIs(6));
  EXPECT_EQ(receiver_->Count("/down"), 6u);

  // Activation clears the count: one more failure does not deactivate.
  receiver_->QueueReplies("/down", {Reply::Status(500), Reply::Status(200)});
  ASSERT_OK(admin().ActivateSubscription(sub.id()).status());
  ASSERT_OK(Publish({"e3"}));
  ASSERT_OK_AND_ASSIGN(attempts, WaitForResolvedAttempts(admin(), sub.id(), 8));
  EXPECT_EQ(attempts[0].event_id(), "e3");
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_THAT(attempts[1], HasStatusAndMessage("500 Internal Server Error"));
  ASSERT_OK_AND_ASSIGN(still, admin().GetSubscription(sub.id()));
  EXPECT_TRUE(still.active()) << still.status_message();
}

TEST_F(DeliveryE2eTest, KeepsOnlyTheNewestAttempts) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("keep_attempts: 3"));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  std::vector<std::string> attempt_ids;
  for (const std::string event : {"e1", "e2", "e3", "e4", "e5"}) {
    ASSERT_OK(Publish({event}));
    ASSERT_OK_AND_ASSIGN(
        Attempts attempts,
        WaitForAttempts(admin(), sub.id(), [&](const Attempts& all) {
          return !all.empty() && all[0].event_id() == event &&
                 all[0].status() == v1::DeliveryAttempt::SUCCESSFUL;
        }));
    attempt_ids.push_back(attempts[0].id());
  }
  ASSERT_OK_AND_ASSIGN(Attempts attempts, ListAllAttempts(admin(), sub.id()));
  ASSERT_THAT(attempts, SizeIs(3));
  EXPECT_EQ(attempts[0].event_id(), "e5");
  EXPECT_EQ(attempts[1].event_id(), "e4");
  EXPECT_EQ(attempts[2].event_id(), "e3");
  v1::GetAttemptRequest get;
  get.set_subscription_id(sub.id());
  get.set_attempt_id(attempt_ids[0]);
  EXPECT_THAT(admin().Call(&v1::DeliveryService::Stub::GetAttempt, get),
              StatusIs(Code::kNotFound, _));
  get.set_attempt_id(attempt_ids[4]);
  EXPECT_OK(admin().Call(&v1::DeliveryService::Stub::GetAttempt, get));
  EXPECT_EQ(receiver_->Count("/hook"), 5u);
}

}  // namespace
}  // namespace webhooks::e2e
