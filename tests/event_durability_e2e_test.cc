// Event durability end to end: prepared transactions survive `kill -9`;
// after a restart committing one creates exactly the expected pending
// deliveries (matched at commit), aborting one creates none, and a commit
// made before the crash is neither lost nor repeated. The deliveries are read
// back from the stopped server's RocksDB directory.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/delivery_reader.h"
#include "tests/event_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;
using Code = absl::StatusCode;
using internal::DeliveryRecord;

class EventDurabilityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(TokensConfig()));
  }

  Api Admin() const { return Api(server_->NewChannel(), kAdminToken); }
  Api Pub() const { return Api(server_->NewChannel(), kPublisherToken); }

  // Creates a subscription and remembers its target URL.
  std::string Sub(const std::string& site, const std::string& resource_type,
                  const std::string& event_type,
                  const std::string& owner = "") {
    v1::Subscription s =
        NewSubscription(site, resource_type, event_type,
                        absl::StrCat("/hook/", target_urls_.size()));
    s.set_owner(owner);
    absl::StatusOr<v1::Subscription> created = Admin().CreateSubscription(s);
    EXPECT_OK(created.status());
    if (!created.ok()) return "";
    target_urls_[created->id()] = created->target_url();
    return created->id();
  }

  v1::Transaction Get(const std::string& id) const {
    absl::StatusOr<v1::Transaction> t = GetTransaction(Pub(), id);
    EXPECT_OK(t.status()) << id;
    return t.ok() ? *t : v1::Transaction();
  }

  // Stops the server and reads its pending deliveries.
  std::vector<DeliveryRecord> StopAndReadDeliveries() {
    absl::StatusOr<int> exit_code = server_->Terminate();
    EXPECT_OK(exit_code.status());
    EXPECT_EQ(exit_code.value_or(-1), 0);
    absl::StatusOr<std::vector<DeliveryRecord>> pending =
        ReadPendingDeliveries(server_->data_dir());
    EXPECT_OK(pending.status());
    return pending.ok() ? *pending : std::vector<DeliveryRecord>();
  }

  std::unique_ptr<ServerProcess> server_;
  std::map<std::string, std::string> target_urls_;  // subscription id -> URL
};

v1::Event EventWithAcl(const std::string& id, const std::string& site,
                       const std::string& resource_type,
                       const std::string& event_type,
                       std::vector<v1::AclEntry> acl = {}) {
  v1::Event event = NewEvent(id, site, {resource_type}, {event_type});
  for (v1::AclEntry& entry : acl) *event.add_acl() = std::move(entry);
  return event;
}

