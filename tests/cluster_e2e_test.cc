// Cluster mode end to end: webhookd processes on one real PostgreSQL
// (started by the test), a real HTTPS receiver. A subscription, a
// principal's groups or a static subscription changed through one node are
// seen by the others; Prepare on one node and Commit on another delivers;
// racing Prepares, Commits, and Commit against Abort through two nodes end
// with one outcome; and after `kill -9` of a node every committed delivery
// still arrives (its partitions pass to the survivors). PostgreSQL's own
// failures are in cluster_failure_e2e_test.cc. A pending delivery is found
// by id through every node, before and after its outcome.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster_fixture.h"
#include "tests/event_client.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;

TEST_F(ClusterTest, SubscriptionChangesThroughOneNodeAreMatchedByTheOthers) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(3, "retry_schedule_seconds: [0]"));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/hook"), &admins_[0]));
  EXPECT_TRUE(WaitMatched(2, 1));
  EXPECT_TRUE(WaitMatched(1, 1));
  ASSERT_OK(admins_[1].DeactivateSubscription(sub.id()).status());
  EXPECT_TRUE(WaitMatched(0, 0));
  EXPECT_TRUE(WaitMatched(2, 0));
  ASSERT_OK(admins_[2].ActivateSubscription(sub.id()).status());
  EXPECT_TRUE(WaitMatched(0, 1));
  ASSERT_OK(admins_[0].DeleteSubscription(sub.id()));
  EXPECT_TRUE(WaitMatched(1, 0));
  EXPECT_TRUE(WaitMatched(2, 0));
}

TEST_F(ClusterTest, PrepareOnOneNodeCommitOnAnotherDelivers) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2, "retry_schedule_seconds: [0]"));
  ASSERT_OK(Subscribe(receiver_->Url("/hook"), &admins_[0]).status());
  ASSERT_TRUE(WaitMatched(1, 1));
  ASSERT_OK(PrepareEvents(Publisher(0), "tx-1", {NewEvent("e1")}).status());
  ASSERT_OK(PrepareEvents(Publisher(1), "tx-1", {NewEvent("e2")}).status());
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse commit,
                       CommitTransaction(Publisher(1), "tx-1"));
  EXPECT_EQ(commit.deliveries_created(), 2);
  // Committing again through the other node answers the same.
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse again,
                       CommitTransaction(Publisher(0), "tx-1"));
  EXPECT_EQ(again.deliveries_created(), 2);
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait, "/hook"));
  EXPECT_EQ(EventIds(receiver_->Requests()),
            (std::set<std::string>{"e1", "e2"}));
}

TEST_F(ClusterTest, RacingCommitAndAbortThroughTwoNodesEndWithOneOutcome) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2, "retry_schedule_seconds: [0]"));
  ASSERT_OK(Subscribe(receiver_->Url("/hook"), &admins_[0]).status());
  ASSERT_TRUE(WaitMatched(1, 1));
  constexpr int kRounds = 20;
  std::set<std::string> committed;
  for (int round = 0; round < kRounds; ++round) {
    const std::string tx = absl::StrCat("race-", round);
    ASSERT_OK(PrepareEvents(Publisher(round % 2), tx,
                            {NewEvent(absl::StrCat("r", round))})
                  .status());
    absl::StatusOr<v1::CommitResponse> commit;
    absl::Status abort;
    std::thread committer(
        [&] { commit = CommitTransaction(Publisher(0), tx); });
    std::thread aborter([&] { abort = AbortTransaction(Publisher(1), tx).status(); });
    committer.join();
    aborter.join();
    // Exactly one wins; the loser is told FAILED_PRECONDITION.
    EXPECT_NE(commit.ok(), abort.ok()) << commit.status() << " / " << abort;
    if (commit.ok()) {
      EXPECT_EQ(abort.code(), absl::StatusCode::kFailedPrecondition) << abort;
      committed.insert(absl::StrCat("r", round));
    } else {
      EXPECT_EQ(commit.status().code(), absl::StatusCode::kFailedPrecondition)
          << commit.status();
    }
  }
  // A marker committed last: once it arrived, everything before it has.
  ASSERT_OK(PublishEvents(Publisher(0), {NewEvent("marker")}).status());
  committed.insert("marker");
  ASSERT_TRUE(receiver_->WaitForRequests(static_cast<int>(committed.size()),
                                         kWait, "/hook"));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(EventIds(receiver_->Requests()), committed);
}

