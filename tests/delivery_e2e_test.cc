// Delivery end to end, the good paths: a committed event is POSTed over HTTPS
// (test CA) with Standard Webhooks headers whose signature verifies with
// core::VerifyV1 and with the openssl CLI; failures are retried on the
// schedule with the same webhook-id and every attempt is recorded;
// Retry-After is honoured; a slow answer within the timeout succeeds; after
// a secret rotation both secrets sign; several sending threads deliver to
// every destination.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/webhook_signature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

// The names of process `pid`'s threads.
std::set<std::string> ThreadNamesOf(pid_t pid) {
  std::set<std::string> names;
  const std::filesystem::path tasks =
      std::filesystem::path("/proc") / std::to_string(pid) / "task";
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}

int64_t TimestampOf(const ReceivedRequest& request) {
  int64_t timestamp = 0;
  EXPECT_TRUE(absl::SimpleAtoi(request.Header("webhook-timestamp"), &timestamp))
      << request.Header("webhook-timestamp");
  return timestamp;
}

// The request's signature verifies with `secret`, by both implementations.
void ExpectSigned(const ReceivedRequest& request, const std::string& secret) {
  const std::string id = request.Header("webhook-id");
  const int64_t timestamp = TimestampOf(request);
  const std::string signature = request.Header("webhook-signature");
  EXPECT_TRUE(core::VerifyV1(secret, id, timestamp, request.body, signature))
      << signature;
  absl::StatusOr<std::string> by_openssl =
      OpensslSignatureV1(secret, id, timestamp, request.body);
  ASSERT_OK(by_openssl.status());
  EXPECT_EQ(signature, *by_openssl);
}

TEST_F(DeliveryE2eTest, PostsSignedRequestOverHttpsAndRecordsTheAttempt) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(""));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  ASSERT_THAT(sub.secret(), StartsWith("whsec_"));
  const absl::Time before = absl::Now();
  ASSERT_OK(Publish({"e1"}));

  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/hook"));
  const ReceivedRequest got = receiver_->Requests("/hook")[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.Header("Content-Type"), "application/json");
  EXPECT_EQ(got.Header("User-Agent"), "webhookd/1");
  EXPECT_EQ(got.body, EventBody("e1"));
  const std::string id = got.Header("webhook-id");
  EXPECT_THAT(id, StartsWith("dlv_"));
  const int64_t timestamp = TimestampOf(got);
  EXPECT_GE(timestamp, absl::ToUnixSeconds(before) - 2);
  EXPECT_LE(timestamp, absl::ToUnixSeconds(absl::Now()) + 2);
  const std::string signature = got.Header("webhook-signature");
  EXPECT_THAT(signature, StartsWith("v1,"));
  EXPECT_THAT(signature, Not(HasSubstr(" ")));  // one secret signs
  ExpectSigned(got, sub.secret());
  // The signature covers id, timestamp and body.
  EXPECT_FALSE(
      core::VerifyV1(sub.secret(), id, timestamp, got.body + " ", signature));
  EXPECT_FALSE(
      core::VerifyV1(sub.secret(), id, timestamp + 1, got.body, signature));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 1));
  ASSERT_THAT(attempts, SizeIs(1));
  const v1::DeliveryAttempt& a = attempts[0];
  EXPECT_EQ(a.status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_EQ(a.message(), "200 OK");
  EXPECT_EQ(a.attempt_number(), 1);
  EXPECT_EQ(a.delivery_id(), id);
  EXPECT_EQ(a.subscription_id(), sub.id());
  EXPECT_EQ(a.event_id(), "e1");
  EXPECT_THAT(a.transaction_id(), Not(IsEmpty()));
  EXPECT_EQ(a.request().url(), receiver_->Url("/hook"));
  EXPECT_EQ(a.request().method(), "POST");
  EXPECT_EQ(a.request().body(), got.body);  // read back from the event
  EXPECT_FALSE(a.request().body_forgotten());
  EXPECT_EQ(HeaderValue(a.request().headers(), "webhook-signature"),
            "[redacted]");
  EXPECT_EQ(HeaderValue(a.request().headers(), "webhook-id"), id);
  EXPECT_EQ(HeaderValue(a.request().headers(), "webhook-timestamp"),
            got.Header("webhook-timestamp"));
  EXPECT_EQ(HeaderValue(a.request().headers(), "content-type"),
            "application/json");
  EXPECT_EQ(a.response().status_code(), 200);
  EXPECT_EQ(a.response().reason(), "OK");
  EXPECT_FALSE(a.response().body_truncated());
  EXPECT_TRUE(a.has_create_time());
  EXPECT_TRUE(a.has_complete_time());

  v1::GetAttemptRequest get;
  get.set_subscription_id(sub.id());
  get.set_attempt_id(a.id());
  ASSERT_OK_AND_ASSIGN(
      v1::DeliveryAttempt fetched,
      admin().Call(&v1::DeliveryService::Stub::GetAttempt, get));
  EXPECT_THAT(fetched, EqualsProto(a));
  ASSERT_OK_AND_ASSIGN(v1::Delivery delivery, GetDelivery(admin(), id));
  EXPECT_EQ(delivery.state(), v1::Delivery::SUCCEEDED);
  EXPECT_EQ(delivery.attempt_count(), 1);
  EXPECT_EQ(delivery.subscription_id(), sub.id());
  EXPECT_EQ(delivery.event_id(), "e1");
}

