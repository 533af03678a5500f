// EventService input validation end to end: each bad field gets its exact
// status code and a message that names the field, and leaves what is stored
// unchanged (all-or-nothing: no event of a refused call is kept).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/event_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::_;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr int kMaxRepresentationBytes = 1 << 20;
constexpr int kMaxEventsPerCall = 1000;
constexpr int kMaxEventsPerTransaction = 10000;

// The message begins with `field`, then ':' or ' ' ("events[1].site: ...",
// "events is required"), so it names that field and not a longer one.
MATCHER_P(NamesField, field, absl::StrCat("names the field ", field)) {
  const std::string& message = arg;
  const std::string f = field;
  return message.size() > f.size() && message.compare(0, f.size(), f) == 0 &&
         (message[f.size()] == ':' || message[f.size()] == ' ');
}

struct BadInput {
  std::string name;
  // Breaks a valid request of two events, "ok-a" and "ok-b".
  std::function<void(v1::PrepareRequest&)> change;
  Code code;
  std::string field;
};

v1::Event* EventAt(v1::PrepareRequest& r, int i) { return r.mutable_events(i); }

std::vector<BadInput> BadInputs() {
  const Code kInvalid = Code::kInvalidArgument;
  const Code kExhausted = Code::kResourceExhausted;
  const std::string kBody = "events[1].representations[\"webhook-delivery\"]";
  return {
      {"no events", [](auto& r) { r.clear_events(); }, kInvalid, "events"},
      {"site missing", [](auto& r) { EventAt(r, 1)->clear_site(); }, kInvalid,
       "events[1].site"},
      {"site relative", [](auto& r) { EventAt(r, 1)->set_site("NOAA/NWS"); },
       kInvalid, "events[1].site"},
      {"site with ..", [](auto& r) { EventAt(r, 0)->set_site("/NOAA/../x"); },
       kInvalid, "events[0].site"},
      {"active site with space",
       [](auto& r) { EventAt(r, 1)->set_active_site("/NOAA/NWS OUN"); },
       kInvalid, "events[1].active_site"},
      {"no webhook-delivery representation",
       [](auto& r) {
         auto& reps = *EventAt(r, 1)->mutable_representations();
         reps["zapier"] = reps["webhook-delivery"];
         reps.erase("webhook-delivery");
       },
       kInvalid, "events[1].representations"},
      {"no representations",
       [](auto& r) { EventAt(r, 0)->clear_representations(); }, kInvalid,
       "events[0].representations"},
      {"uppercase representation name",
       [](auto& r) {
         (*EventAt(r, 0)->mutable_representations())["Zapier"].set_body("z");
       },
       kInvalid, "events[0].representations[\"Zapier\"]"},
      {"bad content type",
       [](auto& r) {
         (*EventAt(r, 1)->mutable_representations())["webhook-delivery"]
             .set_content_type("text/plain\r\nX-Evil: 1");
       },
       kInvalid, kBody + ".content_type"},
      {"wildcard event type",
       [](auto& r) {
         EventAt(r, 0)->clear_event_types();
         EventAt(r, 0)->add_event_types("*");
       },
       kInvalid, "events[0].event_types[0]"},
      {"wildcard resource type",
       [](auto& r) { EventAt(r, 1)->add_resource_types("*"); }, kInvalid,
       "events[1].resource_types[1]"},
      {"uppercase type",
       [](auto& r) { EventAt(r, 1)->set_resource_types(0, "User"); }, kInvalid,
       "events[1].resource_types[0]"},
      {"no event types", [](auto& r) { EventAt(r, 0)->clear_event_types(); },
       kInvalid, "events[0].event_types"},
      {"type listed twice",
       [](auto& r) { EventAt(r, 0)->add_event_types("added"); }, kInvalid,
       "events[0].event_types[1]"},
      {"acl action unspecified",
       [](auto& r) {
         v1::AclEntry entry = Allow("alice");
         entry.set_action(v1::AclEntry::ACTION_UNSPECIFIED);
         *EventAt(r, 0)->add_acl() = entry;
       },
       kInvalid, "events[0].acl[0].action"},
      {"acl principal empty",
       [](auto& r) {
         *EventAt(r, 1)->add_acl() = Allow("alice");
         *EventAt(r, 1)->add_acl() = Deny("");
       },
       kInvalid, "events[1].acl[1].principal"},
      {"acl permission uppercase",
       [](auto& r) { *EventAt(r, 0)->add_acl() = Allow("alice", "View"); },
       kInvalid, "events[0].acl[0].permission"},
      {"bad event id", [](auto& r) { EventAt(r, 1)->set_id("a b"); }, kInvalid,
       "events[1].id"},
      {"duplicate event ids", [](auto& r) { EventAt(r, 1)->set_id("ok-a"); },
       kInvalid, "events[1].id"},
      {"representation over 1 MiB",
       [](auto& r) {
         (*EventAt(r, 1)->mutable_representations())["webhook-delivery"]
             .set_body(std::string(kMaxRepresentationBytes + 1, 'x'));
       },
       kExhausted, kBody + ".body"},
      {"too many events",
       [](auto& r) {
         for (int i = 2; i <= kMaxEventsPerCall; ++i) {
           *r.add_events() = NewEvent(absl::StrCat("many-", i));
         }
       },
       kExhausted, "events"},
      {"too many acl entries",
       [](auto& r) {
         for (int i = 0; i <= 256; ++i) *EventAt(r, 0)->add_acl() = Allow("a");
       },
       kExhausted, "events[0].acl"},
      {"too many types",
       [](auto& r) {
         for (int i = 1; i <= 32; ++i) {
           EventAt(r, 0)->add_resource_types(absl::StrCat("t", i));
         }
       },
       kExhausted, "events[0].resource_types"},
      {"transaction id with space",
       [](auto& r) { r.set_transaction_id("a b"); }, kInvalid,
       "transaction_id"},
      {"transaction id empty", [](auto& r) { r.clear_transaction_id(); },
       kInvalid, "transaction_id"},
      {"transaction id too long",
       [](auto& r) { r.set_transaction_id(std::string(129, 't')); }, kInvalid,
       "transaction_id"},
      {"ttl over an hour",
       [](auto& r) { *r.mutable_ttl() = TimeUtil::SecondsToDuration(3601); },
       kInvalid, "ttl"},
      {"ttl negative",
       [](auto& r) { *r.mutable_ttl() = TimeUtil::SecondsToDuration(-1); },
       kInvalid, "ttl"},
  };
}

