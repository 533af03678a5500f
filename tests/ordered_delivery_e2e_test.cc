// Ordered delivery end to end (issue 13, DeliveryControl.ordering): a real
// webhookd and a real HTTPS receiver. Settings are checked naming the field
// and kept; an ordered subscription receives its events in commit order
// while the receiver fails the first tries of some, and across a kill -9
// mid-stream with nothing lost; ordering keys go in parallel; an ordered
// subscription whose head hangs does not hold up another subscription.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/event_client.h"
#include "tests/matchers.h"
#include "tests/ordered_checks.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

v1::DeliveryControl Ordered(std::string_view key_path = "") {
  v1::DeliveryControl control;
  control.mutable_ordering()->set_enabled(true);
  control.mutable_ordering()->set_key_path(std::string(key_path));
  return control;
}

// An event whose body is {"id":"<id>","k":"<key>"}.
v1::Event KeyedEvent(const std::string& id, const std::string& key) {
  v1::Event event = NewEvent(id);
  (*event.mutable_representations())["webhook-delivery"].set_body(
      StrCat("{\"id\":\"", id, "\",\"k\":\"", key, "\"}"));
  return event;
}

class OrderedDeliveryE2eTest : public DeliveryE2eTest {};

TEST_F(OrderedDeliveryE2eTest, SettingsAreCheckedKeptAndUpdated) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(""));
  v1::DeliveryControl no_enable;
  no_enable.mutable_ordering()->set_key_path("k");
  EXPECT_THAT(SubscribeWith("/bad", no_enable),
              StatusIs(kInvalid,
                       HasSubstr("subscription.delivery.ordering.key_path: "
                                 "needs ordering.enabled")));
  EXPECT_THAT(SubscribeWith("/bad", Ordered("a..b")),
              StatusIs(kInvalid,
                       HasSubstr("subscription.delivery.ordering.key_path:")));
  ASSERT_OK_AND_ASSIGN(auto all, admin().ListAllSubscriptions());
  EXPECT_TRUE(all.empty());

  ASSERT_OK_AND_ASSIGN(v1::Subscription created,
                       SubscribeWith("/ok", Ordered("order.customer")));
  EXPECT_EQ(created.delivery().ShortDebugString(),
            Ordered("order.customer").ShortDebugString());
  v1::Subscription change;
  change.set_id(created.id());
  *change.mutable_delivery() = Ordered("a.");
  EXPECT_THAT(admin().UpdateSubscription(change, {"delivery"}),
              StatusIs(kInvalid,
                       HasSubstr("subscription.delivery.ordering.key_path:")));
  ASSERT_OK_AND_ASSIGN(v1::Subscription got,
                       admin().GetSubscription(created.id()));
  EXPECT_EQ(got.delivery().ShortDebugString(),
            Ordered("order.customer").ShortDebugString());
  *change.mutable_delivery() = Ordered();
  ASSERT_OK_AND_ASSIGN(v1::Subscription updated,
                       admin().UpdateSubscription(change, {"delivery"}));
  EXPECT_EQ(updated.delivery().ShortDebugString(), "ordering { enabled: true }");
}

// A static subscription from the config file takes the setting, and one
// with a bad key_path stops start-up naming the field.
TEST_F(OrderedDeliveryE2eTest, StaticSubscriptionsTakeOrderingFromTheConfig) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  const auto config = [&](std::string_view ordering) {
    return StrCat(DeliveryConfig(""),
                  "subscriptions { site: \"/\" resource_type: \"user\" "
                  "event_type: \"added\" target_url: \"",
                  receiver_->Url("/static"), "\" delivery { ordering { ",
                  ordering, " } } }\n");
  };
  ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(config("enabled: true"),
                                                     TlsFlags(certs())));
  admin_.emplace(server_->NewChannel(), kAdminToken);
  publisher_.emplace(admin_->WithToken(kPublisherToken));
  ASSERT_OK_AND_ASSIGN(auto all, admin().ListAllSubscriptions());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].delivery().ShortDebugString(), "ordering { enabled: true }");
  const std::vector<std::string> ids = Ids("s", 12);
  ASSERT_OK(Publish(ids));
  ASSERT_TRUE(WaitForAll(*receiver_, "/static", ids));
  ExpectCommitOrder(receiver_->Requests("/static"), ids);

  server_.reset();
  absl::StatusOr<std::unique_ptr<ServerProcess>> refused =
      ServerProcess::Start(config("key_path: \"k\""), TlsFlags(certs()));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("subscription.delivery.ordering.key_path"));
}

