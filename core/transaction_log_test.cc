#include "core/transaction_log.h"

#include <map>
#include <set>

#include "absl/strings/str_replace.h"
#include "common/strings.h"
#include "core/delivery_order.h"
#include "core/delivery_queue.h"
#include "core/transaction_log_fixture.h"
#include "gmock/gmock.h"
#include "storage/key_codec.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;
using internal::DeliveryRecord;

TEST_F(TransactionLogTest, PrepareThenCommitCreatesDeliveries) {
  SubscriptionRecord root = MustCreate(Draft("/"));
  SubscriptionRecord office = MustCreate(Draft("/NOAA/NWS/OUN", "https://oun.example.com/"));
  MustCreate(Draft("/NOAA/NWS/OKC", "https://okc.example.com/"));

  absl::StatusOr<PrepareResult> prepared =
      log_->Prepare(kApp, "tx-1", {Event("e1"), Event("e2", "/NOAA")},
                    std::nullopt);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->transaction.state(), TransactionRecord::PREPARED);
  EXPECT_EQ(prepared->transaction.event_count(), 2);
  EXPECT_EQ(prepared->transaction.expire_time_micros(),
            absl::ToUnixMicros(clock_.Now() + absl::Minutes(10)));
  ASSERT_EQ(prepared->event_results.size(), 2u);
  EXPECT_EQ(prepared->event_results[0].matched_subscriptions, 2);
  EXPECT_EQ(prepared->event_results[1].matched_subscriptions, 1);
  EXPECT_TRUE(Pending().empty());  // nothing before commit

  absl::StatusOr<CommitResult> committed = log_->Commit(kApp, "tx-1");
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->deliveries_created, 3);
  EXPECT_EQ(committed->transaction.state(), TransactionRecord::COMMITTED);
  std::multiset<std::pair<std::string, std::string>> got;
  for (const DeliveryRecord& d : Pending()) {
    got.insert({d.event_id(), d.subscription_id()});
    EXPECT_EQ(d.transaction_id(), "tx-1");
    EXPECT_EQ(d.state(), DeliveryRecord::PENDING);
    EXPECT_EQ(d.representation(), "webhook-delivery");
    EXPECT_EQ(d.dialect(), "default");
    EXPECT_EQ(d.next_attempt_micros(), absl::ToUnixMicros(clock_.Now()));
  }
  EXPECT_EQ(got, (std::multiset<std::pair<std::string, std::string>>{
                     {"e1", root.id()}, {"e1", office.id()}, {"e2", root.id()}}));
}

// Ordered subscriptions (DeliveryControl.ordering): a commit numbers their
// deliveries in event order, from where the last commit left off, keys
// them by the payload's value at key_path, and indexes them pending.
TEST_F(TransactionLogTest, CommitNumbersOrderedDeliveriesInEventOrder) {
  const SubscriptionRecord keyed = MustCreateOrdered(Draft("/"), "customer");
  const SubscriptionRecord whole =
      MustCreateOrdered(Draft("/NOAA", "https://whole.example.com/"));
  const SubscriptionRecord plain =
      MustCreate(Draft("/NOAA/NWS", "https://plain.example.com/"));
  const auto event = [](std::string id, std::string customer) {
    EventRecord e = Event(std::move(id));
    (*e.mutable_representations())["webhook-delivery"].set_body(
        StrCat("{\"customer\":\"", customer, "\"}"));
    return e;
  };
  ASSERT_TRUE(log_->Prepare(kApp, "tx-1",
                            {event("e1", "c1"), event("e2", "c2"),
                             event("e3", "c1")},
                            std::nullopt).ok());
  ASSERT_TRUE(log_->Commit(kApp, "tx-1").ok());
  ASSERT_TRUE(
      log_->Prepare(kApp, "tx-2", {event("e4", "c2")}, std::nullopt).ok());
  ASSERT_TRUE(log_->Commit(kApp, "tx-2").ok());
  std::map<std::string, std::pair<uint64_t, std::string>> keyed_got, whole_got;
  for (const DeliveryRecord& d : Pending()) {
    if (d.subscription_id() == plain.id()) {
      EXPECT_EQ(d.order_seq(), 0u);
      continue;
    }
    auto& got = d.subscription_id() == keyed.id() ? keyed_got : whole_got;
    got[d.event_id()] = {d.order_seq(), d.order_key()};
    // Indexed under its subscription, key and number.
    EXPECT_EQ(OrderEntry(storage::keys::DeliveryOrder(
                  d.subscription_id(), d.order_key(), d.order_seq())),
              d.id());
  }
  using Entry = std::pair<uint64_t, std::string>;
  EXPECT_EQ(keyed_got, (std::map<std::string, Entry>{{"e1", {1, "c1"}},
                                                    {"e2", {2, "c2"}},
                                                    {"e3", {3, "c1"}},
                                                    {"e4", {4, "c2"}}}));
  EXPECT_EQ(whole_got, (std::map<std::string, Entry>{{"e1", {1, ""}},
                                                    {"e2", {2, ""}},
                                                    {"e3", {3, ""}},
                                                    {"e4", {4, ""}}}));
  // The heads: the lowest pending of each key.
  absl::StatusOr<std::optional<OrderHead>> head =
      ReadOrderHead(store_, keyed.id(), "c2");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->seq, 2u);
}

