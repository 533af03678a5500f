// Transactions belong to the publisher that prepared them, end to end: with
// two publisher tokens, the other's transaction is NOT_FOUND on every call
// and left as it was, the same id chosen by both is two transactions, and an
// admin sees and acts on both by naming the owner. Deliveries go through a
// real receiver, so "delivered once, with the right body" is checked too.
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/delivery_test_util.h"
#include "tests/event_client.h"
#include "tests/https_receiver.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;
using Code = absl::StatusCode;

// TokensConfig()'s publisher is "pub"; this second one is "app2".
constexpr char kApp1[] = "pub";
constexpr char kApp2[] = "app2";
constexpr char kApp2Token[] = "app2-publisher-token-0123456789";

// An event whose body says who prepared it.
v1::Event EventFrom(const std::string& id, const std::string& publisher) {
  v1::Event event = NewEvent(id);
  (*event.mutable_representations())["webhook-delivery"].set_body(
      absl::StrCat("{\"id\":\"", id, "\",\"from\":\"", publisher, "\"}"));
  return event;
}

// Every EventService call that names a transaction, with `owner` set when
// not empty (as an admin would to reach another's).
absl::StatusOr<v1::PrepareResponse> PrepareAs(const Api& api,
                                              std::string_view id,
                                              std::vector<v1::Event> events,
                                              std::string_view owner = "") {
  v1::PrepareRequest request = PrepareRequestOf(id, events);
  request.set_owner(std::string(owner));
  return api.Call(&v1::EventService::Stub::Prepare, request);
}
absl::StatusOr<v1::CommitResponse> CommitAs(const Api& api,
                                            std::string_view id,
                                            std::string_view owner = "") {
  v1::CommitRequest request;
  request.set_transaction_id(std::string(id));
  request.set_owner(std::string(owner));
  return api.Call(&v1::EventService::Stub::Commit, request);
}
absl::StatusOr<v1::AbortResponse> AbortAs(const Api& api, std::string_view id,
                                          std::string_view owner = "") {
  v1::AbortRequest request;
  request.set_transaction_id(std::string(id));
  request.set_owner(std::string(owner));
  return api.Call(&v1::EventService::Stub::Abort, request);
}
absl::StatusOr<v1::Transaction> GetAs(const Api& api, std::string_view id,
                                      std::string_view owner = "") {
  v1::GetTransactionRequest request;
  request.set_transaction_id(std::string(id));
  request.set_owner(std::string(owner));
  return api.Call(&v1::EventService::Stub::GetTransaction, request);
}

class TransactionOwnerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(receiver_, HttpsReceiver::StartHttp());
    ASSERT_OK_AND_ASSIGN(
        server_,
        ServerProcess::Start(
            absl::StrCat(DeliveryConfig("retry_schedule_seconds: [0]"),
                         "tokens { token: \"", kApp2Token, "\" principal: \"",
                         kApp2, "\" roles: PUBLISHER }\n"),
            {"--allow_http_targets", "--allowed_cidrs=127.0.0.1/32"}));
    Connect();
    ASSERT_OK_AND_ASSIGN(
        subscription_,
        admin_->CreateSubscription(SubscriptionTo(receiver_->Url("/hook"))));
  }

  void Connect() {
    admin_.emplace(server_->NewChannel(), kAdminToken);
    app1_.emplace(admin_->WithToken(kPublisherToken));
    app2_.emplace(admin_->WithToken(kApp2Token));
  }

  // The bodies the receiver got, once `n` requests arrived and nothing more
  // came for a moment (a second delivery would be a duplicate).
  std::multiset<std::string> BodiesOnce(size_t n) {
    EXPECT_TRUE(receiver_->WaitForRequests(n, kWait, "/hook"));
    EXPECT_OK(WaitForResolvedAttempts(*admin_, subscription_.id(), n).status());
    absl::SleepFor(absl::Seconds(1));
    std::multiset<std::string> bodies;
    for (const ReceivedRequest& r : receiver_->Requests("/hook")) {
      bodies.insert(r.body);
    }
    return bodies;
  }

  // The NOT_FOUND message for `id` had it never been used.
  std::string UnknownMessage(const std::string& id) {
    absl::StatusOr<v1::Transaction> never = GetAs(*app2_, "never-used-id");
    EXPECT_EQ(never.status().code(), Code::kNotFound);
    return absl::StrReplaceAll(std::string(never.status().message()),
                               {{"never-used-id", id}});
  }

  // Declared before the server: the server stops first.
  std::unique_ptr<HttpsReceiver> receiver_;
  std::unique_ptr<ServerProcess> server_;
  std::optional<Api> admin_;
  std::optional<Api> app1_;
  std::optional<Api> app2_;
  v1::Subscription subscription_;
};