// Prepares of one transaction racing through two nodes: every acknowledged
// Prepare is in the transaction (none is overwritten by another), and the
// Commit delivers each of its events once.
TEST_F(ClusterTest, RacingPreparesThroughTwoNodesKeepEveryEvent) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2, "retry_schedule_seconds: [0]"));
  ASSERT_OK(Subscribe(receiver_->Url("/hook"), &admins_[0]).status());
  ASSERT_TRUE(WaitMatched(1, 1));
  constexpr int kThreads = 4;
  constexpr int kPreparesEach = 8;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> prepared(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPreparesEach; ++i) {
        const std::string id = absl::StrCat("p", t, "-", i);
        absl::Status status =
            PrepareEvents(Publisher(t % 2), "tx-shared", {NewEvent(id)})
                .status();
        EXPECT_OK(status) << id;
        if (status.ok()) prepared[t].push_back(id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> want;
  for (const auto& ids : prepared) want.insert(ids.begin(), ids.end());
  ASSERT_EQ(want.size(), static_cast<size_t>(kThreads * kPreparesEach));
  ASSERT_OK_AND_ASSIGN(v1::Transaction tx,
                       GetTransaction(Publisher(1), "tx-shared"));
  EXPECT_EQ(tx.event_count(), kThreads * kPreparesEach) << tx.ShortDebugString();
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse commit,
                       CommitTransaction(Publisher(0), "tx-shared"));
  EXPECT_EQ(commit.deliveries_created(), kThreads * kPreparesEach);
  ASSERT_TRUE(receiver_->WaitForRequests(want.size(), kWait, "/hook"));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(receiver_->Requests("/hook").size(), want.size());
  EXPECT_EQ(EventIds(receiver_->Requests("/hook")), want);
}

// Commits of one transaction racing through two nodes: both answer with the
// same deliveries, which are created (and sent) once.
TEST_F(ClusterTest, RacingCommitsThroughTwoNodesDeliverOnce) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2, "retry_schedule_seconds: [0]"));
  ASSERT_OK(Subscribe(receiver_->Url("/hook"), &admins_[0]).status());
  ASSERT_TRUE(WaitMatched(1, 1));
  constexpr int kRounds = 10;
  std::set<std::string> want;
  for (int round = 0; round < kRounds; ++round) {
    const std::string tx = absl::StrCat("both-", round);
    const std::vector<v1::Event> events = {
        NewEvent(absl::StrCat("c", round, "a")),
        NewEvent(absl::StrCat("c", round, "b"))};
    ASSERT_OK(PrepareEvents(Publisher(round % 2), tx, events).status());
    want.insert({events[0].id(), events[1].id()});
    absl::StatusOr<v1::CommitResponse> first, second;
    std::thread a([&] { first = CommitTransaction(Publisher(0), tx); });
    std::thread b([&] { second = CommitTransaction(Publisher(1), tx); });
    a.join();
    b.join();
    ASSERT_OK(first.status());
    ASSERT_OK(second.status());
    EXPECT_EQ(first->deliveries_created(), 2);
    EXPECT_EQ(second->deliveries_created(), 2);
  }
  ASSERT_TRUE(receiver_->WaitForRequests(want.size(), kWait, "/hook"));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(receiver_->Requests("/hook").size(), want.size());
  EXPECT_EQ(EventIds(receiver_->Requests("/hook")), want);
}

// A principal's groups set through one node decide ACLs on the others.
TEST_F(ClusterTest, GroupChangesThroughOneNodeDecideAclsOnTheOthers) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(3, "retry_schedule_seconds: [0]"));
  ASSERT_OK(
      Subscribe(receiver_->Url("/alice"), &admins_[0], "alice").status());
  v1::Event for_staff = NewEvent("staff-only");
  *for_staff.add_acl() = Allow("staff");
  ASSERT_TRUE(WaitMatched(2, 0, for_staff));  // alice is in no group yet
  ASSERT_OK(admins_[1].SetPrincipalGroups("alice", {"staff"}).status());
  EXPECT_TRUE(WaitMatched(2, 1, for_staff));
  EXPECT_TRUE(WaitMatched(0, 1, for_staff));
  ASSERT_OK(PublishEvents(Publisher(2), {for_staff}).status());
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/alice"));
  ASSERT_OK(admins_[0].SetPrincipalGroups("alice", {"ops"}).status());
  EXPECT_TRUE(WaitMatched(1, 0, for_staff));
  EXPECT_TRUE(WaitMatched(2, 0, for_staff));
}

