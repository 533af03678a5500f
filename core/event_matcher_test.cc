#include "core/event_matcher.h"

#include <cstdlib>
#include <new>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "core/principal_directory.h"
#include "core/registry_fixture.h"
#include "core/site_path.h"
#include "core/subscription_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

// Counts allocations on this thread, so the test can check that matching an
// event that reaches nobody allocates nothing.
namespace {
thread_local size_t allocations = 0;
}  // namespace

// GCC pairs these malloc/free calls with the new/delete expressions it
// inlines them into and wrongly reports a mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  std::abort();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace webhooks::core {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Verdict = Candidate::Verdict;

constexpr Verdict kDelivered = Verdict::kDelivered;
constexpr Verdict kDenied = Verdict::kDeniedByAcl;
constexpr Verdict kNoGrant = Verdict::kNoGrant;
constexpr Verdict kInactive = Verdict::kInactive;
constexpr Verdict kDuplicate = Verdict::kDuplicateUrl;

// For readable failures.
std::string Name(Verdict v) {
  switch (v) {
    case kDelivered:
      return "kDelivered";
    case kDenied:
      return "kDeniedByAcl";
    case kNoGrant:
      return "kNoGrant";
    case kInactive:
      return "kInactive";
    case kDuplicate:
      return "kDuplicateUrl";
    case Verdict::kFilteredOut:
      return "kFilteredOut";
  }
  return "?";
}

// A "user added" subscription; owner empty means none.
IndexEntry Sub(std::string id, std::string site, std::string owner = "",
               std::string url = "", std::string permission = "view",
               std::string dialect = "default", bool active = true,
               std::string resource_type = "user",
               std::string event_type = "added") {
  IndexEntry e;
  e.id = std::move(id);
  e.site = std::move(site);
  e.resource_type = std::move(resource_type);
  e.event_type = std::move(event_type);
  e.owner = std::move(owner);
  e.permission = std::move(permission);
  e.target_url = url.empty() ? "https://hooks.example/" + e.id : std::move(url);
  e.dialect = std::move(dialect);
  e.active = active;
  return e;
}

IndexEntry Typed(std::string id, std::string site, std::string resource_type,
                 std::string event_type) {
  return Sub(std::move(id), std::move(site), "", "", "view", "default", true,
             std::move(resource_type), std::move(event_type));
}

IndexEntry Inactive(IndexEntry e) {
  e.active = false;
  return e;
}

struct Acl {
  bool allow;
  std::string principal;
  std::string permission;
};

EventRecord Event(
    std::string site, std::string active_site, std::vector<Acl> acl = {},
    std::vector<std::string> resource_types = {"employee", "user", "principal"},
    std::vector<std::string> event_types = {"added", "object_event"}) {
  EventRecord event;
  event.set_site(std::move(site));
  event.set_active_site(std::move(active_site));
  for (const std::string& t : resource_types) event.add_resource_types(t);
  for (const std::string& t : event_types) event.add_event_types(t);
  for (const Acl& a : acl) {
    auto* entry = event.add_acl();
    entry->set_allow(a.allow);
    entry->set_principal(a.principal);
    entry->set_permission(a.permission);
  }
  return event;
}

// What Explain should say of one candidate.
struct Expect {
  std::string id;
  Verdict verdict;
  int acl_entry_index = -1;
  std::string reason = "";  // a part of the reason, when set
};

struct MatchCase {
  std::string name;
  std::vector<IndexEntry> subscriptions;
  EventRecord event;
  std::vector<Expect> expected;  // in index order
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
  return os << c.name;
}

const Acl kAliceView{true, "alice", "view"};