TEST_F(TransactionOwnerE2eTest, AnotherPublishersTransactionIsNotFound) {
  ASSERT_OK(PrepareAs(*app1_, "tx-1", {EventFrom("e1", kApp1)}).status());
  const std::string not_found = UnknownMessage("tx-1");

  // By id alone, and by naming its owner: the answer an unknown id gets.
  for (const std::string owner : {"", kApp1}) {
    SCOPED_TRACE(absl::StrCat("owner \"", owner, "\""));
    EXPECT_THAT(GetAs(*app2_, "tx-1", owner),
                StatusIs(Code::kNotFound, not_found));
    EXPECT_THAT(CommitAs(*app2_, "tx-1", owner),
                StatusIs(Code::kNotFound, not_found));
    EXPECT_THAT(AbortAs(*app2_, "tx-1", owner),
                StatusIs(Code::kNotFound, not_found));
  }
  EXPECT_THAT(PrepareAs(*app2_, "tx-1", {EventFrom("e2", kApp2)}, kApp1),
              StatusIs(Code::kNotFound, not_found));
  // A malformed id is still INVALID_ARGUMENT, whoever it names.
  EXPECT_THAT(GetAs(*app2_, "bad id", kApp1),
              StatusIs(Code::kInvalidArgument, HasSubstr("transaction_id")));

  // Untouched: still prepared with its one event, then committed by its
  // owner and delivered once.
  ASSERT_OK_AND_ASSIGN(v1::Transaction t, GetAs(*app1_, "tx-1"));
  EXPECT_EQ(t.state(), v1::Transaction::PREPARED);
  EXPECT_EQ(t.event_count(), 1);
  EXPECT_EQ(t.owner(), kApp1);
  EXPECT_EQ(receiver_->Count("/hook"), 0u);
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c, CommitAs(*app1_, "tx-1"));
  EXPECT_EQ(c.deliveries_created(), 1);
  EXPECT_EQ(c.transaction().state(), v1::Transaction::COMMITTED);
  EXPECT_EQ(BodiesOnce(1), std::multiset<std::string>(
                               {"{\"id\":\"e1\",\"from\":\"pub\"}"}));
  // Resolved, it is still app1's alone.
  EXPECT_THAT(AbortAs(*app2_, "tx-1"), StatusIs(Code::kNotFound, not_found));
  EXPECT_THAT(AbortAs(*app1_, "tx-1"), StatusIs(Code::kFailedPrecondition,
                                                HasSubstr("committed")));
}

