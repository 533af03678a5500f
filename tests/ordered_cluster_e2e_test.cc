// Ordered delivery in a cluster (issue 13): two webhookd nodes on one real
// PostgreSQL. Two publishers commit through different nodes at the same
// time, so both nodes number one subscription's deliveries concurrently
// (the counter row is locked until COMMIT; a conflicting node retries);
// then the node holding the subscription's partition is killed with -9
// mid-stream and the other takes it over. Each publisher's events
// arrive in its commit order, none lost.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/delivery_queue.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster_fixture.h"
#include "tests/event_client.h"
#include "tests/matchers.h"
#include "tests/ordered_checks.h"

namespace webhooks::e2e {
namespace {

TEST_F(ClusterTest, OrderHoldsAcrossNodesAndAKill9) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2, "retry_schedule_seconds: [0, 1]"));
  receiver_->SetReply("/ordered",
                      Reply::Status(200).After(absl::Milliseconds(20)));
  v1::Subscription s = SubscriptionTo(receiver_->Url("/ordered"));
  s.mutable_delivery()->mutable_ordering()->set_enabled(true);
  ASSERT_OK_AND_ASSIGN(v1::Subscription created, admins_[0].CreateSubscription(s));
  ASSERT_TRUE(WaitMatched(0, 1));
  ASSERT_TRUE(WaitMatched(1, 1));
  const std::vector<std::string> a = Ids("a", 20), b = Ids("b", 20);
  // One event per transaction, each publisher waiting for its commit: its
  // own events' commit order is the order given.
  const auto publish = [&](int node, const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      ASSERT_OK(PublishEvents(Publisher(node), {NewEvent(id)}).status());
    }
  };
  std::thread through_1([&] { publish(1, b); });
  publish(0, a);
  through_1.join();
  ASSERT_TRUE(receiver_->WaitForRequests(5, kWait, "/ordered"));
  // The node holding the subscription's partition (hence sending its
  // deliveries) is the one killed: the other must take the lane over.
  ASSERT_OK_AND_ASSIGN(
      std::string partitions,
      postgres_->Sql(database_,
                     "SELECT value FROM webhookd_meta WHERE name = 'partitions'"));
  const int partition =
      core::DeliveryQueue::PartitionOf(created.id(), std::stoi(partitions));
  ASSERT_OK_AND_ASSIGN(
      std::string owner,
      postgres_->Sql(database_,
                     absl::StrCat("SELECT owner FROM webhookd_leases WHERE "
                                  "partition = ",
                                  partition)));
  ASSERT_THAT(owner, ::testing::AnyOf("node-0", "node-1"));
  ASSERT_OK(nodes_[owner == "node-1" ? 1 : 0]->Kill9());
  ASSERT_TRUE(WaitForAll(*receiver_, "/ordered", a));
  ASSERT_TRUE(WaitForAll(*receiver_, "/ordered", b));
  // Each publisher's events, in its commit order (the other's interleave).
  ExpectCommitOrder(receiver_->Requests("/ordered"), a);
  ExpectCommitOrder(receiver_->Requests("/ordered"), b);
}

}  // namespace
}  // namespace webhooks::e2e