// An ordered subscription's key is read from the stored event at commit:
// when that record is corrupt or gone the commit fails with DATA_LOSS and
// writes nothing, rather than putting every delivery on the empty key.
TEST_F(TransactionLogTest, CommitRefusesOrderedDeliveriesOfAnUnreadableEvent) {
  MustCreateOrdered(Draft("/"), "customer");
  for (const bool corrupt : {true, false}) {
    const std::string tx = corrupt ? "tx-corrupt" : "tx-missing";
    ASSERT_TRUE(log_->Prepare(kApp, tx, {Event("e1")}, std::nullopt).ok());
    const std::string event_key = storage::keys::TransactionEvent(
        storage::keys::Transaction(kApp, tx), "e1");
    storage::WriteBatch damage;
    if (corrupt) {
      damage.Put(storage::Column::kTransactionEvents, event_key, "\xff\xff\xff");
    } else {
      damage.Delete(storage::Column::kTransactionEvents, event_key);
    }
    ASSERT_TRUE(store_.Write(damage).ok());
    absl::StatusOr<CommitResult> committed = log_->Commit(kApp, tx);
    EXPECT_EQ(committed.status().code(), absl::StatusCode::kDataLoss) << tx;
    EXPECT_THAT(committed.status().message(),
                HasSubstr(corrupt ? "\"e1\" of transaction \"tx-corrupt\" is corrupt"
                                  : "\"e1\" of transaction \"tx-missing\" is missing"));
    // Nothing was committed: still prepared, no delivery queued.
    absl::StatusOr<TransactionRecord> after = log_->Get(kApp, tx);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(after->state(), TransactionRecord::PREPARED);
    EXPECT_TRUE(Pending().empty());
  }
}

TEST_F(TransactionLogTest, CommitTellsTheQueueWhatItEnqueued) {
  MustCreate(Draft("/"));
  const auto next = [&](absl::Time now) {
    absl::StatusOr<std::vector<DeliveryRecord>> due =
        queue_.NextDue(now, 100, [](std::string_view) { return false; });
    EXPECT_TRUE(due.ok()) << due.status();
    return due.ok() ? due->size() : 0;
  };
  // A scan that ran ahead of the clock (say, a slow commit's due time was
  // taken before it) moves the queue's low-water mark past "now"...
  EXPECT_EQ(next(clock_.Now() + absl::Seconds(1)), 0u);
  ASSERT_TRUE(log_->Prepare(kApp, "tx-1", {Event("e1")}, std::nullopt).ok());
  ASSERT_TRUE(log_->Commit(kApp, "tx-1").ok());
  // ...and the commit's note brings it back (no periodic rescan yet).
  EXPECT_EQ(next(clock_.Now() + absl::Seconds(2)), 1u);
}

TEST_F(TransactionLogTest, CommitTwiceReturnsSameResult) {
  MustCreate(Draft("/"));
  ASSERT_TRUE(log_->Prepare(kApp, "tx", {Event("e")}, std::nullopt).ok());
  absl::StatusOr<CommitResult> first = log_->Commit(kApp, "tx");
  ASSERT_TRUE(first.ok());
  MustCreate(Draft("/NOAA"));  // matching already happened
  absl::StatusOr<CommitResult> second = log_->Commit(kApp, "tx");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->deliveries_created, first->deliveries_created);
  EXPECT_EQ(Pending().size(), 1u);
}