std::vector<MatchCase> Cases() {
  const std::string oun = "/NOAA/NWS/OUN";
  const std::string okc = "/NOAA/NWS/OKC";
  const std::vector<IndexEntry> seed = {Sub("sub_president", "/"),
                                        Sub("sub_department", "/NOAA"),
                                        Sub("sub_oun_office", oun),
                                        Sub("sub_okc_office", okc),
                                        Sub("sub_oun_child", oun + "/Norman"),
                                        Sub("sub_nasa", "/NASA")};
  return {
      // The seed's example, through both hierarchies: resource site first.
      {"SeedBothHierarchies",
       seed,
       Event(okc, oun),
       {{"sub_okc_office", kDelivered, -1, "delivered (no owner)"},
        {"sub_department", kDelivered},
        {"sub_president", kDelivered},
        {"sub_oun_office", kDelivered}}},
      {"SeedResourceSiteOnly",
       seed,
       Event(oun, ""),
       {{"sub_oun_office", kDelivered},
        {"sub_department", kDelivered},
        {"sub_president", kDelivered}}},
      {"SeedActiveSiteIsAncestor",
       seed,
       Event(oun, "/NOAA"),
       {{"sub_oun_office", kDelivered},
        {"sub_department", kDelivered},
        {"sub_president", kDelivered}}},
      {"NothingMatches", seed, Event("/Other", "", {}, {"group"}), {}},

      // Types.
      {"Wildcards",
       {Typed("sub_any_resource", "/", "*", "added"),
        Typed("sub_any_event", "/", "user", "*"),
        Typed("sub_anything", "/", "*", "*"),
        Typed("sub_removed", "/", "*", "removed"),
        Typed("sub_group", "/", "group", "*")},
       Event("/a", ""),
       {{"sub_any_event", kDelivered},
        {"sub_any_resource", kDelivered},
        {"sub_anything", kDelivered}}},
      {"TypeLists",
       {Typed("sub_principal", "/", "principal", "added"),
        Typed("sub_employee_event", "/", "employee", "object_event"),
        Typed("sub_group", "/", "group", "added"),
        Typed("sub_modified", "/", "user", "modified")},
       Event("/", ""),
       {{"sub_employee_event", kDelivered}, {"sub_principal", kDelivered}}},

      // ACL order and who an entry applies to.
      {"AllowThenDeny",
       {Sub("sub_a", "/", "alice")},
       Event("/", "", {kAliceView, {false, "alice", "view"}}),
       {{"sub_a", kDelivered, 0, "delivered: acl[0] allows alice view"}}},
      {"DenyThenAllow",
       {Sub("sub_a", "/", "alice")},
       Event("/", "", {{false, "alice", "view"}, kAliceView}),
       {{"sub_a", kDenied, 0, "denied by acl[0] (deny alice view)"}}},
      {"GroupDenyFirst",
       {Sub("sub_a", "/", "alice")},
       Event("/", "",
             {{true, "bob", "view"}, {false, "staff", "view"}, kAliceView}),
       {{"sub_a", kDenied, 1, "denied by acl[1] (deny staff view)"}}},
      {"GroupAllow",
       {Sub("sub_a", "/", "alice")},
       Event("/", "", {{true, "oun-managers", "view"}}),
       {{"sub_a", kDelivered, 0, "acl[0] allows oun-managers view"}}},
      {"OtherPrincipalsGroupIgnored",
       {Sub("sub_c", "/", "carol")},
       Event("/", "", {{true, "staff", "view"}}),
       {{"sub_c", kNoGrant, -1,
         "no acl entry grants \"carol\" permission \"view\""}}},
      {"EveryoneAllows",
       {Sub("sub_c", "/", "carol")},
       Event("/", "", {{true, "system.Everyone", "view"}}),
       {{"sub_c", kDelivered, 0, "allows system.Everyone view"}}},
      {"EveryoneDeniedBeforeAllow",
       {Sub("sub_a", "/", "alice")},
       Event("/", "", {{false, "system.Everyone", "view"}, kAliceView}),
       {{"sub_a", kDenied, 0}}},
      {"WildcardPermissionDenies",
       {Sub("sub_a", "/", "alice")},
       Event("/", "", {{false, "alice", "*"}, kAliceView}),
       {{"sub_a", kDenied, 0, "(deny alice *)"}}},
      {"WildcardPermissionAllowsAnyPermission",
       {Sub("sub_a", "/", "alice", "", "edit")},
       Event("/", "", {{true, "staff", "*"}}),
       {{"sub_a", kDelivered, 0}}},
      {"OtherPermissionSkipped",
       {Sub("sub_a", "/", "alice")},
       Event("/", "",
             {{false, "alice", "edit"}, {false, "staff", "edit"}, kAliceView}),
       {{"sub_a", kDelivered, 2}}},
      {"PermissionNotGranted",
       {Sub("sub_a", "/", "alice", "", "edit")},
       Event("/", "", {kAliceView, {true, "system.Everyone", "view"}}),
       {{"sub_a", kNoGrant, -1,
         "no acl entry grants \"alice\" permission \"edit\""}}},
      {"NoOwnerAlwaysDelivered",
       {Sub("sub_x", "/")},
       Event("/", "", {{false, "system.Everyone", "*"}}),
       {{"sub_x", kDelivered, -1, "delivered (no owner)"}}},
      {"EmptyAclGrantsNothing",
       {Sub("sub_a", "/", "alice"), Sub("sub_b", "/", "bob")},
       Event("/", ""),
       {{"sub_a", kNoGrant}, {"sub_b", kNoGrant}}},
      {"OwnersJudgedSeparately",
       {Sub("sub_a", "/", "alice"), Sub("sub_b", "/", "bob"),
        Sub("sub_c", "/", "carol")},
       Event("/", "",
             {{false, "oun-managers", "view"}, {true, "staff", "view"}}),
       {{"sub_a", kDenied, 0}, {"sub_b", kDelivered, 1}, {"sub_c", kNoGrant}}},

      // One delivery per (target URL, dialect).
      {"SameUrlAndDialect",
       {Sub("sub_a", "/", "", "https://h/x"),
        Sub("sub_b", "/", "", "https://h/x")},
       Event("/", ""),
       {{"sub_a", kDelivered},
        {"sub_b", kDuplicate, -1,
         "duplicate of sub_a (same target_url and dialect)"}}},
      {"SameUrlOtherDialect",
       {Sub("sub_a", "/", "", "https://h/x"),
        Sub("sub_b", "/", "", "https://h/x", "view", "zapier")},
       Event("/", ""),
       {{"sub_a", kDelivered}, {"sub_b", kDelivered}}},
      {"SameUrlAcrossSites",
       {Sub("sub_a", "/", "", "https://h/x"),
        Sub("sub_b", oun, "", "https://h/x")},
       Event(oun, ""),
       {{"sub_b", kDelivered},
        {"sub_a", kDuplicate, -1, "duplicate of sub_b"}}},
      {"DeniedFirstDoesNotBlockSameUrl",
       {Sub("sub_a", "/", "bob", "https://h/x"),
        Sub("sub_b", "/", "alice", "https://h/x"),
        Sub("sub_c", "/", "alice", "https://h/x")},
       Event("/", "", {{false, "bob", "view"}, kAliceView}),
       {{"sub_a", kDenied, 0},
        {"sub_b", kDelivered, 1},
        {"sub_c", kDuplicate, 1}}},
      {"SameUrlDifferingPermissions",  // the seed's note: any grant delivers
       {Sub("sub_a", "/", "alice", "https://h/x", "edit"),
        Sub("sub_b", "/", "alice", "https://h/x", "view")},
       Event("/", "", {kAliceView}),
       {{"sub_a", kNoGrant}, {"sub_b", kDelivered, 0}}},

      // Inactive subscriptions.
      {"Inactive",
       {Inactive(Sub("sub_a", "/", "", "https://h/x")), Sub("sub_b", "/"),
        Sub("sub_c", "/", "", "https://h/x")},
       Event("/", ""),
       {{"sub_a", kInactive, -1, "subscription is inactive"},
        {"sub_b", kDelivered},
        {"sub_c", kDelivered}}},
      {"InactiveNotJudgedByAcl",
       {Inactive(Sub("sub_a", "/", "alice"))},
       Event("/", "", {{false, "alice", "view"}}),
       {{"sub_a", kInactive}}},
  };
}

