#include "core/event_validation.h"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using ::google::protobuf::util::MessageDifferencer;
using internal::AclEntryRecord;

constexpr char kPrefix[] = "events[2]";

// Small limits so the count and size rules are cheap to reach.
Limits SmallLimits() {
  Limits limits;
  limits.max_type_list = 3;
  limits.max_representations = 3;
  limits.max_representation_bytes = 16;
  limits.max_acl_entries = 4;
  limits.max_event_id_length = 20;
  limits.max_transaction_id_length = 24;
  return limits;
}

AclEntryRecord* AddAcl(EventRecord& event, bool allow, std::string principal,
                       std::string permission) {
  AclEntryRecord* entry = event.add_acl();
  entry->set_allow(allow);
  entry->set_principal(std::move(principal));
  entry->set_permission(std::move(permission));
  return entry;
}

internal::RepresentationRecord& Rep(EventRecord& event,
                                    const std::string& name) {
  return (*event.mutable_representations())[name];
}

// A valid event that each case changes in one way.
EventRecord ValidEvent() {
  EventRecord event;
  event.set_site("/NOAA/NWS/OUN");
  event.add_resource_types("employee");
  event.add_resource_types("user");
  event.add_event_types("added");
  Rep(event, "webhook-delivery").set_body("{\"id\":1}");
  AddAcl(event, true, "alice", "view");
  return event;
}