// Every node's file declares the same static subscriptions and the nodes
// start at once: one record each, written once (no node rewrites what
// another wrote, before or after a restart), delivered through any node.
TEST_F(ClusterTest, StaticSubscriptionsInEveryNodesFileAreSyncedOnce) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  const std::string statics = absl::StrCat(
      "subscriptions { id: \"audit\" site: \"/\" resource_type: \"user\" "
      "event_type: \"added\" target_url: \"",
      receiver_->Url("/audit"),
      "\" }\n"
      "subscriptions { site: \"/NOAA\" resource_type: \"*\" event_type: "
      "\"*\" target_url: \"",
      receiver_->Url("/noaa"), "\" }\n");
  ASSERT_NO_FATAL_FAILURE(
      StartNodes(3, "retry_schedule_seconds: [0]", statics));
  std::vector<std::string> seen;  // each node's listing
  for (int node = 0; node < 3; ++node) {
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                         admins_[node].ListAllSubscriptions());
    ASSERT_EQ(all.size(), 2u);
    std::string listing;
    for (const v1::Subscription& s : all) {
      EXPECT_TRUE(s.static_());
      absl::StrAppend(&listing, s.ShortDebugString(), "\n");
    }
    seen.push_back(std::move(listing));
  }
  EXPECT_EQ(seen[1], seen[0]);
  EXPECT_EQ(seen[2], seen[0]);
  // No key of the static records was written twice.
  const std::string written_twice =
      "SELECT count(*) FROM (SELECT col, k FROM webhookd_changes "
      "GROUP BY col, k HAVING count(*) > 1) AS twice";
  ASSERT_OK_AND_ASSIGN(std::string twice, postgres_->Sql(database_, written_twice));
  EXPECT_EQ(twice, "0");

  ASSERT_OK(nodes_[1]->Restart());
  admins_[1] = Api(nodes_[1]->NewChannel(), kAdminToken);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> after,
                       admins_[1].ListAllSubscriptions());
  std::string listing;
  for (const v1::Subscription& s : after) {
    absl::StrAppend(&listing, s.ShortDebugString(), "\n");
  }
  EXPECT_EQ(listing, seen[0]);
  ASSERT_OK_AND_ASSIGN(twice, postgres_->Sql(database_, written_twice));
  EXPECT_EQ(twice, "0");

  for (int node = 0; node < 3; ++node) {
    ASSERT_OK(PublishEvents(Publisher(node),
                            {NewEvent(absl::StrCat("s", node))})
                  .status());
  }
  ASSERT_TRUE(receiver_->WaitForRequests(3, kWait, "/audit"));
  ASSERT_TRUE(receiver_->WaitForRequests(3, kWait, "/noaa"));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(EventIds(receiver_->Requests("/audit")),
            (std::set<std::string>{"s0", "s1", "s2"}));
}

// The (path, event id) pairs received, each once however often it came.
std::set<std::pair<std::string, std::string>> Received(
    const std::vector<ReceivedRequest>& requests) {
  std::set<std::pair<std::string, std::string>> pairs;
  for (const ReceivedRequest& request : requests) {
    std::string id = EventIdOf(request);
    if (!id.empty()) pairs.emplace(request.path, std::move(id));
  }
  return pairs;
}

