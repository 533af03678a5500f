// Payload filters through the registry and the matcher: validation on
// create and update, which representation a filter tests, verdicts and
// reasons, and that filters are compiled once per subscription.
#include <string>
#include <vector>

#include "core/event_matcher.h"
#include "core/event_payloads.h"
#include "core/registry_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Verdict = Candidate::Verdict;

class EventMatcherFilterTest : public RegistryFixture {
 protected:
  EventMatcher Matcher() const {
    return EventMatcher(&registry_->index(), directory_.get(), catalog_.get());
  }

  SubscriptionRecord Filtered(std::string url, std::string filter,
                              std::string dialect = "") {
    SubscriptionRecord draft = Draft("/", std::move(url));
    draft.set_filter(std::move(filter));
    draft.set_dialect(std::move(dialect));
    return MustCreate(draft);
  }

  // A "user added" event at /shop with these representations.
  static EventRecord Event(
      std::vector<std::pair<std::string, std::string>> bodies) {
    EventRecord event;
    event.set_id("evt_1");
    event.set_site("/shop");
    event.add_resource_types("user");
    event.add_event_types("added");
    for (auto& [name, body] : bodies) {
      (*event.mutable_representations())[name].set_body(body);
    }
    return event;
  }
  static EventRecord Event(std::string body) {
    return Event({{"webhook-delivery", std::move(body)}});
  }

  // The URLs that get a delivery.
  std::vector<std::string> Delivered(const EventRecord& event) const {
    std::vector<std::string> urls;
    Matcher().ForEachDelivery(
        event, [&](const Recipient& r) { urls.push_back(r.target_url); });
    return urls;
  }

  const Candidate* Find(const std::vector<Candidate>& candidates,
                        const std::string& id) {
    for (const Candidate& c : candidates) {
      if (c.subscription.id == id) return &c;
    }
    return nullptr;
  }
};

TEST_F(EventMatcherFilterTest, CreateAndUpdateRejectBadFiltersNamingThePart) {
  SubscriptionRecord draft = Draft();
  draft.set_filter(R"({"$or": [{"a": 1}, {"b": {"$gt": []}}]})");
  absl::StatusOr<SubscriptionRecord> created =
      registry_->Create(draft, Scope::All());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(created.status().message()),
            "subscription.filter.$or[1][\"b\"].$gt: wants a number or a "
            "string, got an array");
  EXPECT_EQ(registry_->index().size(), 0u);

  SubscriptionRecord sub = MustCreate(Draft());
  SubscriptionRecord change;
  change.set_id(sub.id());
  change.set_filter(R"({"amount": {"$between": [1, 2]}})");
  absl::StatusOr<SubscriptionRecord> updated =
      registry_->Update(change, {"filter"}, Scope::All());
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(updated.status().message()),
              HasSubstr("subscription.filter[\"amount\"].$between: unknown "
                        "operator"));
}

TEST_F(EventMatcherFilterTest, OnlyPassingEventsAreDeliveredOthersExplained) {
  MustCreate(Draft("/", "https://a.example/all"));
  SubscriptionRecord big =
      Filtered("https://a.example/big", R"({"amount": {"$gte": 100}})");
  SubscriptionRecord eur = Filtered(
      "https://a.example/eur",
      R"({"currency": {"$in": ["EUR"]}, "customer.tier": {"$exists": true}})");

  EXPECT_THAT(Delivered(Event(R"({"amount": 250, "currency": "USD"})")),
              ElementsAre("https://a.example/all", "https://a.example/big"));
  EXPECT_THAT(
      Delivered(Event(
          R"({"amount": 5, "currency": "EUR", "customer": {"tier": 1}})")),
      ElementsAre("https://a.example/all", "https://a.example/eur"));
  EXPECT_THAT(Delivered(Event(R"({"amount": "250", "currency": "EUR"})")),
              ElementsAre("https://a.example/all"));

  const std::vector<Candidate> why =
      Matcher().Explain(Event(R"({"amount": 5, "currency": "EUR"})"));
  ASSERT_EQ(why.size(), 3u);
  const Candidate* b = Find(why, big.id());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->verdict, Verdict::kFilteredOut);
  EXPECT_EQ(b->reason,
            "filtered out: representation \"webhook-delivery\" fails "
            "{\"amount\":{\"$gte\":100}}");
  ASSERT_NE(b->subscription.filter, nullptr);
  EXPECT_EQ(b->subscription.filter->source(), big.filter());
  const Candidate* e = Find(why, eur.id());
  EXPECT_EQ(e->verdict, Verdict::kFilteredOut);
  EXPECT_EQ(e->reason,
            "filtered out: representation \"webhook-delivery\" fails "
            "{\"customer.tier\":{\"$exists\":true}}");
}

