#include "core/subscription_index.h"

#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/site_path.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhooks::core {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

// Names parameterized cases by their `name` field.
struct ParamName {
  template <typename P>
  std::string operator()(const ::testing::TestParamInfo<P>& p) const {
    return p.param.name;
  }
};

IndexEntry Sub(std::string id, std::string site, std::string resource_type,
               std::string event_type, bool active = true) {
  IndexEntry e;
  e.id = std::move(id);
  e.site = std::move(site);
  e.resource_type = std::move(resource_type);
  e.event_type = std::move(event_type);
  e.owner = "owner-" + e.id;
  e.permission = "view";
  e.target_url = "https://hooks.example/" + e.id;
  e.dialect = "default";
  e.active = active;
  return e;
}

std::vector<std::string> MatchIds(const SubscriptionIndex& index,
                                  const MatchQuery& query) {
  std::vector<std::string> ids;
  index.Match(query, [&ids](const SubscriptionView& s) {
    ids.emplace_back(s.id);
  });
  return ids;
}

// Both hierarchies of an event, de-duplicated, as the README describes.
std::vector<std::string> SitesFor(const std::string& resource_site,
                                  const std::string& active_site) {
  std::vector<std::string> sites = SiteAncestors(resource_site);
  for (std::string& s : SiteAncestors(active_site)) sites.push_back(s);
  return sites;
}

// The seed README's example: president at "/", department head at "/NOAA",
// office manager at "/NOAA/NWS/OUN", all on user "added".
class ReadmeHierarchyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_.Upsert(Sub("president", "/", "user", "added"));
    index_.Upsert(Sub("department_head", "/NOAA", "user", "added"));
    index_.Upsert(Sub("office_manager", "/NOAA/NWS/OUN", "user", "added"));
  }
  SubscriptionIndex index_;
};

struct HierarchyCase {
  std::string name;
  std::vector<std::string> sites;
  std::vector<std::string> want;  // in visit order
};

void PrintTo(const HierarchyCase& c, std::ostream* os) { *os << c.name; }

class ReadmeHierarchyCases
    : public ReadmeHierarchyTest,
      public ::testing::WithParamInterface<HierarchyCase> {};

TEST_P(ReadmeHierarchyCases, Matches) {
  MatchQuery query{.sites = GetParam().sites,
                   .resource_types = {"employee", "user", "principal"},
                   .event_types = {"added", "object_event"}};
  EXPECT_THAT(MatchIds(index_, query), ElementsAreArray(GetParam().want));
}

INSTANTIATE_TEST_SUITE_P(
    Readme, ReadmeHierarchyCases,
    ::testing::Values(
        HierarchyCase{"created_in_oun", SiteAncestors("/NOAA/NWS/OUN"),
                      {"office_manager", "department_head", "president"}},
        HierarchyCase{"created_in_nws", SiteAncestors("/NOAA/NWS"),
                      {"department_head", "president"}},
        HierarchyCase{"created_in_okc_while_in_oun",
                      SitesFor("/NOAA/NWS/OKC", "/NOAA/NWS/OUN"),
                      {"department_head", "president", "office_manager"}},
        HierarchyCase{"created_at_root", SiteAncestors("/"), {"president"}},
        HierarchyCase{"other_tree", SiteAncestors("/NASA/JPL"), {"president"}},
        HierarchyCase{"no_sites", {}, {}},
        HierarchyCase{"unknown_site_only", {"/nowhere"}, {}}),
    ParamName());

TEST_F(ReadmeHierarchyTest, OtherTypesDoNotMatch) {
  MatchQuery query{.sites = SiteAncestors("/NOAA/NWS/OUN"),
                   .resource_types = {"document"},
                   .event_types = {"added"}};
  EXPECT_THAT(MatchIds(index_, query), IsEmpty());
  query = {.sites = SiteAncestors("/NOAA/NWS/OUN"),
           .resource_types = {"user"},
           .event_types = {"removed"}};
  EXPECT_THAT(MatchIds(index_, query), IsEmpty());
}

struct TypeCase {
  std::string name;
  std::vector<std::string> resource_types;
  std::vector<std::string> event_types;
  std::vector<std::string> want;
};

void PrintTo(const TypeCase& c, std::ostream* os) { *os << c.name; }

class TypeMatchingTest : public ::testing::TestWithParam<TypeCase> {};