TEST_F(TransactionLogTest, MatchingHappensAtCommit) {
  ASSERT_TRUE(log_->Prepare(kApp, "tx", {Event("e")}, std::nullopt).ok());
  SubscriptionRecord later = MustCreate(Draft("/"));
  absl::StatusOr<CommitResult> committed = log_->Commit(kApp, "tx");
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->deliveries_created, 1);
  EXPECT_EQ(Pending()[0].subscription_id(), later.id());
}

TEST_F(TransactionLogTest, GroupChangeBetweenPrepareAndCommitCounts) {
  SubscriptionRecord draft = Draft("/");
  draft.set_owner("alice");
  MustCreate(draft);
  EventRecord event = Event("e");
  internal::AclEntryRecord* entry = event.add_acl();
  entry->set_allow(true);
  entry->set_principal("staff");
  entry->set_permission("*");
  absl::StatusOr<PrepareResult> prepared =
      log_->Prepare(kApp, "tx", {event}, std::nullopt);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->event_results[0].matched_subscriptions, 0);
  ASSERT_TRUE(directory_->SetGroups("alice", {"staff"}).ok());
  absl::StatusOr<CommitResult> committed = log_->Commit(kApp, "tx");
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->deliveries_created, 1);
}

// Commit builds deliveries from what Prepare matched (kept in memory) when
// nothing changed in between; with that turned off it reads the events
// back. Shown by removing the stored events behind the log's back.
TEST_F(TransactionLogTest, CommitReusesPrepareMatchesOnlyWhenKept) {
  MustCreate(Draft("/"));
  for (size_t kept : {size_t{50000}, size_t{0}}) {
    TransactionOptions options = tx_options_;
    options.kept_matches = kept;
    TransactionLog log(&store_, &queue_, matcher_.get(), catalog_.get(),
                       &clock_, &random_, options_.limits, options);
    const std::string tx = StrCat("tx-", kept);
    ASSERT_TRUE(
        log.Prepare(kApp, tx, {Event("e1"), Event("e2")}, std::nullopt).ok());
    storage::WriteBatch drop;
    drop.Delete(storage::Column::kTransactionEvents,
                storage::keys::TransactionEvent(
                    storage::keys::Transaction(kApp, tx), "e1"));
    drop.Delete(storage::Column::kTransactionEvents,
                storage::keys::TransactionEvent(
                    storage::keys::Transaction(kApp, tx), "e2"));
    ASSERT_TRUE(store_.Write(drop).ok());
    absl::StatusOr<CommitResult> committed = log.Commit(kApp, tx);
    ASSERT_TRUE(committed.ok()) << committed.status();
    EXPECT_EQ(committed->deliveries_created, kept > 0 ? 2 : 0) << kept;
  }
}

TEST_F(TransactionLogTest, RePrepareSameEventIsNoOp) {
  MustCreate(Draft("/"));
  absl::StatusOr<PrepareResult> first =
      log_->Prepare(kApp, "tx", {Event("e")}, std::nullopt);
  ASSERT_TRUE(first.ok());
  MustCreate(Draft("/NOAA", "https://noaa.example.com/"));
  const int64_t writes = store_.write_count();
  absl::StatusOr<PrepareResult> again =
      log_->Prepare(kApp, "tx", {Event("e")}, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(store_.write_count(), writes);
  EXPECT_EQ(again->event_results[0].matched_subscriptions,
            first->event_results[0].matched_subscriptions);
  EXPECT_EQ(again->transaction.event_count(), 1);
  // Adding another event to the open transaction.
  absl::StatusOr<PrepareResult> more =
      log_->Prepare(kApp, "tx", {Event("e"), Event("f")}, std::nullopt);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->transaction.event_count(), 2);
  EXPECT_EQ(log_->Commit(kApp, "tx")->deliveries_created, 4);
}

