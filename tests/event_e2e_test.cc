// EventService end to end: the transaction state machine over gRPC (prepare,
// re-prepare, commit, abort, expiry, publish) and who may call it.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/event_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Code = absl::StatusCode;

// Allowed difference between this process's clock and the server's reading.
constexpr absl::Duration kSlack = absl::Seconds(2);

MATCHER_P2(IsResult, event_id, matched,
           absl::StrCat("is the result of ", event_id, " matching ", matched)) {
  *result_listener << "which is " << arg.ShortDebugString();
  return arg.event_id() == event_id && arg.matched_subscriptions() == matched;
}

class EventE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(TokensConfig()));
    admin_.emplace(server_->NewChannel(), kAdminToken);
    publisher_.emplace(admin_->WithToken(kPublisherToken));
    // Every NewEvent() (user/added anywhere) matches this one.
    AddSubscription("/");
  }

  // A user/added subscription at `site` with a URL of its own (subscriptions
  // sharing a URL get one delivery).
  void AddSubscription(const std::string& site) {
    const std::string path = absl::StrCat("/hook/", ++subscriptions_);
    EXPECT_OK(
        admin_->CreateSubscription(NewSubscription(site, "user", "added", path))
            .status());
  }

  const Api& pub() const { return *publisher_; }

  // The transaction as GetTransaction reports it; fails the test otherwise.
  v1::Transaction Get(const std::string& id) const {
    absl::StatusOr<v1::Transaction> t = GetTransaction(pub(), id);
    EXPECT_OK(t.status()) << id;
    return t.ok() ? *t : v1::Transaction();
  }

  std::unique_ptr<ServerProcess> server_;
  std::optional<Api> admin_;
  std::optional<Api> publisher_;
  int subscriptions_ = 0;
};

TEST_F(EventE2eTest, PrepareOpensTransactionWithDefaultTtl) {
  const absl::Time before = absl::Now();
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse p,
      PrepareEvents(pub(), "tx-1", {NewEvent("e1"), NewEvent("e2")}));
  const absl::Time after = absl::Now();
  const v1::Transaction& t = p.transaction();
  EXPECT_EQ(t.id(), "tx-1");
  EXPECT_EQ(t.state(), v1::Transaction::PREPARED);
  EXPECT_EQ(t.event_count(), 2);
  EXPECT_EQ(t.delivery_count(), 0);
  EXPECT_FALSE(t.has_resolve_time());
  const absl::Time created = ToTime(t.create_time());
  EXPECT_GE(created, before - kSlack);
  EXPECT_LE(created, after + kSlack);
  EXPECT_EQ(ToTime(t.expire_time()) - created, absl::Minutes(10));
  EXPECT_THAT(p.event_results(),
              ElementsAre(IsResult("e1", 1), IsResult("e2", 1)));
  EXPECT_THAT(Get("tx-1"), EqualsProto(t));
}

TEST_F(EventE2eTest, TtlIsSetByTheFirstPrepareOnly) {
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse p,
      PrepareEvents(pub(), "tx-ttl", {NewEvent("e1")}, absl::Minutes(30)));
  const absl::Time created = ToTime(p.transaction().create_time());
  EXPECT_EQ(ToTime(p.transaction().expire_time()) - created, absl::Minutes(30));

  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse again,
      PrepareEvents(pub(), "tx-ttl", {NewEvent("e2")}, absl::Minutes(5)));
  EXPECT_THAT(again.transaction().expire_time(),
              EqualsProto(p.transaction().expire_time()));
  EXPECT_EQ(again.transaction().event_count(), 2);

  // The maximum itself is accepted.
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse max,
      PrepareEvents(pub(), "tx-max-ttl", {NewEvent("e1")}, absl::Hours(1)));
  EXPECT_EQ(ToTime(max.transaction().expire_time()) -
                ToTime(max.transaction().create_time()),
            absl::Hours(1));
}

