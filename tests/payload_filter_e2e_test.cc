// Payload filters end to end (issue 13): a real webhookd and a real HTTPS
// receiver. Subscriptions with filters, made through the API and declared in
// the config file, receive only the events whose JSON passes; the others'
// events still reach an unfiltered subscription; MatchSubscriptions says
// FILTERED_OUT and why; bad filters are refused naming the bad part.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/delivery_fixture.h"
#include "tests/event_client.h"
#include "tests/matchers.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class PayloadFilterE2eTest : public DeliveryE2eTest {
 protected:
  // The receiver, then webhookd with a static subscription to /static that
  // takes gold-tier events only.
  void StartAll() {
    ASSERT_NO_FATAL_FAILURE(StartReceiver());
    const std::string config = StrCat(
        DeliveryConfig("retry_schedule_seconds: [0]"),
        "subscriptions { site: \"/\" resource_type: \"user\" "
        "event_type: \"added\" target_url: \"",
        receiver_->Url("/static"), "\" filter: '{\"tier\": \"gold\"}' }\n");
    ASSERT_OK_AND_ASSIGN(server_,
                         ServerProcess::Start(config, TlsFlags(certs())));
    admin_.emplace(server_->NewChannel(), kAdminToken);
    publisher_.emplace(admin_->WithToken(kPublisherToken));
  }

  absl::StatusOr<v1::Subscription> SubscribeFiltered(std::string_view path,
                                                     std::string filter) {
    v1::Subscription s = SubscriptionTo(receiver_->Url(path));
    s.set_filter(std::move(filter));
    return admin().CreateSubscription(s);
  }

  // A user/added event at "/" whose webhook-delivery body is `body`.
  static v1::Event EventWithBody(std::string_view id, std::string body) {
    v1::Event event = NewEvent(id, "/");
    (*event.mutable_representations())["webhook-delivery"].set_body(
        std::move(body));
    return event;
  }

  // The bodies `path` received.
  std::multiset<std::string> BodiesAt(std::string_view path) const {
    std::multiset<std::string> bodies;
    for (const ReceivedRequest& r : receiver_->Requests(path)) {
      bodies.insert(r.body);
    }
    return bodies;
  }
};

// The events of the table and what each filtered subscription gets.
constexpr char kGoldUsd[] =
    R"({"amount": 250, "currency": "USD", "tier": "gold"})";
constexpr char kSmallVipEur[] =
    R"({"amount": 5, "currency": "EUR", "tags": ["vip"]})";
constexpr char kAmountAsString[] = R"({"amount": "500", "tier": "silver"})";
constexpr char kNotJson[] = "amount=500&tier=gold";
constexpr char kBigVipEurGold[] = R"({"amount": 100, "currency": "EUR",
                                      "tags": ["new", "vip"], "tier": "gold"})";