TEST_F(DeliveryE2eTest, RetriesFailuresOnTheScheduleWithTheSameWebhookId) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(
      StartTlsServer("retry_schedule_seconds: [0, 1, 1, 1]"));
  receiver_->QueueReplies(
      "/hook", {Reply::Status(500, "boom"), Reply::Status(503, "later")});
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 3));
  ASSERT_THAT(attempts, SizeIs(3));
  // Newest first.
  EXPECT_EQ(attempts[0].attempt_number(), 3);
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_EQ(attempts[0].message(), "200 OK");
  EXPECT_EQ(attempts[1].attempt_number(), 2);
  EXPECT_EQ(attempts[1].status(), v1::DeliveryAttempt::FAILED);
  EXPECT_EQ(attempts[1].message(), "503 Service Unavailable");
  EXPECT_EQ(attempts[1].response().status_code(), 503);
  EXPECT_EQ(attempts[1].response().body(), "later");
  EXPECT_EQ(attempts[2].attempt_number(), 1);
  EXPECT_EQ(attempts[2].status(), v1::DeliveryAttempt::FAILED);
  EXPECT_EQ(attempts[2].message(), "500 Internal Server Error");
  EXPECT_EQ(attempts[2].response().body(), "boom");
  std::set<std::string> attempt_ids;
  for (const v1::DeliveryAttempt& a : attempts) attempt_ids.insert(a.id());
  EXPECT_THAT(attempt_ids, SizeIs(3));

  const std::string id = attempts[0].delivery_id();
  ASSERT_OK_AND_ASSIGN(
      v1::Delivery delivery,
      WaitForDeliveryState(admin(), id, v1::Delivery::SUCCEEDED));
  EXPECT_EQ(delivery.attempt_count(), 3);
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/hook");
  ASSERT_THAT(requests, SizeIs(3));
  for (const ReceivedRequest& request : requests) {
    EXPECT_EQ(request.Header("webhook-id"), id);
    EXPECT_EQ(request.body, EventBody("e1"));
    ExpectSigned(request, sub.secret());
  }
  for (const v1::DeliveryAttempt& a : attempts) EXPECT_EQ(a.delivery_id(), id);

  // Filtered by status, and page by page.
  v1::ListAttemptsRequest list;
  list.set_subscription_id(sub.id());
  list.set_status(v1::DeliveryAttempt::FAILED);
  ASSERT_OK_AND_ASSIGN(
      v1::ListAttemptsResponse failed,
      admin().Call(&v1::DeliveryService::Stub::ListAttempts, list));
  ASSERT_THAT(failed.attempts(), SizeIs(2));
  EXPECT_EQ(failed.attempts(0).attempt_number(), 2);
  EXPECT_EQ(failed.attempts(1).attempt_number(), 1);
  list.set_status(v1::DeliveryAttempt::STATUS_UNSPECIFIED);
  list.set_page_size(2);
  ASSERT_OK_AND_ASSIGN(
      v1::ListAttemptsResponse page,
      admin().Call(&v1::DeliveryService::Stub::ListAttempts, list));
  ASSERT_THAT(page.attempts(), SizeIs(2));
  EXPECT_EQ(page.attempts(1).attempt_number(), 2);
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_OK_AND_ASSIGN(
      page, admin().Call(&v1::DeliveryService::Stub::ListAttempts, list));
  ASSERT_THAT(page.attempts(), SizeIs(1));
  EXPECT_EQ(page.attempts(0).attempt_number(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
  // The schedule waits 1 s (±20%) before each retry.
  EXPECT_GE(requests[1].arrival - requests[0].arrival, absl::Milliseconds(750));
  EXPECT_GE(requests[2].arrival - requests[1].arrival, absl::Milliseconds(750));
}

TEST_F(DeliveryE2eTest, HonoursRetryAfter) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(
      StartTlsServer("retry_schedule_seconds: [0, 1, 1, 1]"));
  receiver_->QueueReplies("/hook",
                          {Reply::Status(429).WithHeader("Retry-After", "3")});
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 2));
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_EQ(attempts[1].message(), "429 Too Many Requests");
  EXPECT_EQ(HeaderValue(attempts[1].response().headers(), "retry-after"), "3");
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/hook");
  ASSERT_THAT(requests, SizeIs(2));
  // 3 s, not the schedule's 1 s.
  EXPECT_GE(requests[1].arrival - requests[0].arrival,
            absl::Milliseconds(2900));
  EXPECT_EQ(requests[1].Header("webhook-id"), requests[0].Header("webhook-id"));
}