TEST_F(EventE2eTest, RePrepareIsIdempotentPerEventIdAndAddsNewEvents) {
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse first,
      PrepareEvents(pub(), "tx-2", {NewEvent("e1"), NewEvent("e2")}));

  // The same events again: the same answer, nothing added.
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse same,
      PrepareEvents(pub(), "tx-2", {NewEvent("e1"), NewEvent("e2")}));
  EXPECT_THAT(same, EqualsProto(first));

  // A re-sent id keeps the stored event, even with other contents.
  v1::Event changed = NewEvent("e1", "/Other", {"group"}, {"removed"});
  ASSERT_OK_AND_ASSIGN(v1::PrepareResponse resent,
                       PrepareEvents(pub(), "tx-2", {changed}));
  EXPECT_THAT(resent.event_results(), ElementsAre(IsResult("e1", 1)));
  EXPECT_THAT(resent.transaction(), EqualsProto(first.transaction()));

  // A new subscription: new events see it; the re-sent one answers as before.
  AddSubscription("/NOAA");
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse added,
      PrepareEvents(pub(), "tx-2", {NewEvent("e1"), NewEvent("e3")}));
  EXPECT_THAT(added.event_results(),
              ElementsAre(IsResult("e1", 1), IsResult("e3", 2)));
  EXPECT_EQ(added.transaction().event_count(), 3);
  EXPECT_THAT(added.transaction().expire_time(),
              EqualsProto(first.transaction().expire_time()));
  EXPECT_THAT(Get("tx-2"), EqualsProto(added.transaction()));

  // Commit matches the stored events (e1 still in /NOAA/NWS/OUN) against
  // both subscriptions: 3 events x 2.
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c, CommitTransaction(pub(), "tx-2"));
  EXPECT_EQ(c.deliveries_created(), 6);
}

TEST_F(EventE2eTest, CommitCreatesDeliveriesOnceAndIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse p,
      PrepareEvents(pub(), "tx-3",
                    {NewEvent("e1"), NewEvent("e2", "/Other", {"group"})}));
  EXPECT_THAT(p.event_results(),
              ElementsAre(IsResult("e1", 1), IsResult("e2", 0)));

  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c, CommitTransaction(pub(), "tx-3"));
  const v1::Transaction& t = c.transaction();
  EXPECT_EQ(c.deliveries_created(), 1);
  EXPECT_EQ(t.id(), "tx-3");
  EXPECT_EQ(t.state(), v1::Transaction::COMMITTED);
  EXPECT_EQ(t.event_count(), 2);
  EXPECT_EQ(t.delivery_count(), 1);
  EXPECT_THAT(t.create_time(), EqualsProto(p.transaction().create_time()));
  ASSERT_TRUE(t.has_resolve_time());
  EXPECT_GE(ToTime(t.resolve_time()), ToTime(t.create_time()));
  EXPECT_THAT(Get("tx-3"), EqualsProto(t));

  // Committing again answers the same and creates nothing more.
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse twice,
                       CommitTransaction(pub(), "tx-3"));
  EXPECT_THAT(twice, EqualsProto(c));

  // A committed transaction takes no more events and cannot be aborted.
  EXPECT_THAT(PrepareEvents(pub(), "tx-3", {NewEvent("e3")}),
              StatusIs(Code::kFailedPrecondition, HasSubstr("committed")));
  EXPECT_THAT(PrepareEvents(pub(), "tx-3", {NewEvent("e1")}),
              StatusIs(Code::kFailedPrecondition, HasSubstr("tx-3")));
  EXPECT_THAT(AbortTransaction(pub(), "tx-3"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("committed")));
  EXPECT_THAT(Get("tx-3"), EqualsProto(t));
}

TEST_F(EventE2eTest, CommitMatchesTheSubscriptionsActiveAtCommit) {
  ASSERT_OK_AND_ASSIGN(v1::PrepareResponse p,
                       PrepareEvents(pub(), "tx-4", {NewEvent("e1")}));
  EXPECT_THAT(p.event_results(), ElementsAre(IsResult("e1", 1)));

  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                       admin_->ListAllSubscriptions());
  ASSERT_EQ(all.size(), 1u);
  ASSERT_OK(admin_->DeactivateSubscription(all[0].id()).status());
  AddSubscription("/NOAA");
  AddSubscription("/NOAA/NWS");

  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c, CommitTransaction(pub(), "tx-4"));
  EXPECT_EQ(c.deliveries_created(), 2);
  EXPECT_EQ(c.transaction().delivery_count(), 2);
}

TEST_F(EventE2eTest, AbortDiscardsAndIsIdempotent) {
  ASSERT_OK(
      PrepareEvents(pub(), "tx-5", {NewEvent("e1"), NewEvent("e2")}).status());
  ASSERT_OK_AND_ASSIGN(v1::AbortResponse a, AbortTransaction(pub(), "tx-5"));
  const v1::Transaction& t = a.transaction();
  EXPECT_EQ(t.id(), "tx-5");
  EXPECT_EQ(t.state(), v1::Transaction::ABORTED);
  EXPECT_EQ(t.event_count(), 2);
  EXPECT_EQ(t.delivery_count(), 0);
  EXPECT_TRUE(t.has_resolve_time());
  EXPECT_THAT(Get("tx-5"), EqualsProto(t));

  ASSERT_OK_AND_ASSIGN(v1::AbortResponse twice,
                       AbortTransaction(pub(), "tx-5"));
  EXPECT_THAT(twice, EqualsProto(a));

  EXPECT_THAT(CommitTransaction(pub(), "tx-5"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("aborted")));
  EXPECT_THAT(PrepareEvents(pub(), "tx-5", {NewEvent("e3")}),
              StatusIs(Code::kFailedPrecondition, HasSubstr("aborted")));
  EXPECT_THAT(PrepareEvents(pub(), "tx-5", {NewEvent("e1")}),
              StatusIs(Code::kFailedPrecondition, HasSubstr("tx-5")));
  EXPECT_THAT(Get("tx-5"), EqualsProto(t));
}