class EventMatcherTest : public ::testing::TestWithParam<MatchCase> {
 protected:
  void SetUp() override {
    auto directory = PrincipalDirectory::Open(&store_, &clock_, Limits());
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);
    ASSERT_TRUE(directory_->SetGroups("alice", {"staff", "oun-managers"}).ok());
    ASSERT_TRUE(directory_->SetGroups("bob", {"staff"}).ok());
  }

  storage::MemoryStore store_;
  FakeClock clock_;
  PrincipalDirectoryPtr directory_;
  SubscriptionIndex index_;
};

TEST_P(EventMatcherTest, ExplainAndDeliver) {
  const MatchCase& c = GetParam();
  for (const IndexEntry& e : c.subscriptions) index_.Upsert(e);
  const EventMatcher matcher(&index_, directory_.get());

  const std::vector<Candidate> explained = matcher.Explain(c.event);
  ASSERT_EQ(explained.size(), c.expected.size());
  std::vector<std::string> delivered_ids;
  for (size_t i = 0; i < explained.size(); ++i) {
    const Candidate& got = explained[i];
    const Expect& want = c.expected[i];
    SCOPED_TRACE(testing::Message() << "candidate " << i << ": " << got.reason);
    EXPECT_EQ(got.subscription.id, want.id);
    EXPECT_EQ(Name(got.verdict), Name(want.verdict));
    EXPECT_EQ(got.acl_entry_index, want.acl_entry_index);
    EXPECT_THAT(got.reason, HasSubstr(want.reason));
    EXPECT_FALSE(got.reason.empty());
    if (got.verdict == kDelivered) delivered_ids.push_back(got.subscription.id);
  }

  std::vector<std::string> recipient_ids;
  const size_t count =
      matcher.ForEachDelivery(c.event, [&](const Recipient& r) {
        recipient_ids.push_back(r.subscription_id);
        for (const IndexEntry& e : c.subscriptions) {
          if (e.id != r.subscription_id) continue;
          EXPECT_EQ(r.target_url, e.target_url);
          EXPECT_EQ(r.dialect, e.dialect);
        }
      });
  EXPECT_EQ(count, delivered_ids.size());
  EXPECT_THAT(recipient_ids, ElementsAreArray(delivered_ids));
}