TEST_F(TransactionOwnerE2eTest, SameIdFromTwoPublishersDoesNotCollide) {
  ASSERT_OK_AND_ASSIGN(v1::PrepareResponse p1,
                       PrepareAs(*app1_, "tx-1", {EventFrom("e1", kApp1)}));
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse p2,
      PrepareAs(*app2_, "tx-1",
                {EventFrom("e1", kApp2), EventFrom("e2", kApp2)}));
  EXPECT_EQ(p1.transaction().owner(), kApp1);
  EXPECT_EQ(p2.transaction().owner(), kApp2);
  EXPECT_EQ(p2.transaction().event_count(), 2);  // not added to app1's
  // Each commits its own, with its own events (same event id, own body).
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c1, CommitAs(*app1_, "tx-1"));
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c2, CommitAs(*app2_, "tx-1"));
  EXPECT_EQ(c1.deliveries_created(), 1);
  EXPECT_EQ(c2.deliveries_created(), 2);
  EXPECT_EQ(BodiesOnce(3),
            std::multiset<std::string>({"{\"id\":\"e1\",\"from\":\"pub\"}",
                                        "{\"id\":\"e1\",\"from\":\"app2\"}",
                                        "{\"id\":\"e2\",\"from\":\"app2\"}"}));

  // One aborting its "tx-2" leaves the other's prepared.
  ASSERT_OK(PrepareAs(*app1_, "tx-2", {EventFrom("e3", kApp1)}).status());
  ASSERT_OK(PrepareAs(*app2_, "tx-2", {EventFrom("e3", kApp2)}).status());
  ASSERT_OK_AND_ASSIGN(v1::AbortResponse aborted, AbortAs(*app2_, "tx-2"));
  EXPECT_EQ(aborted.transaction().state(), v1::Transaction::ABORTED);
  ASSERT_OK_AND_ASSIGN(v1::Transaction t, GetAs(*app1_, "tx-2"));
  EXPECT_EQ(t.state(), v1::Transaction::PREPARED);

  // Owners are stored with the transactions: the same after a restart.
  ASSERT_OK(server_->Restart());
  Connect();
  ASSERT_OK_AND_ASSIGN(t, GetAs(*app1_, "tx-2"));
  EXPECT_EQ(t.state(), v1::Transaction::PREPARED);
  EXPECT_EQ(t.owner(), kApp1);
  ASSERT_OK_AND_ASSIGN(t, GetAs(*app2_, "tx-2"));
  EXPECT_EQ(t.state(), v1::Transaction::ABORTED);
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c3, CommitAs(*app1_, "tx-2"));
  EXPECT_EQ(c3.deliveries_created(), 1);
  EXPECT_EQ(BodiesOnce(4).count("{\"id\":\"e3\",\"from\":\"pub\"}"), 1u);
}

TEST_F(TransactionOwnerE2eTest, AdminSeesAndActsOnEveryOwners) {
  ASSERT_OK(PrepareAs(*app1_, "tx-1", {EventFrom("e1", kApp1)}).status());
  ASSERT_OK(PrepareAs(*app2_, "tx-1",
                      {EventFrom("e1", kApp2), EventFrom("e2", kApp2)})
                .status());
  // The admin's own "tx-1" does not exist; naming the owner reaches each.
  EXPECT_THAT(GetAs(*admin_, "tx-1"),
              StatusIs(Code::kNotFound, HasSubstr("tx-1")));
  ASSERT_OK_AND_ASSIGN(v1::Transaction t1, GetAs(*admin_, "tx-1", kApp1));
  EXPECT_EQ(t1.owner(), kApp1);
  EXPECT_EQ(t1.event_count(), 1);
  ASSERT_OK_AND_ASSIGN(v1::Transaction t2, GetAs(*admin_, "tx-1", kApp2));
  EXPECT_EQ(t2.owner(), kApp2);
  EXPECT_EQ(t2.event_count(), 2);

  // It prepares into, aborts and commits them.
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse more,
      PrepareAs(*admin_, "tx-1", {EventFrom("e9", "ops")}, kApp1));
  EXPECT_EQ(more.transaction().event_count(), 2);
  ASSERT_OK_AND_ASSIGN(v1::AbortResponse aborted,
                       AbortAs(*admin_, "tx-1", kApp2));
  EXPECT_EQ(aborted.transaction().state(), v1::Transaction::ABORTED);
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse committed,
                       CommitAs(*admin_, "tx-1", kApp1));
  EXPECT_EQ(committed.deliveries_created(), 2);
  EXPECT_EQ(committed.transaction().owner(), kApp1);
  // The owners see what the admin did.
  ASSERT_OK_AND_ASSIGN(t1, GetAs(*app1_, "tx-1"));
  EXPECT_EQ(t1.state(), v1::Transaction::COMMITTED);
  ASSERT_OK_AND_ASSIGN(t2, GetAs(*app2_, "tx-1"));
  EXPECT_EQ(t2.state(), v1::Transaction::ABORTED);
  EXPECT_EQ(BodiesOnce(2),
            std::multiset<std::string>({"{\"id\":\"e1\",\"from\":\"pub\"}",
                                        "{\"id\":\"e9\",\"from\":\"ops\"}"}));

  // A malformed owner is named in the error.
  EXPECT_THAT(GetAs(*admin_, "tx-1", "has space"),
              StatusIs(Code::kInvalidArgument, HasSubstr("owner")));
}

}  // namespace
}  // namespace webhooks::e2e