TEST_P(TypeMatchingTest, Matches) {
  SubscriptionIndex index;
  index.Upsert(Sub("a_user_added", "/s", "user", "added"));
  index.Upsert(Sub("b_any_added", "/s", "*", "added"));
  index.Upsert(Sub("c_user_any", "/s", "user", "*"));
  index.Upsert(Sub("d_any_any", "/s", "*", "*"));
  index.Upsert(Sub("e_principal_object_event", "/s", "principal",
                   "object_event"));
  index.Upsert(Sub("f_doc_added", "/s", "document", "added"));
  MatchQuery query{.sites = {"/s"},
                   .resource_types = GetParam().resource_types,
                   .event_types = GetParam().event_types};
  EXPECT_THAT(MatchIds(index, query), ElementsAreArray(GetParam().want));
}

INSTANTIATE_TEST_SUITE_P(
    Types, TypeMatchingTest,
    ::testing::Values(
        TypeCase{"exact", {"user"}, {"added"},
                 {"a_user_added", "b_any_added", "c_user_any", "d_any_any"}},
        TypeCase{"type_list_matches_less_specific",
                 {"employee", "user", "principal"},
                 {"added", "object_event"},
                 {"a_user_added", "b_any_added", "c_user_any", "d_any_any",
                  "e_principal_object_event"}},
        TypeCase{"wildcards_only", {"group"}, {"removed"}, {"d_any_any"}},
        TypeCase{"resource_wildcard", {"group"}, {"added"},
                 {"b_any_added", "d_any_any"}},
        TypeCase{"event_wildcard", {"user"}, {"removed"},
                 {"c_user_any", "d_any_any"}},
        TypeCase{"duplicate_types_visit_once", {"user", "user", "*"},
                 {"added", "added", "*"},
                 {"a_user_added", "b_any_added", "c_user_any", "d_any_any"}},
        TypeCase{"no_types_match_wildcards", {}, {}, {"d_any_any"}}),
    ParamName());

TEST(SubscriptionIndexTest, InactiveOnlyWithIncludeInactive) {
  SubscriptionIndex index;
  index.Upsert(Sub("on", "/", "user", "added"));
  index.Upsert(Sub("off", "/", "user", "added", /*active=*/false));
  MatchQuery query{.sites = {"/"}, .resource_types = {"user"},
                   .event_types = {"added"}};
  EXPECT_THAT(MatchIds(index, query), ElementsAre("on"));
  query.include_inactive = true;
  std::vector<std::pair<std::string, bool>> seen;
  index.Match(query, [&seen](const SubscriptionView& s) {
    seen.emplace_back(std::string(s.id), s.active);
  });
  EXPECT_THAT(seen, ElementsAre(std::pair<std::string, bool>("off", false),
                                std::pair<std::string, bool>("on", true)));
  EXPECT_EQ(index.size(), 2u);
}

TEST(SubscriptionIndexTest, ViewCarriesEveryField) {
  SubscriptionIndex index;
  index.Upsert({.id = "sub_1", .site = "/NOAA", .resource_type = "user",
                .event_type = "added", .owner = "alice",
                .permission = "zope.view", .target_url = "https://a/h",
                .dialect = "standard", .active = true});
  int visits = 0;
  index.Match({.sites = {"/NOAA"}, .resource_types = {"user"},
               .event_types = {"added"}},
              [&visits](const SubscriptionView& s) {
                ++visits;
                EXPECT_EQ(s.id, "sub_1");
                EXPECT_EQ(s.site, "/NOAA");
                EXPECT_EQ(s.resource_type, "user");
                EXPECT_EQ(s.event_type, "added");
                EXPECT_EQ(s.owner, "alice");
                EXPECT_EQ(s.permission, "zope.view");
                EXPECT_EQ(s.target_url, "https://a/h");
                EXPECT_EQ(s.dialect, "standard");
                EXPECT_TRUE(s.active);
              });
  EXPECT_EQ(visits, 1);
}