struct Case {
  std::string name;
  std::function<void(EventRecord&)> change;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string field = "";         // the message names it
  std::string message_part = "";  // and, when set, says this too
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

using Code = absl::StatusCode;
constexpr Code kOk = Code::kOk;
constexpr Code kInvalid = Code::kInvalidArgument;
constexpr Code kExhausted = Code::kResourceExhausted;

std::vector<Case> Cases() {
  return {
      // Good.
      {"Valid", [](EventRecord&) {}},
      {"GivenId", [](EventRecord& e) { e.set_id("order-42:v1.x_Y"); }},
      {"IdAtLimit", [](EventRecord& e) { e.set_id(std::string(20, 'a')); }},
      {"ActiveSite",
       [](EventRecord& e) { e.set_active_site("/NOAA/NWS/OKC"); }},
      {"RootSite", [](EventRecord& e) { e.set_site("/"); }},
      {"TypesAtLimit",
       [](EventRecord& e) { e.add_resource_types("principal"); }},
      {"SeveralEventTypes",
       [](EventRecord& e) { e.add_event_types("object_event"); }},
      {"RepresentationsAtLimit",
       [](EventRecord& e) {
         Rep(e, "zapier").set_body("{}");
         Rep(e, "slack.v2").set_body("");
       }},
      {"BodyAtLimit",
       [](EventRecord& e) {
         Rep(e, "webhook-delivery").set_body(std::string(16, 'x'));
       }},
      {"EmptyBody",
       [](EventRecord& e) { Rep(e, "webhook-delivery").set_body(""); }},
      {"ContentType",
       [](EventRecord& e) {
         Rep(e, "webhook-delivery")
             .set_content_type("application/json; charset=utf-8");
       }},
      {"NoAcl", [](EventRecord& e) { e.clear_acl(); }},
      {"AclAtLimit",
       [](EventRecord& e) {
         AddAcl(e, false, "staff", "edit");
         AddAcl(e, true, "system.Everyone", "view");
         AddAcl(e, true, "group:oun-managers", "*");
       }},
      {"AclUtf8Principal",
       [](EventRecord& e) { AddAcl(e, true, "jos\xC3\xA9", "view"); }},
      {"GivenOccurTime",
       [](EventRecord& e) { e.set_occur_time_micros(1234567); }},

      // Id.
      {"IdWithSpace", [](EventRecord& e) { e.set_id("order 42"); }, kInvalid,
       "events[2].id", "byte 0x20"},
      {"IdWithSlash", [](EventRecord& e) { e.set_id("a/b"); }, kInvalid,
       "events[2].id", "'/'"},
      {"IdTooLong", [](EventRecord& e) { e.set_id(std::string(21, 'a')); },
       kInvalid, "events[2].id", "20"},

      // Sites.
      {"SiteMissing", [](EventRecord& e) { e.clear_site(); }, kInvalid,
       "events[2].site", "required"},
      {"SiteRelative", [](EventRecord& e) { e.set_site("NOAA/NWS"); }, kInvalid,
       "events[2].site", "absolute"},
      {"SiteDotDot", [](EventRecord& e) { e.set_site("/NOAA/../x"); }, kInvalid,
       "events[2].site", ".."},
      {"SiteBadChar", [](EventRecord& e) { e.set_site("/NO AA"); }, kInvalid,
       "events[2].site"},
      {"ActiveSiteRelative", [](EventRecord& e) { e.set_active_site("NOAA"); },
       kInvalid, "events[2].active_site"},

      // Types.
      {"NoResourceTypes", [](EventRecord& e) { e.clear_resource_types(); },
       kInvalid, "events[2].resource_types", "required"},
      {"NoEventTypes", [](EventRecord& e) { e.clear_event_types(); }, kInvalid,
       "events[2].event_types", "required"},
      {"ResourceTypeWildcard",
       [](EventRecord& e) { e.set_resource_types(1, "*"); }, kInvalid,
       "events[2].resource_types[1]", "wildcard"},
      {"EventTypeWildcard", [](EventRecord& e) { e.add_event_types("*"); },
       kInvalid, "events[2].event_types[1]", "wildcard"},
      {"ResourceTypeUppercase",
       [](EventRecord& e) { e.set_resource_types(0, "User"); }, kInvalid,
       "events[2].resource_types[0]", "uppercase"},
      {"ResourceTypeEmpty", [](EventRecord& e) { e.set_resource_types(1, ""); },
       kInvalid, "events[2].resource_types[1]"},
      {"EventTypeTooLong",
       [](EventRecord& e) { e.set_event_types(0, std::string(129, 'a')); },
       kInvalid, "events[2].event_types[0]"},
      {"ResourceTypeDuplicate",
       [](EventRecord& e) { e.add_resource_types("employee"); }, kInvalid,
       "events[2].resource_types[2]", "twice"},
      {"EventTypeDuplicate", [](EventRecord& e) { e.add_event_types("added"); },
       kInvalid, "events[2].event_types[1]", "twice"},
      {"TooManyResourceTypes",
       [](EventRecord& e) {
         e.add_resource_types("principal");
         e.add_resource_types("object");
       },
       kExhausted, "events[2].resource_types", "at most 3"},
      {"TooManyEventTypes",
       [](EventRecord& e) {
         for (const char* t : {"a", "b", "c"}) e.add_event_types(t);
       },
       kExhausted, "events[2].event_types", "at most 3"},

      // Representations.
      {"NoRepresentations", [](EventRecord& e) { e.clear_representations(); },
       kInvalid, "events[2].representations", "\"webhook-delivery\""},
      {"DeliveryRepresentationMissing",
       [](EventRecord& e) {
         e.clear_representations();
         Rep(e, "zapier").set_body("{}");
       },
       kInvalid, "events[2].representations", "required"},
      {"RepresentationNameUppercase",
       [](EventRecord& e) { Rep(e, "Zapier").set_body("{}"); }, kInvalid,
       "events[2].representations[\"Zapier\"]"},
      {"RepresentationNameWildcard",
       [](EventRecord& e) { Rep(e, "*").set_body("{}"); }, kInvalid,
       "events[2].representations[\"*\"]"},
      {"RepresentationNameEscaped",
       [](EventRecord& e) { Rep(e, "a\"b").set_body("{}"); }, kInvalid,
       "events[2].representations[\"a\\\"b\"]"},
      {"TooManyRepresentations",
       [](EventRecord& e) {
         for (const char* n : {"a", "b", "c"}) Rep(e, n).set_body("{}");
       },
       kExhausted, "events[2].representations", "at most 3"},
      {"BodyTooLarge",
       [](EventRecord& e) { Rep(e, "zapier").set_body(std::string(17, 'x')); },
       kExhausted, "events[2].representations[\"zapier\"].body",
       "at most 16 bytes"},
      {"ContentTypeLineBreak",
       [](EventRecord& e) {
         Rep(e, "webhook-delivery").set_content_type("text/plain\r\nX: y");
       },
       kInvalid, "events[2].representations[\"webhook-delivery\"].content_type",
       "line break"},

      // ACL.
      {"TooManyAclEntries",
       [](EventRecord& e) {
         for (const char* p : {"b", "c", "d", "e"}) AddAcl(e, true, p, "view");
       },
       kExhausted, "events[2].acl", "at most 4"},
      {"AclPrincipalEmpty", [](EventRecord& e) { AddAcl(e, true, "", "view"); },
       kInvalid, "events[2].acl[1].principal", "required"},
      {"AclPrincipalSpace",
       [](EventRecord& e) { e.mutable_acl(0)->set_principal("al ice"); },
       kInvalid, "events[2].acl[0].principal", "whitespace"},
      {"AclPrincipalControl",
       [](EventRecord& e) { AddAcl(e, false, "bob\x01", "view"); }, kInvalid,
       "events[2].acl[1].principal", "control"},
      {"AclPermissionEmpty",
       [](EventRecord& e) { e.mutable_acl(0)->clear_permission(); }, kInvalid,
       "events[2].acl[0].permission", "required"},
      {"AclPermissionBad",
       [](EventRecord& e) { AddAcl(e, true, "bob", "View All"); }, kInvalid,
       "events[2].acl[1].permission"},
  };
}

class NormalizeEventTest : public ::testing::TestWithParam<Case> {};

TEST_P(NormalizeEventTest, Checks) {
  const Case& c = GetParam();
  EventRecord event = ValidEvent();
  c.change(event);
  const EventRecord sent = event;
  FakeClock clock;
  SeededRandom random(7);
  const absl::Status status =
      NormalizeEvent(kPrefix, event, SmallLimits(), clock, random);
  EXPECT_EQ(status.code(), c.code) << status;
  if (c.code == kOk) return;
  // The message starts with the whole field: "<field>: ..." or
  // "<field> is ...".
  const std::string message(status.message());
  EXPECT_TRUE(message.rfind(c.field + ":", 0) == 0 ||
              message.rfind(c.field + " ", 0) == 0)
      << status << " does not start with " << c.field;
  EXPECT_THAT(message, HasSubstr(c.message_part)) << status;
  // A refused event is left as sent.
  EXPECT_TRUE(MessageDifferencer::Equals(event, sent)) << event.DebugString();
}

INSTANTIATE_TEST_SUITE_P(Table, NormalizeEventTest,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return p.param.name;
                         });