TEST_F(TransactionLogTest, AbortLeavesNoDelivery) {
  MustCreate(Draft("/"));
  ASSERT_TRUE(log_->Prepare(kApp, "tx", {Event("e")}, std::nullopt).ok());
  absl::StatusOr<TransactionRecord> aborted = log_->Abort(kApp, "tx");
  ASSERT_TRUE(aborted.ok());
  EXPECT_EQ(aborted->state(), TransactionRecord::ABORTED);
  EXPECT_TRUE(Pending().empty());
  EXPECT_EQ(log_->Commit(kApp, "tx").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      log_->Prepare(kApp, "tx", {Event("x")}, std::nullopt).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(log_->Abort(kApp, "tx").ok());  // idempotent
  EXPECT_TRUE(Pending().empty());
  // The aborted transaction's events are gone from storage.
  int events = 0;
  ASSERT_TRUE(store_
                  .ScanPrefix(storage::Column::kTransactionEvents,
                              storage::keys::TransactionEventsPrefix(
                                  storage::keys::Transaction(kApp, "tx")),
                              [&](std::string_view, std::string_view) {
                                ++events;
                                return true;
                              })
                  .ok());
  EXPECT_EQ(events, 0);
}

TEST_F(TransactionLogTest, AbortAfterCommitAndUnknownIds) {
  ASSERT_TRUE(log_->Prepare(kApp, "tx", {Event("e")}, std::nullopt).ok());
  ASSERT_TRUE(log_->Commit(kApp, "tx").ok());
  absl::Status after_commit = log_->Abort(kApp, "tx").status();
  EXPECT_EQ(after_commit.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(after_commit.message(), HasSubstr("committed"));
  EXPECT_EQ(log_->Abort(kApp, "nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->Commit(kApp, "nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->Get(kApp, "nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->Get(kApp, "bad id").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TransactionLogTest, ExpiryWithInjectedClock) {
  MustCreate(Draft("/"));
  ASSERT_TRUE(log_->Prepare(kApp, "tx", {Event("e")}, absl::Minutes(1)).ok());
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(log_->Get(kApp, "tx")->state(), TransactionRecord::PREPARED);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(log_->Get(kApp, "tx")->state(), TransactionRecord::EXPIRED);
  absl::Status commit = log_->Commit(kApp, "tx").status();
  EXPECT_EQ(commit.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(commit.message(), HasSubstr("expired"));
  EXPECT_TRUE(Pending().empty());
  EXPECT_EQ(log_->Abort(kApp, "tx")->state(), TransactionRecord::EXPIRED);
}

TEST_F(TransactionLogTest, ReaperExpiresAndForgets) {
  ASSERT_TRUE(log_->Prepare(kApp, "open", {Event("e")}, absl::Minutes(1)).ok());
  ASSERT_TRUE(log_->Prepare(kApp, "done", {Event("e")}, std::nullopt).ok());
  ASSERT_TRUE(log_->Commit(kApp, "done").ok());
  EXPECT_EQ(*log_->Reap(100), 0);
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(*log_->Reap(100), 1);
  absl::StatusOr<TransactionRecord> expired = log_->Get(kApp, "open");
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->state(), TransactionRecord::EXPIRED);
  // Kept for the retention window, then forgotten.
  clock_.Advance(tx_options_.retention - absl::Minutes(3));
  EXPECT_EQ(*log_->Reap(100), 0);
  EXPECT_TRUE(log_->Get(kApp, "done").ok());
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(*log_->Reap(100), 2);
  EXPECT_EQ(log_->Get(kApp, "done").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->Get(kApp, "open").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TransactionLogTest, TtlBounds) {
  EXPECT_EQ(
      log_->Prepare(kApp, "tx", {Event("e")}, absl::Hours(2)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Prepare(kApp, "tx", {Event("e")}, absl::ZeroDuration())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Get(kApp, "tx").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TransactionLogTest, RejectedPrepareChangesNothing) {
  ASSERT_TRUE(log_->Prepare(kApp, "tx", {Event("a")}, std::nullopt).ok());
  const int64_t writes = store_.write_count();
  EventRecord bad = Event("b");
  bad.set_site("relative");
  absl::Status status =
      log_->Prepare(kApp, "tx", {Event("c"), bad}, std::nullopt).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("events[1].site"));
  absl::Status dup =
      log_->Prepare(kApp, "tx", {Event("c"), Event("c")}, std::nullopt)
          .status();
  EXPECT_EQ(dup.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dup.message(), HasSubstr("events[1].id"));
  EXPECT_EQ(log_->Prepare(kApp, "tx", {}, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Prepare(kApp, "", {Event("c")}, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.write_count(), writes);
  EXPECT_EQ(log_->Get(kApp, "tx")->event_count(), 1);
}

TEST_F(TransactionLogTest, TransactionSizeLimitIsResourceExhausted) {
  options_.limits.max_events_per_transaction = 2;
  options_.limits.max_events_per_call = 2;
  SetUp();
  ASSERT_TRUE(
      log_->Prepare(kApp, "tx", {Event("a"), Event("b")}, std::nullopt).ok());
  EXPECT_EQ(
      log_->Prepare(kApp, "tx", {Event("c")}, std::nullopt).status().code(),
      absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(log_->Prepare(kApp, "tx2", {Event("a"), Event("b"), Event("c")},
                          std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(log_->Get(kApp, "tx")->event_count(), 2);
}

TEST_F(TransactionLogTest, DialectChoosesRepresentationWithFallback) {
  DialectRecord zapier;
  zapier.set_name("zapier");
  zapier.set_representation("zapier-webhook-delivery");
  ASSERT_TRUE(catalog_->Create(zapier).ok());
  SubscriptionRecord draft = Draft("/", "https://zap.example.com/");
  draft.set_dialect("zapier");
  MustCreate(draft);
  EventRecord with = Event("with");
  (*with.mutable_representations())["zapier-webhook-delivery"].set_body("z");
  ASSERT_TRUE(
      log_->Prepare(kApp, "tx", {with, Event("without")}, std::nullopt).ok());
  ASSERT_TRUE(log_->Commit(kApp, "tx").ok());
  std::map<std::string, std::string> chosen;
  for (const DeliveryRecord& d : Pending()) chosen[d.event_id()] = d.representation();
  EXPECT_EQ(chosen["with"], "zapier-webhook-delivery");
  EXPECT_EQ(chosen["without"], "webhook-delivery");
}

TEST_F(TransactionLogTest, PreparedTransactionSurvivesReopen) {
  MustCreate(Draft("/"));
  ASSERT_TRUE(log_->Prepare(kApp, "tx", {Event("e")}, std::nullopt).ok());
  Reopen();
  SetUp();
  absl::StatusOr<CommitResult> committed = log_->Commit(kApp, "tx");
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->deliveries_created, 1);
}


// Ids are chosen per owner: two owners' "tx" are two transactions, and
// each acts only on its own.
TEST_F(TransactionLogTest, OwnersWithTheSameIdDoNotCollide) {
  MustCreate(Draft("/"));
  ASSERT_TRUE(log_->Prepare("app1", "tx", {Event("e1")}, std::nullopt).ok());
  absl::StatusOr<PrepareResult> other =
      log_->Prepare("app2", "tx", {Event("e1"), Event("e2")}, std::nullopt);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->transaction.event_count(), 2);  // not app1's 1 + 1
  EXPECT_EQ(other->transaction.owner(), "app2");
  EXPECT_EQ(log_->Get("app1", "tx")->event_count(), 1);
  EXPECT_EQ(log_->Get("app1", "tx")->owner(), "app1");

  // app2 aborting its "tx" leaves app1's prepared, events and all.
  ASSERT_TRUE(log_->Abort("app2", "tx").ok());
  EXPECT_EQ(log_->Get("app1", "tx")->state(), TransactionRecord::PREPARED);
  absl::StatusOr<CommitResult> committed = log_->Commit("app1", "tx");
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->deliveries_created, 1);
  std::vector<DeliveryRecord> pending = Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].transaction_id(), "tx");
  EXPECT_EQ(pending[0].transaction_owner(), "app1");
  EXPECT_EQ(log_->Get("app2", "tx")->state(), TransactionRecord::ABORTED);
  // The delivery finds its event under its owner's key.
  absl::StatusOr<std::optional<std::string>> event = store_.Get(
      storage::Column::kTransactionEvents,
      storage::keys::TransactionEvent(storage::keys::Transaction("app1", "tx"),
                                      "e1"));
  ASSERT_TRUE(event.ok());
  EXPECT_TRUE(event->has_value());
}

// Another owner's transaction is NOT_FOUND with the very message of an id
// nobody used, and is left as it was.
TEST_F(TransactionLogTest, AnotherOwnersTransactionIsNotFound) {
  MustCreate(Draft("/"));
  ASSERT_TRUE(log_->Prepare("app1", "tx", {Event("e1")}, std::nullopt).ok());
  const absl::Status unknown = log_->Get("app2", "never-used").status();
  ASSERT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  const std::string expected(
      absl::StrReplaceAll(unknown.message(), {{"never-used", "tx"}}));
  const int64_t writes = store_.write_count();
  for (const absl::Status& status :
       {log_->Get("app2", "tx").status(), log_->Commit("app2", "tx").status(),
        log_->Abort("app2", "tx").status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_EQ(status.message(), expected);
  }
  EXPECT_EQ(store_.write_count(), writes);
  EXPECT_TRUE(Pending().empty());
  absl::StatusOr<TransactionRecord> untouched = log_->Get("app1", "tx");
  ASSERT_TRUE(untouched.ok());
  EXPECT_EQ(untouched->state(), TransactionRecord::PREPARED);
  EXPECT_EQ(untouched->event_count(), 1);
}

// Stored before owners were recorded: a bare-id key, a record without an
// owner, its events and deadline under the bare id. Such a transaction
// stays reachable by whoever names its id, so that one prepared before an
// upgrade can still be finished after it.
TEST_F(TransactionLogTest, UnownedTransactionsFromBeforeOwnersStayReachable) {
  MustCreate(Draft("/"));
  TransactionRecord legacy;
  legacy.set_id("old-tx");
  legacy.set_state(TransactionRecord::PREPARED);
  legacy.set_event_count(1);
  legacy.set_create_time_micros(absl::ToUnixMicros(clock_.Now()));
  legacy.set_expire_time_micros(
      absl::ToUnixMicros(clock_.Now() + absl::Minutes(10)));
  legacy.set_deadline_micros(legacy.expire_time_micros());
  EventRecord event = Event("e1");
  event.set_seq(0);
  storage::WriteBatch old;
  old.Put(storage::Column::kTransactions, "old-tx", legacy.SerializeAsString());
  old.Put(storage::Column::kTransactionEvents,
          storage::keys::TransactionEvent("old-tx", "e1"),
          event.SerializeAsString());
  old.Put(storage::Column::kTransactionDeadlines,
          storage::keys::TransactionDeadline(
              static_cast<uint64_t>(legacy.deadline_micros()), "old-tx"),
          "");
  ASSERT_TRUE(store_.Write(old).ok());
  Reopen();
  SetUp();

  absl::StatusOr<TransactionRecord> read = log_->Get(kApp, "old-tx");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->owner(), "");
  EXPECT_EQ(read->state(), TransactionRecord::PREPARED);
  // Prepare adds to it rather than starting an owned "old-tx" beside it.
  absl::StatusOr<PrepareResult> more =
      log_->Prepare(kApp, "old-tx", {Event("e2")}, std::nullopt);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->transaction.event_count(), 2);
  EXPECT_EQ(more->transaction.owner(), "");
  absl::StatusOr<CommitResult> committed = log_->Commit(kApp, "old-tx");
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->deliveries_created, 2);
  for (const DeliveryRecord& d : Pending()) {
    EXPECT_EQ(d.transaction_id(), "old-tx");
    EXPECT_EQ(d.transaction_owner(), "");
  }
  absl::StatusOr<std::optional<std::string>> stored =
      store_.Get(storage::Column::kTransactions, "old-tx");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());  // still under its bare id
  // Forgotten after retention by the reaper, like any other.
  clock_.Advance(tx_options_.retention + absl::Minutes(1));
  EXPECT_EQ(*log_->Reap(100), 1);
  EXPECT_EQ(log_->Get(kApp, "old-tx").status().code(),
            absl::StatusCode::kNotFound);
}

// The reaper reads owned keys back: an owned transaction expires (its
// events dropped) and is later forgotten, leaving others' alone.
TEST_F(TransactionLogTest, ReaperHandlesOwnedTransactions) {
  ASSERT_TRUE(
      log_->Prepare("app1", "tx", {Event("e")}, absl::Minutes(1)).ok());
  ASSERT_TRUE(log_->Prepare("app2", "tx", {Event("e")}, std::nullopt).ok());
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(*log_->Reap(100), 1);
  EXPECT_EQ(log_->Get("app1", "tx")->state(), TransactionRecord::EXPIRED);
  EXPECT_EQ(log_->Get("app2", "tx")->state(), TransactionRecord::PREPARED);
  const auto events_of = [&](std::string_view owner) {
    int events = 0;
    EXPECT_TRUE(store_
                    .ScanPrefix(storage::Column::kTransactionEvents,
                                storage::keys::TransactionEventsPrefix(
                                    storage::keys::Transaction(owner, "tx")),
                                [&](std::string_view, std::string_view) {
                                  ++events;
                                  return true;
                                })
                    .ok());
    return events;
  };
  EXPECT_EQ(events_of("app1"), 0);
  EXPECT_EQ(events_of("app2"), 1);
  ASSERT_TRUE(log_->Commit("app2", "tx").ok());
  clock_.Advance(tx_options_.retention + absl::Minutes(1));
  EXPECT_EQ(*log_->Reap(100), 2);
  EXPECT_EQ(log_->Get("app1", "tx").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->Get("app2", "tx").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace webhooks::core