TEST(SubscriptionIndexTest, UpsertReplacesAndMovesBucket) {
  SubscriptionIndex index;
  index.Upsert(Sub("s1", "/a", "user", "added"));
  index.Upsert(Sub("s2", "/a", "user", "added"));
  IndexEntry moved = Sub("s1", "/b", "group", "removed");
  moved.target_url = "https://elsewhere.example/new";
  moved.owner = "bob";
  index.Upsert(moved);
  EXPECT_EQ(index.size(), 2u);
  MatchQuery old_key{.sites = {"/a"}, .resource_types = {"user"},
                     .event_types = {"added"}};
  EXPECT_THAT(MatchIds(index, old_key), ElementsAre("s2"));
  std::vector<std::string> urls;
  index.Match({.sites = {"/b"}, .resource_types = {"group"},
               .event_types = {"removed"}},
              [&urls](const SubscriptionView& s) {
                urls.emplace_back(absl::StrFormat("%s %s %s", s.id,
                                                  s.target_url, s.owner));
              });
  EXPECT_THAT(urls, ElementsAre("s1 https://elsewhere.example/new bob"));
  // Deactivating in place keeps it out of normal matches.
  moved.active = false;
  index.Upsert(moved);
  EXPECT_THAT(MatchIds(index, {.sites = {"/b"}, .resource_types = {"group"},
                               .event_types = {"removed"}}),
              IsEmpty());
  EXPECT_EQ(index.size(), 2u);
}

TEST(SubscriptionIndexTest, RemoveAndClear) {
  SubscriptionIndex index;
  index.Upsert(Sub("s1", "/", "user", "added"));
  index.Upsert(Sub("s2", "/", "user", "added"));
  index.Upsert(Sub("s3", "/", "user", "added"));
  index.Remove("s2");
  index.Remove("absent");
  MatchQuery query{.sites = {"/"}, .resource_types = {"user"},
                   .event_types = {"added"}};
  EXPECT_THAT(MatchIds(index, query), ElementsAre("s1", "s3"));
  EXPECT_EQ(index.size(), 2u);
  index.Remove("s1");
  index.Remove("s3");
  EXPECT_THAT(MatchIds(index, query), IsEmpty());
  EXPECT_EQ(index.size(), 0u);
  // Slots and strings are reused after removal.
  index.Upsert(Sub("s4", "/", "user", "added"));
  EXPECT_THAT(MatchIds(index, query), ElementsAre("s4"));
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_THAT(MatchIds(index, query), IsEmpty());
  index.Upsert(Sub("s5", "/", "user", "added"));
  EXPECT_THAT(MatchIds(index, query), ElementsAre("s5"));
}

TEST(SubscriptionIndexTest, DuplicateSitesVisitOnceInFirstPositionOrder) {
  SubscriptionIndex index;
  for (const char* id : {"z", "m", "a"}) {
    index.Upsert(Sub(std::string(id) + "_root", "/", "user", "added"));
    index.Upsert(Sub(std::string(id) + "_x", "/x", "user", "*"));
  }
  MatchQuery query{.sites = {"/x", "/", "/x", "/nowhere", "/"},
                   .resource_types = {"user"},
                   .event_types = {"added"}};
  EXPECT_THAT(MatchIds(index, query),
              ElementsAre("a_x", "m_x", "z_x", "a_root", "m_root", "z_root"));
  query.sites = {"/", "/x"};
  EXPECT_THAT(MatchIds(index, query),
              ElementsAre("a_root", "m_root", "z_root", "a_x", "m_x", "z_x"));
}

TEST(SubscriptionIndexTest, OrderIsIndependentOfInsertionOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(absl::StrFormat("sub_%02d", i));
  SubscriptionIndex forward;
  SubscriptionIndex backward;
  for (size_t i = 0; i < ids.size(); ++i) {
    const char* etype = i % 2 ? "added" : "*";
    forward.Upsert(Sub(ids[i], "/", "user", etype));
    backward.Upsert(Sub(ids[ids.size() - 1 - i], "/", "user",
                        (ids.size() - 1 - i) % 2 ? "added" : "*"));
  }
  MatchQuery query{.sites = {"/"}, .resource_types = {"user"},
                   .event_types = {"added"}};
  EXPECT_THAT(MatchIds(forward, query), ElementsAreArray(ids));
  EXPECT_THAT(MatchIds(backward, query), ElementsAreArray(ids));
}

TEST(SubscriptionIndexTest, RepeatedUpsertDoesNotGrowMemory) {
  SubscriptionIndex index;
  for (int i = 0; i < 1000; ++i) {
    index.Upsert(Sub(absl::StrFormat("sub_%d", i), absl::StrFormat("/s%d", i),
                     "user", "added"));
  }
  const size_t settled = index.MemoryUsage();
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 1000; ++i) {
      index.Upsert(Sub(absl::StrFormat("sub_%d", i),
                       absl::StrFormat("/s%d", (i + round) % 1000), "user",
                       round % 2 ? "added" : "removed", round % 3 != 0));
    }
  }
  EXPECT_EQ(index.size(), 1000u);
  EXPECT_LE(index.MemoryUsage(), settled * 11 / 10);
}