TEST(NormalizeEventFillTest, GeneratesIdFromClockAndRandom) {
  FakeClock clock(absl::FromUnixMillis(1700000000123));
  SeededRandom random(42);
  SeededRandom same(42);
  EventRecord event = ValidEvent();
  ASSERT_TRUE(NormalizeEvent("e", event, Limits(), clock, random).ok());
  EXPECT_EQ(event.id(), NewId("evt_", 1700000000123, same));
  EXPECT_THAT(event.id(), StartsWith("evt_"));
  EXPECT_EQ(event.id().size(), 4u + 26u);

  EventRecord second = ValidEvent();
  clock.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(NormalizeEvent("e", second, Limits(), clock, random).ok());
  EXPECT_NE(second.id(), event.id());
  EXPECT_GT(second.id(), event.id());  // later ids sort later
}

TEST(NormalizeEventFillTest, KeepsGivenId) {
  FakeClock clock;
  SeededRandom random(1);
  EventRecord event = ValidEvent();
  event.set_id("publisher-7");
  ASSERT_TRUE(NormalizeEvent("e", event, Limits(), clock, random).ok());
  EXPECT_EQ(event.id(), "publisher-7");
}

TEST(NormalizeEventFillTest, OccurTimeDefaultsToNow) {
  FakeClock clock(absl::FromUnixMicros(1700000000123456));
  SeededRandom random(1);
  EventRecord event = ValidEvent();
  ASSERT_TRUE(NormalizeEvent("e", event, Limits(), clock, random).ok());
  EXPECT_EQ(event.occur_time_micros(), 1700000000123456);

  EventRecord given = ValidEvent();
  given.set_occur_time_micros(1600000000000000);
  ASSERT_TRUE(NormalizeEvent("e", given, Limits(), clock, random).ok());
  EXPECT_EQ(given.occur_time_micros(), 1600000000000000);
}