TEST_F(EventE2eTest, UnknownAndMalformedTransactionIds) {
  for (const char* id : {"tx-unknown", "pub_0000000000000000000000000"}) {
    SCOPED_TRACE(id);
    EXPECT_THAT(CommitTransaction(pub(), id),
                StatusIs(Code::kNotFound, HasSubstr(id)));
    EXPECT_THAT(AbortTransaction(pub(), id),
                StatusIs(Code::kNotFound, HasSubstr(id)));
    EXPECT_THAT(GetTransaction(pub(), id),
                StatusIs(Code::kNotFound, HasSubstr(id)));
  }
  for (const char* id : {"", "a b"}) {
    SCOPED_TRACE(id);
    EXPECT_THAT(CommitTransaction(pub(), id),
                StatusIs(Code::kInvalidArgument, StartsWith("transaction_id")));
    EXPECT_THAT(AbortTransaction(pub(), id),
                StatusIs(Code::kInvalidArgument, StartsWith("transaction_id")));
    EXPECT_THAT(GetTransaction(pub(), id),
                StatusIs(Code::kInvalidArgument, StartsWith("transaction_id")));
  }
  // Nothing above created a transaction.
  EXPECT_THAT(GetTransaction(pub(), "tx-unknown"),
              StatusIs(Code::kNotFound, _));
}

TEST_F(EventE2eTest, ShortTtlExpires) {
  ASSERT_OK_AND_ASSIGN(
      v1::PrepareResponse p,
      PrepareEvents(pub(), "tx-short", {NewEvent("e1")}, absl::Seconds(1)));
  EXPECT_EQ(ToTime(p.transaction().expire_time()) -
                ToTime(p.transaction().create_time()),
            absl::Seconds(1));
  ASSERT_OK(PrepareEvents(pub(), "tx-live", {NewEvent("e1")}).status());
  EXPECT_EQ(Get("tx-short").state(), v1::Transaction::PREPARED);

  absl::SleepFor(absl::Milliseconds(1200));

  v1::Transaction expired = Get("tx-short");
  EXPECT_EQ(expired.state(), v1::Transaction::EXPIRED);
  EXPECT_EQ(expired.delivery_count(), 0);
  ASSERT_TRUE(expired.has_resolve_time());
  EXPECT_GE(ToTime(expired.resolve_time()),
            ToTime(p.transaction().expire_time()));

  EXPECT_THAT(CommitTransaction(pub(), "tx-short"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("expired")));
  EXPECT_THAT(PrepareEvents(pub(), "tx-short", {NewEvent("e2")}),
              StatusIs(Code::kFailedPrecondition, HasSubstr("expired")));
  EXPECT_EQ(Get("tx-short").state(), v1::Transaction::EXPIRED);
  // Aborting an expired transaction is a no-op that reports it expired.
  ASSERT_OK_AND_ASSIGN(v1::AbortResponse a,
                       AbortTransaction(pub(), "tx-short"));
  EXPECT_EQ(a.transaction().state(), v1::Transaction::EXPIRED);
  EXPECT_EQ(Get("tx-short").state(), v1::Transaction::EXPIRED);

  // The other transaction is untouched and still commits.
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c,
                       CommitTransaction(pub(), "tx-live"));
  EXPECT_EQ(c.deliveries_created(), 1);
}