TEST(SubscriptionIndexTest, ConcurrentReadersAndWriters) {
  SubscriptionIndex index;
  for (int i = 0; i < 100; ++i) {
    index.Upsert(Sub(absl::StrFormat("stable_%03d", i), "/", "user", "added"));
  }
  const MatchQuery query{.sites = SiteAncestors("/a/b"),
                         .resource_types = {"user"},
                         .event_types = {"added"}};
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        int stable = 0;
        index.Match(query, [&](const SubscriptionView& s) {
          if (s.id.substr(0, 7) == "stable_") ++stable;
          if (s.target_url.empty()) bad.fetch_add(1);
        });
        if (stable != 100) bad.fetch_add(1);
        (void)index.size();
      }
    });
  }
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&index, w] {
      for (int i = 0; i < 5000; ++i) {
        const std::string id = absl::StrFormat("w%d_%d", w, i % 200);
        if (i % 3 == 2) {
          index.Remove(id);
        } else {
          index.Upsert(Sub(id, i % 2 ? "/a" : "/a/b", "user", "added"));
        }
      }
    });
  }
  threads[3].join();
  threads[4].join();
  stop.store(true);
  for (int r = 0; r < 3; ++r) threads[r].join();
  EXPECT_EQ(bad.load(), 0);
  // Replay the writers' last operation on each id to know the final state.
  size_t want = 100;
  for (int w = 0; w < 2; ++w) {
    for (int k = 0; k < 200; ++k) {
      int last = -1;
      for (int i = 0; i < 5000; ++i) {
        if (i % 200 == k) last = i;
      }
      if (last % 3 != 2) ++want;
    }
  }
  EXPECT_EQ(index.size(), want);
  EXPECT_EQ(MatchIds(index, query).size(), want);
}

// Heap bytes malloc reports in use (glibc).
size_t HeapInUse() { return mallinfo2().uordblks; }

TEST(SubscriptionIndexTest, MemoryPerEntryStaysUnder300Bytes) {
  constexpr int kEntries = 100000;
  const char* const kTypes[] = {"user", "group", "document", "folder",
                                "comment"};
  const char* const kEvents[] = {"added", "modified", "removed", "*"};
  const size_t heap_before = HeapInUse();
  SubscriptionIndex index;
  for (int i = 0; i < kEntries; ++i) {
    IndexEntry e;
    e.id = absl::StrFormat("sub_01hq%022d", i);  // 4 + 26 characters
    e.site = absl::StrFormat("/org%d/dept%d/office%d", i % 10, i % 100,
                             i % 1000);
    // ~20 (type, event) pairs per site, ~5 entries per bucket.
    e.resource_type = kTypes[(i / 1000) % 5];
    e.event_type = kEvents[(i / 5000) % 4];
    e.owner = absl::StrFormat("owner-%d", i % 20);
    e.permission = "view";
    e.target_url = absl::StrFormat(
        "https://hooks.customer%04d.example.com/webhooks/receive/%07d",
        i % 5000, i);
    e.dialect = "default";
    index.Upsert(e);
  }
  ASSERT_EQ(index.size(), static_cast<size_t>(kEntries));
  const double per_entry =
      static_cast<double>(index.MemoryUsage()) / index.size();
  const double heap_per_entry =
      static_cast<double>(HeapInUse() - heap_before) / kEntries;
  std::printf("MemoryUsage()/size() = %.1f bytes; malloc delta %.1f bytes\n",
              per_entry, heap_per_entry);
  RecordProperty("bytes_per_entry", static_cast<int>(per_entry));
  EXPECT_LE(per_entry, 300.0);
  EXPECT_LE(heap_per_entry, 300.0);
  // Matching still works at this size.
  MatchQuery query{.sites = SiteAncestors("/org3/dept13/office513"),
                   .resource_types = {"user"},
                   .event_types = {"added"}};
  size_t matched = 0;
  index.Match(query, [&matched](const SubscriptionView& s) {
    EXPECT_EQ(s.site, "/org3/dept13/office513");
    ++matched;
  });
  EXPECT_GT(matched, 0u);
}

}  // namespace
}  // namespace webhooks::core