TEST_F(EventDurabilityE2eTest, PreparedTransactionsSurviveKill9) {
  ASSERT_OK(Admin().SetPrincipalGroups("alice", {"staff"}).status());
  const std::string root = Sub("/", "user", "added");
  const std::string noaa = Sub("/NOAA", "*", "added");
  const std::string oun = Sub("/NOAA/NWS/OUN", "user", "*");
  const std::string alice = Sub("/NOAA", "user", "added", "alice");
  const std::string other = Sub("/Other", "group", "*");

  // A: four events over two calls. B: two events, to be aborted.
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse a_first,
      PrepareEvents(Pub(), "tx-a",
                    {EventWithAcl("a1", "/NOAA/NWS/OUN", "user", "added"),
                     EventWithAcl("a2", "/NOAA", "user", "removed")}));
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse a_second,
      PrepareEvents(
          Pub(), "tx-a",
          {EventWithAcl("a3", "/Other", "group", "added", {Allow("staff")}),
           EventWithAcl("a4", "/NOAA/NWS/OUN", "user", "added",
                        {Allow("staff")})}));
  const v1::Transaction a_before = a_second.transaction();
  ASSERT_EQ(a_before.event_count(), 4);
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse b,
      PrepareEvents(Pub(), "tx-b",
                    {EventWithAcl("b1", "/NOAA", "user", "added",
                                  {Allow("system.Everyone")}),
                     EventWithAcl("b2", "/Other", "group", "removed")}));
  // E: committed before the crash. L: left prepared. X: expires meanwhile.
  ASSERT_OK(PrepareEvents(Pub(), "tx-e",
                          {EventWithAcl("e1", "/NOAA", "user", "added")})
                .status());
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse e_commit,
                       CommitTransaction(Pub(), "tx-e"));
  ASSERT_EQ(e_commit.deliveries_created(), 2);  // root, noaa
  ASSERT_OK(
      PrepareEvents(Pub(), "tx-l", {EventWithAcl("l1", "/", "user", "added")})
          .status());
  ASSERT_OK(PrepareEvents(Pub(), "tx-x",
                          {EventWithAcl("x1", "/", "user", "added")},
                          absl::Seconds(1))
                .status());

  ASSERT_OK(server_->Kill9());
  absl::SleepFor(absl::Milliseconds(1200));  // tx-x expires while down
  ASSERT_OK(server_->Restart());

  EXPECT_THAT(Get("tx-a"), EqualsProto(a_before));
  EXPECT_THAT(Get("tx-b"), EqualsProto(b.transaction()));
  EXPECT_THAT(Get("tx-e"), EqualsProto(e_commit.transaction()));
  EXPECT_EQ(Get("tx-l").state(), v1::Transaction::PREPARED);
  EXPECT_EQ(Get("tx-x").state(), v1::Transaction::EXPIRED);

  // Re-sending a prepared event after the restart is still a no-op.
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse resent,
      PrepareEvents(Pub(), "tx-a",
                    {EventWithAcl("a1", "/NOAA/NWS/OUN", "user", "added")}));
  EXPECT_THAT(resent.event_results(0), EqualsProto(a_first.event_results(0)));
  EXPECT_THAT(resent.transaction(), EqualsProto(a_before));

  // Matching happens at commit: a subscription created now counts.
  const std::string nws = Sub("/NOAA/NWS", "user", "added");
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse a_commit,
                       CommitTransaction(Pub(), "tx-a"));
  const std::vector<EventSubscription> a_expected = {
      {"a1", root}, {"a1", noaa}, {"a1", oun}, {"a1", nws},   {"a3", other},
      {"a4", root}, {"a4", noaa}, {"a4", oun}, {"a4", alice}, {"a4", nws}};
  EXPECT_EQ(a_commit.deliveries_created(),
            static_cast<int64_t>(a_expected.size()));
  EXPECT_EQ(a_commit.transaction().event_count(), 4);

  ASSERT_OK_AND_ASSIGN(v1::AbortResponse b_abort,
                       AbortTransaction(Pub(), "tx-b"));
  EXPECT_EQ(b_abort.transaction().state(), v1::Transaction::ABORTED);
  EXPECT_THAT(CommitTransaction(Pub(), "tx-b"),
              StatusIs(Code::kFailedPrecondition, _));
  EXPECT_THAT(CommitTransaction(Pub(), "tx-x"),
              StatusIs(Code::kFailedPrecondition, _));
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse e_again,
                       CommitTransaction(Pub(), "tx-e"));
  EXPECT_THAT(e_again, EqualsProto(e_commit));

  ASSERT_OK_AND_ASSIGN(
      v1::PublishResponse published,
      PublishEvents(Pub(), {EventWithAcl("p1", "/NOAA/NWS/OUN", "user", "added",
                                         {Deny("alice")})}));
  EXPECT_EQ(published.deliveries_created(), 4);  // root, noaa, oun, nws
  const std::string pub_tx = published.transaction().id();

  std::vector<EventSubscription> expected = a_expected;
  expected.insert(expected.end(), {{"e1", root},
                                   {"e1", noaa},
                                   {"p1", root},
                                   {"p1", noaa},
                                   {"p1", oun},
                                   {"p1", nws}});
  const std::map<char, std::string> tx_of_event = {
      {'a', "tx-a"}, {'e', "tx-e"}, {'p', pub_tx}};

  std::vector<DeliveryRecord> pending = StopAndReadDeliveries();
  EXPECT_THAT(EventSubscriptionPairs(pending),
              UnorderedElementsAreArray(expected));
  std::set<std::string> ids;
  for (const DeliveryRecord& d : pending) {
    SCOPED_TRACE(d.ShortDebugString());
    EXPECT_TRUE(ids.insert(d.id()).second) << "delivery id reused";
    // The dispatcher may have tried (and failed: nothing listens at
    // hooks.example.com) already; a failed attempt leaves it pending.
    EXPECT_EQ(d.state(), DeliveryRecord::PENDING);
    EXPECT_EQ(d.transaction_id(), tx_of_event.at(d.event_id().front()));
    EXPECT_EQ(d.target_url(), target_urls_[d.subscription_id()]);
    EXPECT_EQ(d.representation(), "webhook-delivery");
  }

  // After a clean restart the resolutions hold and nothing is re-created.
  ASSERT_OK(server_->Restart());
  EXPECT_EQ(Get("tx-a").state(), v1::Transaction::COMMITTED);
  EXPECT_EQ(Get("tx-a").delivery_count(),
            static_cast<int64_t>(a_expected.size()));
  EXPECT_EQ(Get("tx-b").state(), v1::Transaction::ABORTED);
  EXPECT_EQ(Get("tx-l").state(), v1::Transaction::PREPARED);
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse a_again,
                       CommitTransaction(Pub(), "tx-a"));
  EXPECT_EQ(a_again.deliveries_created(), a_commit.deliveries_created());
  EXPECT_THAT(EventSubscriptionPairs(StopAndReadDeliveries()),
              UnorderedElementsAreArray(expected));
}

TEST_F(EventDurabilityE2eTest,
       AbortedAndUncommittedTransactionsDeliverNothing) {
  Sub("/", "user", "added");
  ASSERT_OK(PrepareEvents(Pub(), "tx-abort",
                          {EventWithAcl("a1", "/", "user", "added")})
                .status());
  ASSERT_OK(AbortTransaction(Pub(), "tx-abort").status());
  ASSERT_OK(PrepareEvents(Pub(), "tx-open",
                          {EventWithAcl("o1", "/", "user", "added")})
                .status());
  ASSERT_OK(server_->Kill9());
  ASSERT_OK(server_->Restart());
  EXPECT_EQ(Get("tx-abort").state(), v1::Transaction::ABORTED);
  EXPECT_EQ(Get("tx-open").state(), v1::Transaction::PREPARED);
  EXPECT_THAT(StopAndReadDeliveries(), ElementsAre());
}

}  // namespace
}  // namespace webhooks::e2e