INSTANTIATE_TEST_SUITE_P(Table, EventMatcherTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<MatchCase>& p) {
                           return p.param.name;
                         });

TEST_F(EventMatcherTest, ExplainCopiesTheWholeSubscription) {
  const IndexEntry sub = Sub("sub_a", "/NOAA", "alice", "https://h/a", "edit",
                             "zapier", true, "*", "added");
  index_.Upsert(sub);
  const EventMatcher matcher(&index_, directory_.get());
  const std::vector<Candidate> got =
      matcher.Explain(Event("/NOAA/NWS", "", {{true, "alice", "edit"}}));
  ASSERT_EQ(got.size(), 1u);
  const IndexEntry& e = got[0].subscription;
  EXPECT_EQ(e.id, sub.id);
  EXPECT_EQ(e.site, sub.site);
  EXPECT_EQ(e.resource_type, sub.resource_type);
  EXPECT_EQ(e.event_type, sub.event_type);
  EXPECT_EQ(e.owner, sub.owner);
  EXPECT_EQ(e.permission, sub.permission);
  EXPECT_EQ(e.target_url, sub.target_url);
  EXPECT_EQ(e.dialect, sub.dialect);
  EXPECT_TRUE(e.active);
}

TEST_F(EventMatcherTest, FollowsGroupChanges) {
  index_.Upsert(Sub("sub_c", "/", "carol"));
  const EventMatcher matcher(&index_, directory_.get());
  const EventRecord event = Event("/", "", {{true, "staff", "view"}});
  EXPECT_EQ(matcher.ForEachDelivery(event, [](const Recipient&) {}), 0u);
  ASSERT_TRUE(directory_->SetGroups("carol", {"staff"}).ok());
  EXPECT_EQ(matcher.ForEachDelivery(event, [](const Recipient&) {}), 1u);
}

TEST_F(EventMatcherTest, ManySubscriptionsOfOneOwner) {
  for (int i = 0; i < 40; ++i) {
    index_.Upsert(Sub("sub_" + std::to_string(100 + i), "/", "alice",
                      "https://h/" + std::to_string(i % 25)));
  }
  const EventMatcher matcher(&index_, directory_.get());
  const EventRecord event = Event("/", "", {{true, "staff", "view"}});
  std::vector<std::string> urls;
  EXPECT_EQ(
      matcher.ForEachDelivery(
          event, [&](const Recipient& r) { urls.push_back(r.target_url); }),
      25u);
  EXPECT_EQ(urls.front(), "https://h/0");
  EXPECT_EQ(urls.back(), "https://h/24");
  const std::vector<Candidate> explained = matcher.Explain(event);
  ASSERT_EQ(explained.size(), 40u);
  EXPECT_EQ(Name(explained[39].verdict), Name(kDuplicate));
  EXPECT_EQ(explained[39].reason,
            "duplicate of sub_114 (same target_url and dialect)");
}