TEST_F(EventMatcherFilterTest, APayloadThatIsNotJsonPassesNoFilter) {
  MustCreate(Draft("/", "https://a.example/all"));
  SubscriptionRecord any = Filtered("https://a.example/any", "{}");
  EXPECT_THAT(Delivered(Event("<order amount='5'/>")),
              ElementsAre("https://a.example/all"));
  EXPECT_THAT(Delivered(Event(R"({"x": 1})")),
              ElementsAre("https://a.example/all", "https://a.example/any"));
  const std::vector<Candidate> why = Matcher().Explain(Event("<order/>"));
  const Candidate* c = Find(why, any.id());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->verdict, Verdict::kFilteredOut);
  EXPECT_THAT(c->reason, HasSubstr("filtered out: representation "
                                   "\"webhook-delivery\" is not JSON: "));
}

TEST_F(EventMatcherFilterTest, TheFilterTestsTheRepresentationItsDialectSends) {
  DialectRecord compact;
  compact.set_name("compact");
  compact.set_representation("compact");
  ASSERT_TRUE(catalog_->Create(compact).ok());
  SubscriptionRecord sub = Filtered("https://a.example/compact",
                                    R"({"kind": "small"})", "compact");

  const auto both = Event({{"webhook-delivery", R"({"kind": "big"})"},
                           {"compact", R"({"kind": "small"})"}});
  EXPECT_THAT(Delivered(both), ElementsAre("https://a.example/compact"));
  // Without its representation the event is sent (and tested) as
  // webhook-delivery.
  const auto fallback = Event({{"webhook-delivery", R"({"kind": "big"})"}});
  EXPECT_THAT(Delivered(fallback), ElementsAre());
  EXPECT_EQ(Matcher().Explain(fallback)[0].reason,
            "filtered out: representation \"webhook-delivery\" fails "
            "{\"kind\":\"small\"}");

  // A dialect change changes what matching reads.
  const EventMatcher::State before = Matcher().CurrentState();
  DialectRecord change;
  change.set_name("compact");
  change.set_representation("webhook-delivery");
  ASSERT_TRUE(catalog_->Update(change, {"representation"}).ok());
  EXPECT_FALSE(Matcher().CurrentState() == before);
  EXPECT_THAT(Delivered(both), ElementsAre());
}

TEST_F(EventMatcherFilterTest, AFilteredOutCandidateDoesNotTakeTheUrl) {
  SubscriptionRecord first =
      Filtered("https://a.example/same", R"({"amount": {"$gt": 1000}})");
  SubscriptionRecord second = MustCreate(Draft("/", "https://a.example/same"));
  const std::vector<Candidate> why =
      Matcher().Explain(Event(R"({"amount": 1})"));
  ASSERT_EQ(why.size(), 2u);
  EXPECT_EQ(Find(why, first.id())->verdict, Verdict::kFilteredOut);
  EXPECT_EQ(Find(why, second.id())->verdict, Verdict::kDelivered);
}

