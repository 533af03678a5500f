// TransactionLog::Publish: a new transaction, committed in one write.
#include <map>
#include <string>
#include <vector>

#include "common/strings.h"
#include "core/transaction_log_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;
using internal::DeliveryRecord;

TEST_F(TransactionLogTest, PublishPreparesAndCommits) {
  MustCreate(Draft("/"));
  std::vector<EventResult> results;
  absl::StatusOr<CommitResult> published =
      log_->Publish(kApp, {Event(""), Event("")}, &results);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->deliveries_created, 2);
  EXPECT_EQ(results.size(), 2u);
  EXPECT_NE(results[0].event_id, results[1].event_id);  // generated ids
  EXPECT_EQ(published->transaction.state(), TransactionRecord::COMMITTED);
}

TEST_F(TransactionLogTest, PublishBelongsToItsOwner) {
  MustCreate(Draft("/"));
  absl::StatusOr<CommitResult> published =
      log_->Publish("app1", {Event("")}, nullptr);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->transaction.owner(), "app1");
  const std::string& id = published->transaction.id();
  EXPECT_TRUE(log_->Get("app1", id).ok());
  EXPECT_EQ(log_->Get("app2", id).status().code(), absl::StatusCode::kNotFound);
}

// The transaction, its events and its deliveries are one synced write:
// never a prepared transaction that a crash could leave behind.
TEST_F(TransactionLogTest, PublishIsOneWrite) {
  const SubscriptionRecord root = MustCreate(Draft("/"));
  const int64_t writes = store_.write_count();
  std::vector<EventResult> results;
  absl::StatusOr<CommitResult> published =
      log_->Publish(kApp, {Event("e1"), Event("e2", "/NOAA")}, &results);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(store_.write_count(), writes + 1);
  EXPECT_EQ(published->transaction.event_count(), 2);
  EXPECT_EQ(published->transaction.delivery_count(), 2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].event_id, "e1");
  EXPECT_EQ(results[0].matched_subscriptions, 1);

  // Stored as committed, with the events the deliveries read.
  absl::StatusOr<TransactionRecord> stored =
      log_->Get(kApp, published->transaction.id());
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->state(), TransactionRecord::COMMITTED);
  EXPECT_EQ(stored->delivery_count(), 2);
  std::vector<DeliveryRecord> pending = Pending();
  ASSERT_EQ(pending.size(), 2u);
  for (const DeliveryRecord& d : pending) {
    EXPECT_EQ(d.subscription_id(), root.id());
    EXPECT_EQ(d.transaction_id(), published->transaction.id());
    EXPECT_EQ(d.transaction_owner(), kApp);
    absl::StatusOr<std::optional<std::string>> event = store_.Get(
        storage::Column::kTransactionEvents,
        storage::keys::TransactionEvent(
            storage::keys::Transaction(kApp, d.transaction_id()),
            d.event_id()));
    ASSERT_TRUE(event.ok() && event->has_value()) << d.event_id();
    EventRecord record;
    ASSERT_TRUE(record.ParseFromString(**event));
    EXPECT_EQ(record.matched_at_prepare(), 1);
    EXPECT_EQ(record.seq(), d.event_id() == "e1" ? 0u : 1u);
  }
}

TEST_F(TransactionLogTest, PublishThatCannotWriteStoresNothing) {
  MustCreate(Draft("/"));
  store_.FailWrites(absl::UnavailableError("disk gone"));
  absl::StatusOr<CommitResult> published =
      log_->Publish(kApp, {Event("e1")}, nullptr);
  store_.FailWrites(absl::OkStatus());
  EXPECT_EQ(published.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Pending().empty());
  for (const storage::Column column :
       {storage::Column::kTransactions, storage::Column::kTransactionEvents,
        storage::Column::kTransactionDeadlines}) {
    int rows = 0;
    ASSERT_TRUE(store_
                    .ScanPrefix(column, "",
                                [&](std::string_view, std::string_view) {
                                  ++rows;
                                  return true;
                                })
                    .ok());
    EXPECT_EQ(rows, 0) << static_cast<int>(column);
  }
}

TEST_F(TransactionLogTest, PublishRefusesBadEventsNamingTheField) {
  MustCreate(Draft("/"));
  const int64_t writes = store_.write_count();
  EventRecord no_site = Event("e2");
  no_site.clear_site();
  absl::StatusOr<CommitResult> published =
      log_->Publish(kApp, {Event("e1"), no_site}, nullptr);
  EXPECT_EQ(published.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(published.status().message(), HasSubstr("events[1].site"));

  published = log_->Publish(kApp, {Event("e1"), Event("e1")}, nullptr);
  EXPECT_EQ(published.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(published.status().message(),
              HasSubstr("events[1].id: duplicates events[0].id"));

  published = log_->Publish(kApp, {}, nullptr);
  EXPECT_EQ(published.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(published.status().message(), HasSubstr("events"));

  EXPECT_EQ(store_.write_count(), writes);
  EXPECT_TRUE(Pending().empty());
}

TEST_F(TransactionLogTest, PublishHoldsToTheEventsPerTransactionLimit) {
  MustCreate(Draft("/"));
  Limits limits = options_.limits;
  limits.max_events_per_call = 10;
  limits.max_events_per_transaction = 2;
  log_ = std::make_unique<TransactionLog>(&store_, &queue_, matcher_.get(),
                                          catalog_.get(), &clock_, &random_,
                                          limits, tx_options_);
  const int64_t writes = store_.write_count();
  absl::StatusOr<CommitResult> published =
      log_->Publish(kApp, {Event("e1"), Event("e2"), Event("e3")}, nullptr);
  EXPECT_EQ(published.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(published.status().message(), HasSubstr("events"));
  EXPECT_EQ(store_.write_count(), writes);
  EXPECT_TRUE(log_->Publish(kApp, {Event("e1"), Event("e2")}, nullptr).ok());
}

// Ordered subscriptions' keys come from the published events themselves
// (there is no stored event to read back yet).
TEST_F(TransactionLogTest, PublishNumbersOrderedDeliveriesFromItsEvents) {
  MustCreateOrdered(Draft("/"), "customer");
  const auto event = [](std::string id, std::string customer) {
    EventRecord e = Event(std::move(id));
    (*e.mutable_representations())["webhook-delivery"].set_body(
        StrCat("{\"customer\":\"", customer, "\"}"));
    return e;
  };
  ASSERT_TRUE(log_->Publish(kApp,
                            {event("e1", "c1"), event("e2", "c2"),
                             event("e3", "c1")},
                            nullptr)
                  .ok());
  ASSERT_TRUE(log_->Publish(kApp, {event("e4", "c2")}, nullptr).ok());
  std::map<std::string, std::pair<uint64_t, std::string>> got;
  for (const DeliveryRecord& d : Pending()) {
    got[d.event_id()] = {d.order_seq(), d.order_key()};
    EXPECT_EQ(OrderEntry(storage::keys::DeliveryOrder(
                  d.subscription_id(), d.order_key(), d.order_seq())),
              d.id());
  }
  using Entry = std::pair<uint64_t, std::string>;
  EXPECT_EQ(got, (std::map<std::string, Entry>{{"e1", {1, "c1"}},
                                              {"e2", {2, "c2"}},
                                              {"e3", {3, "c1"}},
                                              {"e4", {4, "c2"}}}));
}

}  // namespace
}  // namespace webhooks::core
