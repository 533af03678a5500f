// DeliveryDispatcher's outcome batches (saturated_write_interval): with at
// least half of max_leased in flight the writer lets outcomes gather for
// the interval or until a quarter of max_leased has arrived; it writes each
// at once when the dispatcher is not saturated, when an ordered or limited
// delivery is in flight, and when shutting down.
#include <string>
#include <thread>
#include <vector>

#include "core/delivery_dispatcher_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

class OutcomeBatchTest : public DeliveryDispatcherTest {
 protected:
  OutcomeBatchTest() {
    max_leased_ = 8;  // saturated at 4 in flight; a batch's worth is 2
    saturated_write_interval_ = absl::Seconds(60);
  }

  void CommitEvents(int n) {
    std::vector<EventRecord> events;
    for (int e = 0; e < n; ++e) {
      EventRecord& event = events.emplace_back();
      event.set_id(StrCat("e", e));
      event.set_site("/NOAA");
      event.add_resource_types("user");
      event.add_event_types("added");
      (*event.mutable_representations())["webhook-delivery"].set_body(
          StrCat("{\"k\":\"", e, "\"}"));
    }
    ASSERT_TRUE(
        log_->Prepare("pub", "tx", std::move(events), std::nullopt).ok());
    ASSERT_TRUE(log_->Commit("pub", "tx").ok());
    dispatcher_->Wake();
  }

  // Waits until `n` requests are unanswered; returns how many are.
  int AwaitInFlight(int n) {
    for (int i = 0; i < 2000 && sender_.InFlight() != n; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return sender_.InFlight();
  }

  // Answers the next request 200; returns its delivery id.
  std::string AnswerOne() {
    return Header(sender_.Answer(Status(200, "OK")), "webhook-id");
  }

  bool Written(const std::string& id) {
    absl::StatusOr<DeliveryRecord> d = queue_.Get(id);
    return d.ok() && d->state() == DeliveryRecord::SUCCEEDED;
  }

  void AwaitWritten(const std::string& id) {
    WaitFor(id, [](const DeliveryRecord& d) {
      return d.state() == DeliveryRecord::SUCCEEDED;
    });
  }

  void ExpectWrittenAtOnce(const SubscriptionRecord& draft);
};

TEST_F(OutcomeBatchTest, SaturatedOutcomesWaitForABatch) {
  MustCreate(Draft("/"));
  Build();
  CommitEvents(20);
  ASSERT_EQ(AwaitInFlight(8), 8);
  const int64_t writes = dispatcher_->stats().write_batches.load();
  AwaitWritten(AnswerOne());  // the first write does not wait
  const std::string second = AnswerOne();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(Written(second)) << "written alone, within the interval";
  const std::string third = AnswerOne();  // two arrived: a batch's worth
  AwaitWritten(second);
  AwaitWritten(third);
  EXPECT_EQ(dispatcher_->stats().write_batches.load(), writes + 2);
}

TEST_F(OutcomeBatchTest, UnsaturatedOutcomesAreWrittenAtOnce) {
  MustCreate(Draft("/"));
  Build();
  CommitEvents(3);  // under half of max_leased in flight
  ASSERT_EQ(AwaitInFlight(3), 3);
  for (int i = 0; i < 3; ++i) AwaitWritten(AnswerOne());
}

// Saturated with `draft`'s deliveries in flight, each answer is written
// without waiting for a batch.
void OutcomeBatchTest::ExpectWrittenAtOnce(const SubscriptionRecord& draft) {
  MustCreate(draft);
  Build();
  CommitEvents(20);
  ASSERT_EQ(AwaitInFlight(8), 8);
  for (int i = 0; i < 4; ++i) AwaitWritten(AnswerOne());
}

// A limited subscription's next delivery waits for an outcome's write (its
// in-flight count falls there), so nothing is held back while one is in
// flight.
TEST_F(OutcomeBatchTest, LimitedDeliveriesInFlightAreWrittenAtOnce) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_max_in_flight(100);
  ExpectWrittenAtOnce(draft);
}

// So for ordered ones: the next of a lane goes once the outcome is written.
TEST_F(OutcomeBatchTest, OrderedDeliveriesInFlightAreWrittenAtOnce) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  draft.mutable_delivery()->set_order_key_path("k");  // a lane per event
  ExpectWrittenAtOnce(draft);
}

TEST_F(OutcomeBatchTest, ShutdownWritesWhatArrivedWithoutWaiting) {
  MustCreate(Draft("/"));
  Build();
  CommitEvents(20);
  ASSERT_EQ(AwaitInFlight(8), 8);
  AwaitWritten(AnswerOne());
  const std::string waiting = AnswerOne();
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_FALSE(Written(waiting));
  std::thread shutdown([this] { dispatcher_->Shutdown(absl::Seconds(60)); });
  // Written within the grace, not when it ends.
  bool written = false;
  for (int i = 0; i < 400 && !written; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
    written = Written(waiting);
  }
  EXPECT_TRUE(written);
  while (sender_.InFlight() > 0) AnswerOne();  // lets the shutdown end
  shutdown.join();
}

}  // namespace
}  // namespace webhooks::core