// (Kept under the index's own inline buffers, 32 hits per site.)
TEST_F(EventMatcherTest, NoAllocationWhenNothingIsDelivered) {
  for (int i = 0; i < 30; ++i) {
    index_.Upsert(Sub("sub_" + std::to_string(1000 + i), "/NOAA/NWS/OUN",
                      "alice", "", "view", "default", true,
                      i % 2 ? "user" : "*", "added"));
  }
  const EventMatcher matcher(&index_, directory_.get());
  const EventRecord unmatched =
      Event("/NOAA/NWS/OKC", "/NOAA", {kAliceView}, {"employee", "user"});
  const EventRecord denied =
      Event("/NOAA/NWS/OUN", "/NOAA/NWS/OKC", {{false, "alice", "view"}});
  size_t delivered = 0;
  const auto count = [&](const Recipient&) { ++delivered; };
  matcher.ForEachDelivery(unmatched, count);  // warms the scratch space
  matcher.ForEachDelivery(denied, count);
  size_t before = allocations;
  for (int n = 0; n < 10; ++n) matcher.ForEachDelivery(unmatched, count);
  EXPECT_EQ(allocations - before, 0u);
  before = allocations;
  for (int n = 0; n < 10; ++n) matcher.ForEachDelivery(denied, count);
  EXPECT_EQ(allocations - before, 0u);
  EXPECT_EQ(delivered, 0u);
}

TEST_F(EventMatcherTest, DeliverMayMatchAgain) {
  index_.Upsert(Sub("sub_a", "/"));
  index_.Upsert(Sub("sub_b", "/NOAA"));
  const EventMatcher matcher(&index_, directory_.get());
  std::vector<std::string> outer;
  size_t inner = 0;
  EXPECT_EQ(matcher.ForEachDelivery(
                Event("/NOAA", ""),
                [&](const Recipient& r) {
                  const std::string before = r.subscription_id;
                  inner += matcher.ForEachDelivery(Event("/", ""),
                                                   [](const Recipient&) {});
                  inner += matcher.Explain(Event("/NOAA", "")).size();
                  EXPECT_EQ(r.subscription_id,
                            before);  // not clobbered by the nested call
                  outer.push_back(r.subscription_id);
                }),
            2u);
  EXPECT_THAT(outer, ElementsAre("sub_b", "sub_a"));
  EXPECT_EQ(inner, 2u * (1 + 2));
}

TEST_F(EventMatcherTest, LargeThenSmallEvents) {
  for (int i = 0; i < 3000; ++i) {
    index_.Upsert(Sub("sub_" + std::to_string(10000 + i), "/big",
                      i % 2 == 0 ? "alice" : "owner" + std::to_string(i)));
  }
  index_.Upsert(Sub("sub_small", "/small"));
  const EventMatcher matcher(&index_, directory_.get());
  const EventRecord big = Event("/big", "", {{true, "staff", "view"}});
  const EventRecord small = Event("/small", "");
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(matcher.ForEachDelivery(big, [](const Recipient&) {}), 1500u);
    EXPECT_EQ(matcher.Explain(big).size(), 3000u);
    std::vector<std::string> ids;
    EXPECT_EQ(matcher.ForEachDelivery(
                  small,
                  [&](const Recipient& r) {
                    ids.push_back(r.subscription_id);
                    EXPECT_EQ(r.target_url, "https://hooks.example/sub_small");
                  }),
              1u);
    EXPECT_THAT(ids, ElementsAre("sub_small"));
  }
}

TEST_F(EventMatcherTest, ConcurrentMatchesAndUpdates) {
  for (int i = 0; i < 50; ++i) {
    index_.Upsert(Sub("sub_" + std::to_string(100 + i), "/", "alice"));
  }
  const EventMatcher matcher(&index_, directory_.get());
  const EventRecord event = Event("/a/b", "/c", {{true, "staff", "view"}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int n = 0; n < 200; ++n) {
        EXPECT_EQ(matcher.ForEachDelivery(event, [](const Recipient&) {}), 50u);
      }
    });
  }
  for (int n = 0; n < 200; ++n) {
    index_.Upsert(Sub("sub_x" + std::to_string(n), "/elsewhere", "bob"));
    ASSERT_TRUE(directory_->SetGroups("bob", {"g" + std::to_string(n)}).ok());
  }
  for (std::thread& thread : threads) thread.join();
}