class EventInputE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(TokensConfig()));
    admin_.emplace(server_->NewChannel(), kAdminToken);
    publisher_.emplace(admin_->WithToken(kPublisherToken));
    ASSERT_OK(admin_->CreateSubscription(NewSubscription("/")).status());
    // A prepared transaction that every refused call must leave alone.
    ASSERT_OK_AND_ASSIGN(v1::PrepareResponse held,
                         PrepareEvents(pub(), "tx-held", {NewEvent("held-1")}));
    held_ = held.transaction();
  }

  const Api& pub() const { return *publisher_; }

  absl::Status Prepare(const v1::PrepareRequest& request) const {
    return pub().Call(&v1::EventService::Stub::Prepare, request).status();
  }

  std::unique_ptr<ServerProcess> server_;
  std::optional<Api> admin_;
  std::optional<Api> publisher_;
  v1::Transaction held_;
};

TEST_F(EventInputE2eTest, EachBadFieldIsRefusedByNameAndStoresNothing) {
  int fresh_count = 0;
  for (const BadInput& bad : BadInputs()) {
    SCOPED_TRACE(bad.name);
    const auto refused = StatusIs(bad.code, NamesField(bad.field));

    // Adding to an open transaction.
    v1::PrepareRequest request =
        PrepareRequestOf("tx-held", {NewEvent("ok-a"), NewEvent("ok-b")});
    bad.change(request);
    EXPECT_THAT(Prepare(request), refused);
    ASSERT_OK_AND_ASSIGN(v1::Transaction held,
                         GetTransaction(pub(), "tx-held"));
    EXPECT_THAT(held, EqualsProto(held_));
    if (request.transaction_id() != "tx-held") continue;  // the id is bad

    // As the first Prepare of a transaction: it is not created.
    const std::string fresh = absl::StrCat("tx-new-", ++fresh_count);
    request.set_transaction_id(fresh);
    EXPECT_THAT(Prepare(request), refused);
    EXPECT_THAT(GetTransaction(pub(), fresh),
                StatusIs(Code::kNotFound, HasSubstr(fresh)));
    if (request.has_ttl()) continue;

    // Publish validates its events the same way.
    v1::PublishRequest publish;
    *publish.mutable_events() = request.events();
    EXPECT_THAT(pub().Call(&v1::EventService::Stub::Publish, publish), refused);
  }

  // Only the held transaction's own event was ever stored.
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c,
                       CommitTransaction(pub(), "tx-held"));
  EXPECT_EQ(c.transaction().event_count(), 1);
  EXPECT_EQ(c.deliveries_created(), 1);
}