TEST_F(PayloadFilterE2eTest, OnlyPassingEventsAreDeliveredAndTheRestExplained) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_OK_AND_ASSIGN(v1::Subscription all,
                       Subscribe(receiver_->Url("/all")));
  ASSERT_OK_AND_ASSIGN(
      v1::Subscription big,
      SubscribeFiltered("/big", R"({"amount": {"$gte": 100}})"));
  EXPECT_EQ(big.filter(), R"({"amount": {"$gte": 100}})");
  ASSERT_OK_AND_ASSIGN(
      v1::Subscription eur,
      SubscribeFiltered("/eur", R"({"$and": [{"currency": "EUR"},
                                             {"tags": {"$in": ["vip"]}}]})"));

  ASSERT_OK_AND_ASSIGN(
      v1::PublishResponse published,
      PublishEvents(publisher(),
                    {EventWithBody("e1", kGoldUsd),
                     EventWithBody("e2", kSmallVipEur),
                     EventWithBody("e3", kAmountAsString),
                     EventWithBody("e4", kNotJson),
                     EventWithBody("e5", kBigVipEurGold)}));
  // /all 5, /big 2, /eur 2, /static 2.
  EXPECT_EQ(published.deliveries_created(), 11);
  ASSERT_TRUE(receiver_->WaitForRequests(5, kWait, "/all"));
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait, "/big"));
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait, "/eur"));
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait, "/static"));
  EXPECT_THAT(BodiesAt("/all"),
              UnorderedElementsAre(kGoldUsd, kSmallVipEur, kAmountAsString,
                                   kNotJson, kBigVipEurGold));
  EXPECT_THAT(BodiesAt("/big"), UnorderedElementsAre(kGoldUsd, kBigVipEurGold));
  EXPECT_THAT(BodiesAt("/eur"),
              UnorderedElementsAre(kSmallVipEur, kBigVipEurGold));
  EXPECT_THAT(BodiesAt("/static"),
              UnorderedElementsAre(kGoldUsd, kBigVipEurGold));

  // The dry run says why.
  ASSERT_OK_AND_ASSIGN(
      v1::MatchSubscriptionsResponse string_amount,
      MatchEvent(publisher(), EventWithBody("m1", kAmountAsString)));
  std::map<std::string, v1::SubscriptionMatch> by_id;
  for (const v1::SubscriptionMatch& m : string_amount.matches()) {
    by_id[m.subscription().id()] = m;
  }
  ASSERT_EQ(by_id.size(), 4u);
  EXPECT_EQ(by_id[all.id()].verdict(), v1::SubscriptionMatch::DELIVERED);
  EXPECT_EQ(by_id[big.id()].verdict(), v1::SubscriptionMatch::FILTERED_OUT);
  EXPECT_EQ(by_id[big.id()].reason(),
            "filtered out: representation \"webhook-delivery\" fails "
            "{\"amount\":{\"$gte\":100}}");
  EXPECT_EQ(by_id[big.id()].subscription().filter(), big.filter());
  EXPECT_EQ(by_id[eur.id()].verdict(), v1::SubscriptionMatch::FILTERED_OUT);
  ASSERT_OK_AND_ASSIGN(v1::MatchSubscriptionsResponse not_json,
                       MatchEvent(publisher(), EventWithBody("m2", kNotJson)));
  for (const v1::SubscriptionMatch& m : not_json.matches()) {
    if (m.subscription().id() == all.id()) continue;
    EXPECT_EQ(m.verdict(), v1::SubscriptionMatch::FILTERED_OUT);
    EXPECT_THAT(m.reason(), HasSubstr("\"webhook-delivery\" is not JSON"));
  }

  // Clearing the filter lets everything through.
  v1::Subscription change;
  change.set_id(big.id());
  ASSERT_OK_AND_ASSIGN(v1::Subscription cleared,
                       admin().UpdateSubscription(change, {"filter"}));
  EXPECT_EQ(cleared.filter(), "");
  ASSERT_OK_AND_ASSIGN(
      v1::MatchSubscriptionsResponse after,
      MatchEvent(publisher(), EventWithBody("m3", kAmountAsString)));
  EXPECT_EQ(VerdictsById(after)[big.id()], v1::SubscriptionMatch::DELIVERED);
}

TEST_F(PayloadFilterE2eTest, BadFiltersAreRefusedNamingTheBadPart) {
  ASSERT_NO_FATAL_FAILURE(StartAll());
  absl::StatusOr<v1::Subscription> created = SubscribeFiltered(
      "/bad", R"({"$or": [{"a": 1}, {"amount": {"$gte": "1", "$in": 5}}]})");
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(created.status().message()),
            "subscription.filter.$or[1][\"amount\"].$in: wants a non-empty "
            "array of strings, numbers, booleans or nulls");
  created = SubscribeFiltered("/bad", "{\"a\": ");
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(created.status().message()),
              HasSubstr("subscription.filter: not JSON"));
  created = SubscribeFiltered("/bad", StrCat("{\"a\": \"",
                                             std::string(5000, 'x'), "\"}"));
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(created.status().message()),
            "subscription.filter: longer than 4096 bytes");

  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, Subscribe(receiver_->Url("/ok")));
  v1::Subscription change;
  change.set_id(sub.id());
  change.set_filter(R"({"a": {"$exists": "yes"}})");
  absl::StatusOr<v1::Subscription> updated =
      admin().UpdateSubscription(change, {"filter"});
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(updated.status().message()),
            "subscription.filter[\"a\"].$exists: wants true or false, got a "
            "string");
  ASSERT_OK_AND_ASSIGN(v1::Subscription unchanged,
                       admin().GetSubscription(sub.id()));
  EXPECT_EQ(unchanged.filter(), "");
}

TEST_F(PayloadFilterE2eTest, ABadFilterInTheConfigFileStopsTheServer) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver());
  const std::string config = StrCat(
      DeliveryConfig(""),
      "subscriptions { site: \"/\" resource_type: \"user\" "
      "event_type: \"added\" target_url: \"",
      receiver_->Url("/static"), "\" filter: '{\"tier\": {\"$like\": 1}}' }\n");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(config, TlsFlags(certs()));
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("config subscriptions[0]: subscription.filter[\"tier\"]"
                        ".$like: unknown operator"));
}

}  // namespace
}  // namespace webhooks::e2e