TEST_F(DeliveryE2eTest, SlowAnswerWithinTheTimeoutSucceeds) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "total_timeout_ms: 20000 retry_schedule_seconds: [0, 1, 1, 1]"));
  receiver_->SetReply("/slow", Reply::Status(202).After(absl::Seconds(2)));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/slow")));
  ASSERT_OK(Publish({"e1"}));

  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 1));
  ASSERT_THAT(attempts, SizeIs(1));
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_EQ(attempts[0].message(), "202 Accepted");
  EXPECT_GE(attempts[0].response().elapsed().seconds(), 1);
  EXPECT_EQ(receiver_->Count("/slow"), 1u);
}

TEST_F(DeliveryE2eTest, AfterRotationBothSecretsSign) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(""));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  ASSERT_OK_AND_ASSIGN(v1::Subscription rotated,
                       admin().RotateSubscriptionSecret(sub.id()));
  const std::string old_secret = sub.secret();
  const std::string new_secret = rotated.secret();
  ASSERT_THAT(new_secret, StartsWith("whsec_"));
  ASSERT_NE(new_secret, old_secret);
  ASSERT_OK(Publish({"e1"}));

  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/hook"));
  const ReceivedRequest got = receiver_->Requests("/hook")[0];
  const std::string header = got.Header("webhook-signature");
  const std::vector<std::string> parts = absl::StrSplit(header, ' ');
  ASSERT_THAT(parts, SizeIs(2)) << header;
  const std::string id = got.Header("webhook-id");
  const int64_t timestamp = TimestampOf(got);
  // The whole header verifies with either secret ...
  EXPECT_TRUE(core::VerifyV1(new_secret, id, timestamp, got.body, header));
  EXPECT_TRUE(core::VerifyV1(old_secret, id, timestamp, got.body, header));
  // ... and each signature is one secret's, the current one first.
  ASSERT_OK_AND_ASSIGN(std::string by_new,
                       OpensslSignatureV1(new_secret, id, timestamp, got.body));
  ASSERT_OK_AND_ASSIGN(std::string by_old,
                       OpensslSignatureV1(old_secret, id, timestamp, got.body));
  EXPECT_THAT(parts, ElementsAre(by_new, by_old));
  EXPECT_TRUE(core::VerifyV1(new_secret, id, timestamp, got.body, parts[0]));
  EXPECT_FALSE(core::VerifyV1(new_secret, id, timestamp, got.body, parts[1]));
  EXPECT_TRUE(core::VerifyV1(old_secret, id, timestamp, got.body, parts[1]));
  EXPECT_FALSE(core::VerifyV1(old_secret, id, timestamp, got.body, parts[0]));
}

// With several sending threads (delivery.sender_threads) every destination
// gets each of its deliveries once, signed, and recorded.
TEST_F(DeliveryE2eTest, SeveralSenderThreadsDeliverToEveryDestination) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("sender_threads: 3"));
  std::vector<std::unique_ptr<HttpsReceiver>> receivers;
  std::vector<v1::Subscription> subs;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpsReceiver> receiver,
                         HttpsReceiver::Start(certs_));
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                         Subscribe(receiver->Url("/hook")));
    receivers.push_back(std::move(receiver));
    subs.push_back(std::move(sub));
  }
  const std::vector<std::string> events = {"e1", "e2", "e3", "e4", "e5"};
  ASSERT_OK(Publish(events));
  for (size_t i = 0; i < receivers.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(receivers[i]->WaitForRequests(events.size(), kWait, "/hook"));
    std::set<std::string> got;
    for (const ReceivedRequest& r : receivers[i]->Requests("/hook")) {
      ExpectSigned(r, subs[i].secret());
      got.insert(EventIdOf(r));
    }
    EXPECT_EQ(got, std::set<std::string>(events.begin(), events.end()));
    ASSERT_OK_AND_ASSIGN(
        Attempts attempts,
        WaitForResolvedAttempts(admin(), subs[i].id(), events.size()));
    ASSERT_THAT(attempts, SizeIs(events.size()));
    for (const v1::DeliveryAttempt& a : attempts) {
      EXPECT_EQ(a.status(), v1::DeliveryAttempt::SUCCESSFUL);
    }
  }
  // Nothing more comes: each delivery was sent once.
  absl::SleepFor(absl::Milliseconds(200));
  for (const auto& receiver : receivers) {
    EXPECT_THAT(receiver->Requests("/hook"), SizeIs(events.size()));
  }
  EXPECT_THAT(ThreadNamesOf(server_->pid()),
              ::testing::IsSupersetOf(
                  {"curl-sender-0", "curl-sender-1", "curl-sender-2"}));
}

}  // namespace
}  // namespace webhooks::e2e