TEST_F(EventE2eTest, PublishPreparesAndCommitsInOneCall) {
  v1::Event unnamed = NewEvent("");
  ASSERT_OK_AND_ASSIGN(v1::PublishResponse r,
                       PublishEvents(pub(), {NewEvent("p1"), unnamed}));
  const v1::Transaction& t = r.transaction();
  EXPECT_THAT(t.id(), StartsWith("pub_"));
  EXPECT_EQ(t.state(), v1::Transaction::COMMITTED);
  EXPECT_EQ(t.event_count(), 2);
  EXPECT_EQ(t.delivery_count(), 2);
  EXPECT_EQ(r.deliveries_created(), 2);
  ASSERT_EQ(r.event_results_size(), 2);
  EXPECT_THAT(r.event_results(0), IsResult("p1", 1));
  EXPECT_THAT(r.event_results(1).event_id(), StartsWith("evt_"));
  EXPECT_EQ(r.event_results(1).matched_subscriptions(), 1);
  EXPECT_THAT(Get(t.id()), EqualsProto(t));

  // Its transaction behaves like any committed one.
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c, CommitTransaction(pub(), t.id()));
  EXPECT_EQ(c.deliveries_created(), 2);
  EXPECT_THAT(c.transaction(), EqualsProto(t));
  EXPECT_THAT(AbortTransaction(pub(), t.id()),
              StatusIs(Code::kFailedPrecondition, _));

  ASSERT_OK_AND_ASSIGN(v1::PublishResponse other,
                       PublishEvents(pub(), {NewEvent("p1")}));
  EXPECT_NE(other.transaction().id(), t.id());
}

// Every EventService RPC for one caller: the status of each.
struct EventCalls {
  absl::Status prepare, get, commit, abort, publish, match;
};

// Prepares `prepare_tx`, reads and commits `commit_tx`, aborts `abort_tx`.
EventCalls CallEverything(const Api& api, const std::string& prepare_tx,
                          const std::string& commit_tx,
                          const std::string& abort_tx) {
  EventCalls calls;
  calls.prepare = PrepareEvents(api, prepare_tx, {NewEvent("e1")}).status();
  calls.get = GetTransaction(api, commit_tx).status();
  calls.commit = CommitTransaction(api, commit_tx).status();
  calls.abort = AbortTransaction(api, abort_tx).status();
  calls.publish = PublishEvents(api, {NewEvent("p1")}).status();
  calls.match = MatchEvent(api, NewEvent("m1")).status();
  return calls;
}

void ExpectAll(const EventCalls& calls, Code code) {
  const auto matcher = StatusIs(code, _);
  EXPECT_THAT(calls.prepare, matcher) << "Prepare";
  EXPECT_THAT(calls.get, matcher) << "GetTransaction";
  EXPECT_THAT(calls.commit, matcher) << "Commit";
  EXPECT_THAT(calls.abort, matcher) << "Abort";
  EXPECT_THAT(calls.publish, matcher) << "Publish";
  EXPECT_THAT(calls.match, matcher) << "MatchSubscriptions";
}

TEST_F(EventE2eTest, OnlyPublishersAndAdminsSubmitEvents) {
  for (const char* token : {kPublisherToken, kAdminToken}) {
    SCOPED_TRACE(token);
    const std::string tx = absl::StrCat("tx-", token);
    const std::string other = absl::StrCat("other-", token);
    // Transactions are the caller's own (an admin's too, unless it names
    // an owner).
    const Api api = pub().WithToken(token);
    ASSERT_OK(PrepareEvents(api, other, {NewEvent("o1")}).status());
    ExpectAll(CallEverything(api, tx, tx, other), Code::kOk);
    EXPECT_EQ(GetTransaction(api, tx)->state(), v1::Transaction::COMMITTED);
    EXPECT_EQ(GetTransaction(api, other)->state(), v1::Transaction::ABORTED);
  }

  // Refused callers change nothing: the victim stays prepared as it was.
  ASSERT_OK_AND_ASSIGN(v1::PrepareResponse victim,
                       PrepareEvents(pub(), "tx-victim", {NewEvent("v1")}));
  struct Refused {
    Api api;
    Code code;
    const char* message;
  };
  const Refused refused[] = {
      {pub().WithToken(kAliceToken), Code::kPermissionDenied,
       "publisher or admin"},
      {pub().WithToken(kBobToken), Code::kPermissionDenied,
       "publisher or admin"},
      {pub().WithToken(""), Code::kUnauthenticated, ""},
      {pub().WithToken(kUnknownToken), Code::kUnauthenticated, ""},
  };
  for (const Refused& r : refused) {
    SCOPED_TRACE(::testing::Message() << "expecting " << r.code);
    EventCalls calls =
        CallEverything(r.api, "tx-refused", "tx-victim", "tx-victim");
    ExpectAll(calls, r.code);
    EXPECT_THAT(calls.prepare, StatusIs(r.code, HasSubstr(r.message)));
    EXPECT_THAT(GetTransaction(pub(), "tx-refused"),
                StatusIs(Code::kNotFound, _));
    EXPECT_THAT(Get("tx-victim"), EqualsProto(victim.transaction()));
  }
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c,
                       CommitTransaction(pub(), "tx-victim"));
  EXPECT_EQ(c.deliveries_created(), 1);
}

}  // namespace
}  // namespace webhooks::e2e