TEST_F(ClusterTest, Kill9OfANodeLosesNoCommittedDelivery) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(3, "retry_schedule_seconds: [0, 1, 1]"));
  // Several subscriptions, so deliveries spread over partitions and nodes.
  constexpr int kSubscriptions = 8;
  for (int i = 0; i < kSubscriptions; ++i) {
    ASSERT_OK(Subscribe(receiver_->Url(absl::StrCat("/hook", i)), &admins_[i % 3])
                  .status());
  }
  for (int node = 0; node < 3; ++node) {
    ASSERT_TRUE(WaitMatched(node, kSubscriptions));
  }
  std::set<std::string> acknowledged;
  int next = 0;
  const auto publish_some = [&](int count, const std::vector<int>& through) {
    for (int i = 0; i < count; ++i, ++next) {
      const std::string id = absl::StrCat("k", next);
      if (PublishEvents(Publisher(through[next % through.size()]),
                        {NewEvent(id)})
              .ok()) {
        acknowledged.insert(id);
      }
    }
  };
  // Every acknowledged event at every subscription. A count of requests
  // would not do: the dead node's in-flight requests are sent again by the
  // node that takes its partitions over, and those duplicates (allowed)
  // would make up for deliveries still to come.
  const auto every_delivery = [&] {
    std::set<std::pair<std::string, std::string>> want;
    for (int i = 0; i < kSubscriptions; ++i) {
      for (const std::string& id : acknowledged) {
        want.emplace(absl::StrCat("/hook", i), id);
      }
    }
    return want;
  };
  // Waits, then names what is missing and what was not acknowledged.
  const auto expect_every_delivery = [&] {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (Received(receiver_->Requests()) != every_delivery() &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    const auto got = Received(receiver_->Requests());
    const auto want = every_delivery();
    std::string missing, extra;
    for (const auto& [path, id] : want) {
      if (!got.contains({path, id})) absl::StrAppend(&missing, " ", path, ":", id);
    }
    for (const auto& [path, id] : got) {
      if (!want.contains({path, id})) absl::StrAppend(&extra, " ", path, ":", id);
    }
    EXPECT_EQ(missing, "") << "not received";
    EXPECT_EQ(extra, "") << "received, not acknowledged";
  };
  publish_some(30, {0, 1, 2});
  ASSERT_OK(nodes_[1]->Kill9());
  publish_some(30, {0, 2});
  // Every acknowledged event reaches every subscription (the dead node's
  // partitions are taken over after its leases expire), and no event that
  // was not acknowledged is delivered.
  expect_every_delivery();
  // The node rejoins and the cluster keeps delivering.
  ASSERT_OK(nodes_[1]->Restart());
  admins_[1] = Api(nodes_[1]->NewChannel(), kAdminToken);
  publish_some(10, {1});
  expect_every_delivery();
}

// A new delivery is written once, to the queue: its id names its
// partition, so every node finds it by id while it is pending, and by its
// record once it has an outcome.
TEST_F(ClusterTest, APendingDeliveryIsFoundByIdThroughEveryNode) {
  // The first request hangs until the sender gives up on it; the retry is
  // answered.
  ASSERT_NO_FATAL_FAILURE(StartNodes(
      2, "total_timeout_ms: 5000 retry_schedule_seconds: [0, 0]"));
  receiver_->SetReply("/held", Reply::Status(200));
  receiver_->QueueReplies("/held", {Reply::Hang()});
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       Subscribe(receiver_->Url("/held"), &admins_[0]));
  ASSERT_TRUE(WaitMatched(1, 1));
  ASSERT_OK(PublishEvents(Publisher(1), {NewEvent("e1")}).status());
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait, "/held"));
  const std::string id = receiver_->Requests("/held")[0].Header("webhook-id");
  ASSERT_THAT(id, ::testing::StartsWith("dlv_"));
  const std::string by_id = "SELECT count(*) FROM webhookd_kv_deliveries";
  ASSERT_OK_AND_ASSIGN(std::string records, postgres_->Sql(database_, by_id));
  EXPECT_EQ(records, "0");
  for (int node = 0; node < 2; ++node) {
    ASSERT_OK_AND_ASSIGN(v1::Delivery delivery,
                         GetDelivery(admins_[node], id));
    EXPECT_EQ(delivery.state(), v1::Delivery::PENDING) << node;
    EXPECT_EQ(delivery.subscription_id(), sub.id()) << node;
    EXPECT_EQ(delivery.attempt_count(), 0) << node;
  }
  // Once it succeeded, the record by id is what both nodes read: after the
  // held attempt failed and its retry (two attempts), or sent again by the
  // node its partition passed to while the nodes were still sharing them
  // out (the held attempt's outcome is then not written: one attempt).
  for (int node = 0; node < 2; ++node) {
    ASSERT_OK_AND_ASSIGN(
        v1::Delivery delivery,
        WaitForDeliveryState(admins_[node], id, v1::Delivery::SUCCEEDED,
                             absl::Seconds(60)));
    EXPECT_GE(delivery.attempt_count(), 1) << node;
  }
  ASSERT_OK_AND_ASSIGN(records, postgres_->Sql(database_, by_id));
  EXPECT_EQ(records, "1");
}

