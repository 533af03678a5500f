// Delivery end to end across crashes and shutdowns: a delivery stays on disk
// until its outcome is written, so kill -9 while requests are in flight
// sends every committed delivery again after restart with the same
// webhook-id (at-least-once), and aborted or unresolved transactions never
// deliver; SIGTERM lets a transfer in flight finish within the grace period
// and records it, one that outlasts the grace is sent after restart, and
// open WatchOutcomes streams do not hold the shutdown for the whole grace.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/event_client.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::ContainerEq;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Event id ({"id":"<id>"} body) -> the webhook-ids it was sent with.
std::map<std::string, std::set<std::string>> WebhookIdsByEvent(
    const std::vector<ReceivedRequest>& requests) {
  std::map<std::string, std::set<std::string>> ids;
  for (const ReceivedRequest& request : requests) {
    // The body is {"id":"<event id>"}.
    const size_t start = request.body.find(":\"");
    const size_t end = request.body.rfind('"');
    std::string event = start == std::string::npos || end <= start + 2
                            ? request.body
                            : request.body.substr(start + 2, end - start - 2);
    ids[event].insert(request.Header("webhook-id"));
  }
  return ids;
}

class DeliveryDurabilityTest : public DeliveryE2eTest {
 protected:
  // After a restart: clients on the new port.
  void Reconnect() {
    admin_.emplace(server_->NewChannel(), kAdminToken);
    publisher_.emplace(admin_->WithToken(kPublisherToken));
  }
};

TEST_F(DeliveryDurabilityTest, Kill9InFlightSendsEveryCommittedDeliveryAgain) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  // Answers come long after the kill.
  receiver_->SetReply("/hook", Reply::Status(200).After(absl::Minutes(10)));
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "total_timeout_ms: 600000 retry_schedule_seconds: [0, 1, 1, 1]"));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));

  ASSERT_OK(
      PrepareEvents(publisher(), "tx-aborted", {NewEvent("a1"), NewEvent("a2")})
          .status());
  ASSERT_OK(AbortTransaction(publisher(), "tx-aborted").status());
  ASSERT_OK(PrepareEvents(publisher(), "tx-open", {NewEvent("o1")}).status());
  const std::vector<std::string> committed = {"c1", "c2", "c3",
                                              "c4", "c5", "c6"};
  std::vector<v1::Event> events;
  for (const std::string& id : committed) events.push_back(NewEvent(id));
  ASSERT_OK(PrepareEvents(publisher(), "tx-committed", events).status());
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse commit,
                       CommitTransaction(publisher(), "tx-committed"));
  ASSERT_EQ(commit.deliveries_created(), 6);

  // Some requests arrived, none was answered: kill -9.
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/hook"));
  ASSERT_EQ(receiver_->answered(), 0);
  // Attempts in flight are listed as PENDING, with their request.
  ASSERT_OK_AND_ASSIGN(
      Attempts in_flight,
      WaitForAttempts(admin(), sub.id(),
                      [](const Attempts& all) { return !all.empty(); }));
  EXPECT_EQ(in_flight[0].status(), v1::DeliveryAttempt::PENDING);
  EXPECT_EQ(HeaderValue(in_flight[0].request().headers(), "webhook-signature"),
            "[redacted]");
  EXPECT_THAT(Resolved(in_flight), IsEmpty());
  const auto before_kill = WebhookIdsByEvent(receiver_->Requests("/hook"));
  ASSERT_OK(server_->Kill9());
  receiver_->SetReply("/hook", Reply::Status(200));
  ASSERT_OK(server_->Restart());
  Reconnect();

  ASSERT_OK_AND_ASSIGN(v1::Transaction open,
                       GetTransaction(publisher(), "tx-open"));
  EXPECT_EQ(open.state(), v1::Transaction::PREPARED);
  ASSERT_OK(AbortTransaction(publisher(), "tx-open").status());
  // A later event, as a marker that the queue has moved past everything.
  ASSERT_OK(Publish({"m1"}));

  std::set<std::string> want = {committed.begin(), committed.end()};
  want.insert("m1");
  ASSERT_OK_AND_ASSIGN(
      Attempts attempts,
      WaitForAttempts(admin(), sub.id(), [&](const Attempts& all) {
        std::set<std::string> succeeded;
        for (const v1::DeliveryAttempt& a : all) {
          if (a.status() == v1::DeliveryAttempt::SUCCESSFUL) {
            succeeded.insert(a.event_id());
          }
        }
        return succeeded == want;
      }));
  const auto all = WebhookIdsByEvent(receiver_->Requests("/hook"));
  std::set<std::string> received;
  for (const auto& [event, ids] : all) {
    received.insert(event);
    // One webhook-id per event, before and after the kill.
    EXPECT_THAT(ids, SizeIs(1)) << event;
  }
  EXPECT_THAT(received, ContainerEq(want));  // no a1, a2, o1
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/hook");
  for (const auto& [event, ids] : before_kill) {
    ASSERT_TRUE(all.contains(event));
    EXPECT_EQ(all.at(event), ids) << event;
    // Sent before the kill and again after the restart.
    EXPECT_GE(std::count_if(requests.begin(), requests.end(),
                            [&](const ReceivedRequest& r) {
                              return r.body == EventBody(event);
                            }),
              2)
        << event;
  }
  for (const auto& [event, ids] : all) {
    ASSERT_OK_AND_ASSIGN(v1::Delivery delivery,
                         GetDelivery(admin(), *ids.begin()));
    EXPECT_EQ(delivery.state(), v1::Delivery::SUCCEEDED) << event;
    EXPECT_EQ(delivery.event_id(), event);
  }
}