struct SitesCase {
  std::string site, active_site;
  std::vector<std::string> want;
};

TEST(CandidateSitesTest, BothHierarchiesMostSpecificFirst) {
  const std::vector<SitesCase> cases = {
      {"/", "", {"/"}},
      {"/a", "", {"/a", "/"}},
      {"/a", "/a", {"/a", "/"}},
      {"/a/b", "/a", {"/a/b", "/a", "/"}},
      {"/a", "/a/b", {"/a", "/", "/a/b"}},
      {"/x", "/y/z", {"/x", "/", "/y/z", "/y"}},
      {"/NOAA/NWS/OKC",
       "/NOAA/NWS/OUN",
       {"/NOAA/NWS/OKC", "/NOAA/NWS", "/NOAA", "/", "/NOAA/NWS/OUN"}},
      {"/NOAA/NWS/OUN", "/", {"/NOAA/NWS/OUN", "/NOAA/NWS", "/NOAA", "/"}},
  };
  for (const SitesCase& c : cases) {
    EXPECT_THAT(CandidateSites(c.site, c.active_site), ElementsAreArray(c.want))
        << c.site << " + " << c.active_site;
  }
}

TEST(CandidateSitesTest, WithoutActiveSiteIsSiteAncestors) {
  for (const char* site :
       {"/", "/a", "/a/b", "/NOAA/NWS/OUN", "/a.b/c~d/e-f"}) {
    EXPECT_EQ(CandidateSites(site, ""), SiteAncestors(site)) << site;
  }
}

// Subscriptions made through the registry reach the matcher's index.
class EventMatcherRegistryTest : public RegistryFixture {};

TEST_F(EventMatcherRegistryTest, SeedExampleThroughTheRegistry) {
  ASSERT_TRUE(directory_->SetGroups("manager", {"oun-managers"}).ok());
  SubscriptionRecord president = Draft("/", "https://example.com/president");
  president.set_owner("president");
  SubscriptionRecord department = Draft("/NOAA", "https://example.com/dept");
  department.set_owner("head");
  SubscriptionRecord office = Draft("/NOAA/NWS/OUN", "https://example.com/oun");
  office.set_owner("manager");
  SubscriptionRecord other = Draft("/NOAA/NWS/OKC", "https://example.com/okc");
  other.set_owner("okc-manager");
  const std::string president_id = MustCreate(president).id();
  const std::string department_id = MustCreate(department).id();
  const std::string office_id = MustCreate(office).id();
  MustCreate(other);

  const EventMatcher matcher(&registry_->index(), directory_.get());
  const EventRecord event = Event("/NOAA/NWS/OUN", "",
                                  {{false, "okc-manager", "view"},
                                   {true, "oun-managers", "view"},
                                   {true, "head", "view"},
                                   {true, "president", "*"}});
  std::vector<std::string> ids;
  EXPECT_EQ(matcher.ForEachDelivery(event,
                                    [&](const Recipient& r) {
                                      ids.push_back(r.subscription_id);
                                      EXPECT_EQ(r.dialect, "default");
                                    }),
            3u);
  EXPECT_THAT(ids, ElementsAre(office_id, department_id, president_id));

  ASSERT_TRUE(
      registry_->SetActive(office_id, false, "paused", Scope::All()).ok());
  const std::vector<Candidate> explained = matcher.Explain(event);
  ASSERT_EQ(explained.size(), 3u);
  EXPECT_EQ(Name(explained[0].verdict), Name(kInactive));
  EXPECT_EQ(Name(explained[1].verdict), Name(kDelivered));
  EXPECT_EQ(explained[1].acl_entry_index, 2);
  EXPECT_EQ(matcher.ForEachDelivery(event, [](const Recipient&) {}), 2u);
  EXPECT_THAT(matcher.Explain(Event("/NASA", "", {}, {"group"})), IsEmpty());
}

}  // namespace
}  // namespace webhooks::core
