// DeliveryDispatcher with ordered subscriptions: heads that retry, keys in
// parallel, heads that fail for good, and followers beyond memory.
#include <string>
#include <vector>

#include "core/delivery_dispatcher_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;

// Ordered delivery: one transaction's events, each with the body `bodies[i]`.
void CommitBodies(TransactionLog& log, const std::string& tx,
                  const std::vector<std::string>& bodies) {
  std::vector<EventRecord> events;
  for (size_t i = 0; i < bodies.size(); ++i) {
    EventRecord& e = events.emplace_back();
    e.set_id(StrCat("e", i));
    e.set_site("/NOAA");
    e.add_resource_types("user");
    e.add_event_types("added");
    (*e.mutable_representations())["webhook-delivery"].set_body(bodies[i]);
  }
  ASSERT_TRUE(log.Prepare("pub", tx, std::move(events), std::nullopt).ok());
  ASSERT_TRUE(log.Commit("pub", tx).ok());
}

// The body of a request (the webhook-delivery envelope holds the event's).
std::string BodyOf(const HttpRequest& request) {
  return std::string(request.body.view());
}

// An ordered subscription: the head fails and waits for its retry while the
// others stay unsent (two whole fetches pass), then they go one at a time
// in commit order.
TEST_F(DeliveryDispatcherTest, OrderedDeliveriesWaitForTheHeadsRetries) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  MustCreate(draft);
  Build();
  CommitBodies(*log_, "tx", {"{\"n\":0}", "{\"n\":1}", "{\"n\":2}"});
  dispatcher_->Wake();
  const HttpRequest head = sender_.Answer(Status(500, "Internal Server Error"));
  EXPECT_THAT(BodyOf(head), HasSubstr("\"n\":0"));
  WaitFor(Header(head, "webhook-id"),
          [](const DeliveryRecord& d) { return d.attempt_count() == 1; });
  for (int fetch = 0; fetch < 2; ++fetch) {  // whole fetches pass
    dispatch_clock_.Arm();
    ASSERT_TRUE(dispatch_clock_.AwaitHeld());
    dispatch_clock_.Release();
  }
  EXPECT_EQ(sender_.InFlight(), 0);  // the followers wait for the retry
  clock_.Advance(absl::Seconds(7));
  dispatcher_->Wake();
  for (int n = 0; n < 3; ++n) {
    // Only the head is out (its follower may go once it is answered).
    ASSERT_TRUE(sender_.AwaitSent(absl::Seconds(10)));
    EXPECT_EQ(sender_.InFlight(), 1) << "a follower went with its head";
    const HttpRequest sent = sender_.Answer(Status(204, "No Content"));
    EXPECT_THAT(BodyOf(sent), HasSubstr(StrCat("\"n\":", n)));
  }
}

// Ordering keys: the heads of keys a and b are in flight at once; a's
// second waits for a's first.
TEST_F(DeliveryDispatcherTest, OrderingKeysGoInParallel) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  draft.mutable_delivery()->set_order_key_path("k");
  MustCreate(draft);
  Build();
  CommitBodies(*log_, "tx",
               {"{\"k\":\"a\",\"n\":0}", "{\"k\":\"a\",\"n\":1}",
                "{\"k\":\"b\",\"n\":2}"});
  dispatcher_->Wake();
  for (int i = 0; i < 2000 && sender_.InFlight() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(sender_.InFlight(), 2);
  std::set<std::string> first_two;
  for (int i = 0; i < 2; ++i) {
    const std::string body = BodyOf(sender_.Answer(Status(204, "No Content")));
    first_two.insert(body.find("\"n\":0") != std::string::npos   ? "a0"
                     : body.find("\"n\":2") != std::string::npos ? "b2"
                                                                  : body);
  }
  EXPECT_EQ(first_two, (std::set<std::string>{"a0", "b2"}));
  EXPECT_THAT(BodyOf(sender_.Answer(Status(204, "No Content"))),
              HasSubstr("\"n\":1"));
}

// A head that fails for good (schedule used up) lets the next go; a
// redelivery of it joins the end of the order with a new number.
TEST_F(DeliveryDispatcherTest, FailedForGoodReleasesTheNextAndRedeliveryJoinsTheEnd) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  MustCreate(draft);
  RetryOptions none;
  none.schedule = {};
  Build(none);
  CommitBodies(*log_, "tx", {"{\"n\":0}", "{\"n\":1}"});
  dispatcher_->Wake();
  const HttpRequest head = sender_.Answer(Status(500, "Internal Server Error"));
  EXPECT_THAT(BodyOf(head), HasSubstr("\"n\":0"));
  const std::string id = Header(head, "webhook-id");
  const DeliveryRecord failed = WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::FAILED;
  });
  const HttpRequest next = sender_.Answer(Status(204, "No Content"));
  EXPECT_THAT(BodyOf(next), HasSubstr("\"n\":1"));
  const DeliveryRecord second =
      WaitFor(Header(next, "webhook-id"), [](const DeliveryRecord& d) {
        return d.state() == DeliveryRecord::SUCCEEDED;
      });
  absl::StatusOr<DeliveryRecord> again = dispatcher_->Redeliver(id, Scope::All());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GT(again->order_seq(), second.order_seq());
  EXPECT_GT(second.order_seq(), failed.order_seq());
  EXPECT_THAT(BodyOf(sender_.Answer(Status(204, "No Content"))),
              HasSubstr("\"n\":0"));
  WaitFor(id, [](const DeliveryRecord& d) {
    return d.state() == DeliveryRecord::SUCCEEDED;
  });
}

// Room for two waiting followers of seven: the others stay on disk (the
// queue's scans move past them) and are read again once a turn ends; all
// go, in order, none lost.
TEST_F(DeliveryDispatcherTest, OrderedFollowersBeyondMemoryStayOnDiskInOrder) {
  SubscriptionRecord draft = Draft("/");
  draft.mutable_delivery()->set_ordered(true);
  MustCreate(draft);
  max_waiting_ = 2;
  Build();
  std::vector<std::string> bodies;
  for (int n = 0; n < 6; ++n) bodies.push_back(StrCat("{\"n\":", n, "}"));
  dispatch_clock_.Arm();  // the first fetch reads both commits
  CommitBodies(*log_, "tx", bodies);
  // A later due time, so the queue's scans move past the first six.
  clock_.Advance(absl::Seconds(1));
  CommitBodies(*log_, "tx-2", {"{\"n\":6}"});
  dispatch_clock_.Release();
  dispatcher_->Wake();
  for (int n = 0; n < 7; ++n) {
    EXPECT_THAT(BodyOf(sender_.Answer(Status(204, "No Content"))),
                HasSubstr(StrCat("\"n\":", n)));
  }
}

}  // namespace
}  // namespace webhooks::core