// 30 events; the receiver fails the first tries of several of them (one
// twice): each failed head is retried before the next goes.
TEST_F(OrderedDeliveryE2eTest, CommitOrderHoldsWhileTheReceiverFailsFirstTries) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(""));
  v1::DeliveryControl control = Ordered();
  for (int i = 0; i < 3; ++i) {
    control.add_retry_schedule()->set_nanos(50 * 1000 * 1000);  // 50 ms
  }
  ASSERT_OK(SubscribeWith("/ordered", control).status());
  // Requests come one at a time: the replies go to them in order.
  std::vector<Reply> replies;
  for (int n = 0; n < 30; ++n) {
    if (n % 7 == 3) replies.push_back(Reply::Status(503));
    if (n == 10) replies.push_back(Reply::Status(500));
    replies.push_back(Reply::Status(200));
  }
  receiver_->QueueReplies("/ordered", replies);
  const std::vector<std::string> ids = Ids("o", 30);
  ASSERT_OK(Publish(ids));
  ASSERT_TRUE(WaitForAll(*receiver_, "/ordered", ids));
  ExpectCommitOrder(receiver_->Requests("/ordered"), ids);
  EXPECT_EQ(receiver_->Requests("/ordered").size(), replies.size());
}

// kill -9 while an ordered stream is being sent: after the restart the rest
// arrive, in order (the one in flight at the crash may arrive twice, as
// at-least-once allows, but never after its successor), none lost.
TEST_F(OrderedDeliveryE2eTest, KillNineMidStreamKeepsOrderAndLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  receiver_->SetReply("/ordered",
                      Reply::Status(200).After(absl::Milliseconds(20)));
  ASSERT_OK(SubscribeWith("/ordered", Ordered()).status());
  const std::vector<std::string> first = Ids("a", 30), second = Ids("b", 30);
  ASSERT_OK(Publish(first));
  ASSERT_OK(Publish(second));
  ASSERT_TRUE(receiver_->WaitForRequests(10, kWait, "/ordered"));
  ASSERT_OK(server_->Kill9());
  EXPECT_LT(receiver_->Requests("/ordered").size(), 60u);
  ASSERT_OK(server_->Restart());
  admin_.emplace(server_->NewChannel(), kAdminToken);
  std::vector<std::string> all = first;
  all.insert(all.end(), second.begin(), second.end());
  ASSERT_TRUE(WaitForAll(*receiver_, "/ordered", all));
  ExpectCommitOrder(receiver_->Requests("/ordered"), all);
}

// Keys a, b and c, two events each; the receiver answers after a second.
// The first three requests are the three heads, at once (one order for the
// whole subscription would send a0, a1, b0); each key keeps its order.
TEST_F(OrderedDeliveryE2eTest, OrderingKeysRunInParallel) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(""));
  receiver_->SetReply("/keyed", Reply::Status(200).After(absl::Seconds(1)));
  ASSERT_OK(SubscribeWith("/keyed", Ordered("k")).status());
  ASSERT_OK(PublishEvents(publisher(),
                          {KeyedEvent("a0", "a"), KeyedEvent("a1", "a"),
                           KeyedEvent("b0", "b"), KeyedEvent("b1", "b"),
                           KeyedEvent("c0", "c"), KeyedEvent("c1", "c")})
                .status());
  ASSERT_TRUE(receiver_->WaitForRequests(6, kWait, "/keyed"));
  const std::vector<ReceivedRequest> got = receiver_->Requests("/keyed");
  std::set<std::string> heads;
  for (size_t i = 0; i < 3; ++i) heads.insert(EventIdOf(got[i]));
  EXPECT_EQ(heads, (std::set<std::string>{"a0", "b0", "c0"}));
  // Answered a second after it arrived, so the follower came after that.
  std::map<std::string, absl::Time> arrival;
  for (const ReceivedRequest& r : got) arrival.emplace(EventIdOf(r), r.arrival);
  for (const std::string key : {"a", "b", "c"}) {
    EXPECT_GE(arrival[key + "1"] - arrival[key + "0"], absl::Seconds(1)) << key;
  }
}

// An ordered subscription whose receiver never answers its head (a 30 s
// timeout) does not delay another subscription: the other gets all 100
// while the stuck one has had only its head.
TEST_F(OrderedDeliveryE2eTest, AStuckOrderedSubscriptionDoesNotDelayOthers) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer("retry_schedule_seconds: [0]"));
  receiver_->SetReply("/stuck", Reply::Hang());
  v1::DeliveryControl control = Ordered();
  control.mutable_timeout()->set_seconds(30);
  ASSERT_OK(SubscribeWith("/stuck", control).status());
  ASSERT_OK(Subscribe(receiver_->Url("/free")).status());
  const absl::Time start = absl::Now();
  ASSERT_OK(Publish(Ids("w", 100)));
  ASSERT_TRUE(receiver_->WaitForRequests(100, kWait, "/free"));
  const absl::Duration took = absl::Now() - start;
  // Measured, not asserted: how long the free subscription took.
  RecordProperty("free_subscription_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(took)));
  EXPECT_EQ(receiver_->Requests("/stuck").size(), 1u);
}

}  // namespace
}  // namespace webhooks::e2e