TEST_F(DeliveryDurabilityTest, SigtermLetsTheDeliveryInFlightFinish) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  receiver_->SetReply("/slow", Reply::Status(200).After(absl::Seconds(3)));
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "total_timeout_ms: 60000 retry_schedule_seconds: [0, 1, 1, 1]",
      {"--shutdown_grace_seconds=60"}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/slow")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/slow"));
  ASSERT_EQ(receiver_->answered(), 0);

  ASSERT_OK_AND_ASSIGN(int exit_code, server_->Terminate(absl::Seconds(90)));
  EXPECT_EQ(exit_code, 0);
  EXPECT_TRUE(receiver_->WaitForAnswers(1, kWait));

  // The outcome was written before the exit: recorded, and not sent again.
  receiver_->SetReply("/slow", Reply::Status(200));
  ASSERT_OK(server_->Restart());
  Reconnect();
  ASSERT_OK(Publish({"e2"}));
  ASSERT_OK_AND_ASSIGN(
      Attempts attempts,
      WaitForAttempts(admin(), sub.id(), [](const Attempts& all) {
        return Resolved(all).size() >= 2;
      }));
  attempts = Resolved(attempts);
  ASSERT_THAT(attempts, SizeIs(2));
  EXPECT_EQ(attempts[1].event_id(), "e1");
  EXPECT_EQ(attempts[1].status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_EQ(attempts[1].message(), "200 OK");
  EXPECT_EQ(attempts[0].event_id(), "e2");
  ASSERT_OK_AND_ASSIGN(v1::Delivery delivery,
                       GetDelivery(admin(), attempts[1].delivery_id()));
  EXPECT_EQ(delivery.state(), v1::Delivery::SUCCEEDED);
  const auto sent = WebhookIdsByEvent(receiver_->Requests("/slow"));
  EXPECT_EQ(receiver_->Count("/slow"), 2u);
  EXPECT_THAT(sent.at("e1"), SizeIs(1));
}

TEST_F(DeliveryDurabilityTest, DeliveryOutlastingTheGraceIsSentAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  receiver_->SetReply("/hook", Reply::Hang());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "total_timeout_ms: 600000 retry_schedule_seconds: [0, 1, 1, 1]",
      {"--shutdown_grace_seconds=1"}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/hook"));

  ASSERT_OK_AND_ASSIGN(int exit_code, server_->Terminate(absl::Seconds(60)));
  EXPECT_EQ(exit_code, 0);
  const std::string webhook_id =
      receiver_->Requests("/hook")[0].Header("webhook-id");

  receiver_->SetReply("/hook", Reply::Status(200));
  ASSERT_OK(server_->Restart());
  Reconnect();
  ASSERT_OK_AND_ASSIGN(Attempts attempts,
                       WaitForResolvedAttempts(admin(), sub.id(), 1));
  ASSERT_THAT(attempts, SizeIs(1));
  EXPECT_EQ(attempts[0].status(), v1::DeliveryAttempt::SUCCESSFUL);
  EXPECT_EQ(attempts[0].delivery_id(), webhook_id);
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/hook");
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[1].Header("webhook-id"), webhook_id);
  EXPECT_EQ(requests[1].body, EventBody("e1"));
  ASSERT_OK_AND_ASSIGN(v1::Delivery delivery, GetDelivery(admin(), webhook_id));
  EXPECT_EQ(delivery.state(), v1::Delivery::SUCCEEDED);
}

TEST_F(DeliveryDurabilityTest, SigtermEndsWatchStreamsInsteadOfWaitingOnThem) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("", {"--shutdown_grace_seconds=120"}));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook")));
  OutcomeStream watch(server_->NewChannel(), kAdminToken);
  ASSERT_OK(Publish({"e1"}));
  ASSERT_TRUE(watch.WaitFor(
      [&](const std::vector<v1::Outcome>& got) { return !got.empty(); }));
  // Nothing is in flight; a watch stream never ends by itself, so shutdown
  // must end it rather than wait the whole grace for it. (The bound is far
  // below the grace and far above what a shutdown takes.)
  ASSERT_OK_AND_ASSIGN(int exit_code, server_->Terminate(absl::Seconds(60)));
  EXPECT_EQ(exit_code, 0);
  EXPECT_TRUE(watch.WaitForEnd(absl::Seconds(10)).has_value());
}

}  // namespace
}  // namespace webhooks::e2e