TEST_F(EventInputE2eTest, MatchSubscriptionsNamesTheEventField) {
  v1::Event relative = NewEvent("m1", "NOAA");
  EXPECT_THAT(MatchEvent(pub(), relative),
              StatusIs(Code::kInvalidArgument, NamesField("event.site")));
  v1::Event unspecified = NewEvent("m1");
  *unspecified.add_acl() = Allow("alice");
  unspecified.mutable_acl(0)->set_action(v1::AclEntry::ACTION_UNSPECIFIED);
  EXPECT_THAT(
      MatchEvent(pub(), unspecified),
      StatusIs(Code::kInvalidArgument, NamesField("event.acl[0].action")));
  v1::Event wildcard = NewEvent("m1", "/", {"*"});
  EXPECT_THAT(
      MatchEvent(pub(), wildcard),
      StatusIs(Code::kInvalidArgument, NamesField("event.resource_types[0]")));
  v1::Event bare = NewEvent("m1");
  bare.clear_representations();
  EXPECT_THAT(
      MatchEvent(pub(), bare),
      StatusIs(Code::kInvalidArgument, NamesField("event.representations")));
}

TEST_F(EventInputE2eTest, LimitsThemselvesAreAccepted) {
  std::vector<v1::Event> events;
  for (int i = 0; i < kMaxEventsPerCall; ++i) {
    events.push_back(NewEvent(absl::StrCat("e", i)));
  }
  (*events[0].mutable_representations())["webhook-delivery"].set_body(
      std::string(kMaxRepresentationBytes, 'x'));
  for (int i = 0; i < 256; ++i) *events[1].add_acl() = Allow("a");
  for (int i = 1; i < 32; ++i) {
    events[2].add_resource_types(absl::StrCat("t", i));
  }
  const std::string long_id(128, 't');
  ASSERT_OK_AND_ASSIGN(v1::PrepareResponse p,
                       PrepareEvents(pub(), long_id, events));
  EXPECT_EQ(p.transaction().event_count(), kMaxEventsPerCall);
  EXPECT_EQ(p.event_results_size(), kMaxEventsPerCall);
  ASSERT_OK_AND_ASSIGN(v1::CommitResponse c, CommitTransaction(pub(), long_id));
  EXPECT_EQ(c.deliveries_created(), kMaxEventsPerCall);
}

TEST_F(EventInputE2eTest, EventsPerTransactionAreLimited) {
  int next = 0;
  for (int call = 0; call < kMaxEventsPerTransaction / kMaxEventsPerCall;
       ++call) {
    std::vector<v1::Event> events;
    for (int i = 0; i < kMaxEventsPerCall; ++i) {
      events.push_back(NewEvent(absl::StrCat("e", next++)));
    }
    ASSERT_OK(PrepareEvents(pub(), "tx-full", events).status()) << call;
  }
  ASSERT_OK_AND_ASSIGN(v1::Transaction full, GetTransaction(pub(), "tx-full"));
  EXPECT_EQ(full.event_count(), kMaxEventsPerTransaction);

  EXPECT_THAT(PrepareEvents(pub(), "tx-full", {NewEvent("one-more")}),
              StatusIs(Code::kResourceExhausted, NamesField("events")));
  // Re-sending stored events adds nothing and is still answered.
  EXPECT_OK(PrepareEvents(pub(), "tx-full", {NewEvent("e0")}).status());
  ASSERT_OK_AND_ASSIGN(v1::Transaction after, GetTransaction(pub(), "tx-full"));
  EXPECT_THAT(after, EqualsProto(full));
}

}  // namespace
}  // namespace webhooks::e2e