// One node on RocksDB with pending deliveries and an open transaction is
// stopped and copied into PostgreSQL (webhookd_copy); a cluster node started
// on the copy commits the transaction and delivers everything, the pending
// deliveries with the webhook-ids they were first sent with.
TEST_F(ClusterTest, RocksDbStoreCopiedIntoPostgresDeliversEverything) {
  ASSERT_NE(postgres_, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string dsn, postgres_->CreateDatabase("copied"));
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  // The first node's requests are never answered: they stay pending.
  receiver_->SetReply("/hook", Reply::Hang());
  ASSERT_NO_FATAL_FAILURE(StartTlsServer(
      "total_timeout_ms: 600000 shutdown_grace_ms: 100 "
      "retry_schedule_seconds: [0, 1, 1]"));
  ASSERT_OK(Subscribe(receiver_->Url("/hook")).status());
  ASSERT_OK(Publish({"p1", "p2", "p3"}));
  ASSERT_OK(PrepareEvents(publisher(), "tx-open", {NewEvent("o1")}).status());
  ASSERT_TRUE(receiver_->WaitForRequests(3, kWait, "/hook"));
  std::set<std::string> first_ids;
  for (const ReceivedRequest& r : receiver_->Requests("/hook")) {
    first_ids.insert(r.Header("webhook-id"));
  }
  ASSERT_EQ(first_ids.size(), 3u);
  ASSERT_OK(server_->Terminate().status());

  const std::string copy = WebhookdBinary() + "_copy";
  const std::string command = absl::StrCat(
      copy, " --from=rocksdb:", server_->data_dir(), " --to=postgres:'", dsn,
      "' > ", server_->dir(), "/copy.log 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  receiver_->SetReply("/hook", Reply::Status(200));
  std::vector<std::string> flags = TlsFlags(certs());
  flags.push_back("--postgres_dsn=" + dsn);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> node,
                       ServerProcess::Start(DeliveryConfig(
                           "retry_schedule_seconds: [0, 1, 1]"), flags));
  Api admin(node->NewChannel(), kAdminToken);
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse commit,
                       CommitTransaction(admin.WithToken(kPublisherToken),
                                         "tx-open"));
  EXPECT_EQ(commit.deliveries_created(), 1);
  // 3 hung + 3 again + the committed one.
  ASSERT_TRUE(receiver_->WaitForRequests(7, kWait, "/hook"));
  std::set<std::string> again;
  for (const ReceivedRequest& r : receiver_->Requests("/hook")) {
    again.insert(r.Header("webhook-id"));
  }
  EXPECT_EQ(again.size(), 4u);  // the three first ids, and the new one
  for (const std::string& id : first_ids) EXPECT_TRUE(again.contains(id)) << id;
  EXPECT_EQ(EventIds(receiver_->Requests("/hook")),
            (std::set<std::string>{"p1", "p2", "p3", "o1"}));
}

// An API key created through one node works on another once the feed is
// read there, and a revocation through one node is refused by the others
// within the feed's bound (a poll: 100 ms; documented: 1 s).
TEST_F(ClusterTest, ApiKeyCreatedOnOneNodeWorksOnAnotherAndRevocationReachesIt) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2, "retry_schedule_seconds: [0]"));
  using K = v1::ApiKeyService::Stub;
  v1::CreateApiKeyRequest create;
  create.mutable_api_key()->set_principal("carol");
  create.mutable_api_key()->add_roles(v1::SUBSCRIBER);
  ASSERT_OK_AND_ASSIGN(v1::CreateApiKeyResponse created,
                       admins_[0].Call(&K::CreateApiKey, create));
  const Api on_a = admins_[0].WithToken(created.secret());
  const Api on_b = admins_[1].WithToken(created.secret());
  ASSERT_OK(on_a.ListAllSubscriptions().status());  // at once where created
  // Node B accepts it once its feed has brought the key.
  const absl::Time deadline = absl::Now() + kFeedBound;
  absl::Status on_b_status;
  while (!(on_b_status = on_b.ListAllSubscriptions().status()).ok() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_OK(on_b_status);

  v1::RevokeApiKeyRequest revoke;
  revoke.set_id(created.api_key().id());
  const absl::Time revoked_at = absl::Now();
  ASSERT_OK(admins_[0].Call(&K::RevokeApiKey, revoke).status());
  // Refused at once on A, and on B within the feed's bound.
  EXPECT_THAT(on_a.ListAllSubscriptions().status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("revoked")));
  absl::Status refused;
  while ((refused = on_b.ListAllSubscriptions().status()).ok() &&
         absl::Now() < revoked_at + kFeedBound) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("revoked")));
  RecordProperty("revocation_reached_b_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(absl::Now() - revoked_at)));
  // Node B reports the key revoked too, and revoking there again is a no-op.
  ASSERT_OK_AND_ASSIGN(v1::ApiKey again, admins_[1].Call(&K::RevokeApiKey, revoke));
  EXPECT_EQ(again.state(), v1::ApiKey::REVOKED);
}

}  // namespace
}  // namespace webhooks::e2e