TEST_F(EventMatcherFilterTest, UpdateSetsAndClearsTheFilter) {
  SubscriptionRecord sub = MustCreate(Draft("/", "https://a.example/x"));
  const EventRecord event = Event(R"({"amount": 1})");
  EXPECT_EQ(Delivered(event).size(), 1u);
  SubscriptionRecord change;
  change.set_id(sub.id());
  change.set_filter(R"({"amount": {"$gt": 1}})");
  ASSERT_TRUE(registry_->Update(change, {"filter"}, Scope::All()).ok());
  EXPECT_EQ(Delivered(event).size(), 0u);
  change.clear_filter();
  absl::StatusOr<SubscriptionRecord> cleared =
      registry_->Update(change, {"filter"}, Scope::All());
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->filter(), "");
  EXPECT_EQ(Delivered(event).size(), 1u);
  EXPECT_EQ(registry_->index().Find(sub.id())->filter, nullptr);
}

TEST_F(EventMatcherFilterTest, FiltersAreCompiledOncePerSubscription) {
  SubscriptionRecord sub =
      Filtered("https://a.example/x", R"({"amount": {"$gt": 1}})");
  const PayloadFilterPtr compiled = registry_->index().Find(sub.id())->filter;
  ASSERT_NE(compiled, nullptr);
  // Another field changes: the same compiled filter stays.
  ASSERT_TRUE(registry_->SetActive(sub.id(), false, "", Scope::All()).ok());
  ASSERT_TRUE(registry_->SetActive(sub.id(), true, "", Scope::All()).ok());
  EXPECT_EQ(registry_->index().Find(sub.id())->filter, compiled);
  // After a restart the stored filter is compiled again, and works.
  Reopen();
  const PayloadFilterPtr reloaded = registry_->index().Find(sub.id())->filter;
  ASSERT_NE(reloaded, nullptr);
  EXPECT_EQ(reloaded->source(), sub.filter());
  EXPECT_EQ(Delivered(Event(R"({"amount": 2})")).size(), 1u);
}

TEST_F(EventMatcherFilterTest, AStoredFilterThatNoLongerCompilesPassesNothing) {
  SubscriptionRecord sub = Filtered("https://a.example/x",
                                    R"({"a": {"$in": [1, 2, 3, 4]}})");
  options_.limits.max_filter_values = 2;  // lowered after it was stored
  Reopen();
  EXPECT_EQ(Delivered(Event(R"({"a": 1})")).size(), 0u);
  EXPECT_THAT(Matcher().Explain(Event(R"({"a": 1})"))[0].reason,
              HasSubstr("the stored filter no longer compiles"));
}

TEST(EventPayloadsTest, EachRepresentationIsParsedOncePerEvent) {
  EventRecord event;
  (*event.mutable_representations())["webhook-delivery"].set_body("{\"a\":1}");
  (*event.mutable_representations())["compact"].set_body("[1]");
  EventPayloads payloads;
  payloads.Reset(&event);
  EXPECT_EQ(payloads.parsed(), 0u);
  const EventPayloads::Parsed& first = payloads.Get("webhook-delivery");
  EXPECT_TRUE(first.status.ok());
  EXPECT_EQ(&payloads.Get("webhook-delivery"), &first);
  EXPECT_EQ(&payloads.Get("absent"), &first);  // the fallback
  EXPECT_EQ(payloads.parsed(), 1u);
  EXPECT_EQ(payloads.Get("compact").representation, "compact");
  EXPECT_EQ(payloads.parsed(), 2u);
  payloads.Reset(&event);
  EXPECT_EQ(payloads.parsed(), 0u);

  // A parser that took a big body is dropped by Shrink; small ones stay.
  const EventPayloads::Parsed* small = &payloads.Get("compact");
  (*event.mutable_representations())["webhook-delivery"].set_body(
      "[" + std::string(1000, ' ') + "]");
  payloads.Get("webhook-delivery");
  payloads.Shrink(100);
  payloads.Reset(&event);
  EXPECT_EQ(&payloads.Get("webhook-delivery"), small);  // reused slot 0
  EXPECT_EQ(payloads.Get("compact").largest, 3u);  // fresh: not 1002
}

}  // namespace
}  // namespace webhooks::core