TEST(NormalizeEventFillTest, NormalizesSites) {
  FakeClock clock;
  SeededRandom random(1);
  EventRecord event = ValidEvent();
  event.set_site("//NOAA//NWS/OUN/");
  event.set_active_site("/NOAA/");
  ASSERT_TRUE(NormalizeEvent("e", event, Limits(), clock, random).ok());
  EXPECT_EQ(event.site(), "/NOAA/NWS/OUN");
  EXPECT_EQ(event.active_site(), "/NOAA");

  EventRecord no_active = ValidEvent();
  no_active.set_site("///");
  ASSERT_TRUE(NormalizeEvent("e", no_active, Limits(), clock, random).ok());
  EXPECT_EQ(no_active.site(), "/");
  EXPECT_EQ(no_active.active_site(), "");
}

TEST(NormalizeEventFillTest, LeavesEverythingElseAlone) {
  FakeClock clock;
  SeededRandom random(1);
  EventRecord event = ValidEvent();
  event.set_id("x");
  event.set_occur_time_micros(5);
  event.set_seq(9);
  AddAcl(event, false, "system.Everyone", "*");
  const EventRecord sent = event;
  ASSERT_TRUE(NormalizeEvent("e", event, Limits(), clock, random).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(event, sent)) << event.DebugString();
}

TEST(NormalizeEventFillTest, UsesDefaultLimits) {
  FakeClock clock;
  SeededRandom random(1);
  EventRecord event = ValidEvent();
  Rep(event, "webhook-delivery").set_body(std::string(1 << 20, 'x'));
  EXPECT_TRUE(NormalizeEvent("e", event, Limits(), clock, random).ok());
  Rep(event, "webhook-delivery").set_body(std::string((1 << 20) + 1, 'x'));
  EXPECT_EQ(NormalizeEvent("e", event, Limits(), clock, random).code(),
            kExhausted);
}

struct TransactionCase {
  std::string name;
  std::string id;
  Code code;
  std::string message_part = "";
};

std::ostream& operator<<(std::ostream& os, const TransactionCase& c) {
  return os << c.name;
}

class TransactionIdTest : public ::testing::TestWithParam<TransactionCase> {};

TEST_P(TransactionIdTest, Checks) {
  const TransactionCase& c = GetParam();
  const absl::Status status =
      ValidateTransactionId("transaction_id", c.id, SmallLimits());
  EXPECT_EQ(status.code(), c.code) << status;
  if (c.code == kOk) return;
  EXPECT_THAT(std::string(status.message()), StartsWith("transaction_id"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(c.message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Table, TransactionIdTest,
    ::testing::ValuesIn(std::vector<TransactionCase>{
        {"Simple", "tx-1", kOk},
        {"AllCharacters", "Az09_.:-", kOk},
        {"AtLimit", std::string(24, 't'), kOk},
        {"Empty", "", kInvalid, "required"},
        {"TooLong", std::string(25, 't'), kInvalid, "24"},
        {"Space", "tx 1", kInvalid, "byte 0x20"},
        {"Slash", "tx/1", kInvalid, "'/'"},
        {"NonAscii", "tx\xC3\xA9", kInvalid, "byte 0xC3"},
        {"Newline", "tx\n", kInvalid, "byte 0x0A"},
    }),
    [](const ::testing::TestParamInfo<TransactionCase>& p) {
      return p.param.name;
    });

}  // namespace
}  // namespace webhooks::core
