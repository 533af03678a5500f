#include "core/subscription_registry.h"

#include <functional>
#include <set>

#include "absl/strings/match.h"
#include "core/registry_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;

class SubscriptionRegistryTest : public RegistryFixture {
 protected:
  std::set<std::string> MatchIds(const std::string& site,
                                 const std::string& resource_type = "user",
                                 const std::string& event_type = "added") {
    std::set<std::string> ids;
    registry_->index().Match(
        MatchQuery{{site}, {resource_type}, {event_type}},
        [&](const SubscriptionView& s) { ids.insert(std::string(s.id)); });
    return ids;
  }

  std::vector<std::string> ListIds(ListQuery query,
                                   const Scope& scope = Scope::All()) {
    std::vector<std::string> ids;
    while (true) {
      absl::StatusOr<SubscriptionPage> page = registry_->List(query, scope);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return ids;
      for (const auto& s : page->subscriptions) ids.push_back(s.id());
      if (page->next_page_token.empty()) return ids;
      query.page_token = page->next_page_token;
    }
  }
};

TEST_F(SubscriptionRegistryTest, CreateFillsDefaults) {
  SubscriptionRecord created = MustCreate(Draft("//NOAA//NWS/"));
  EXPECT_TRUE(absl::StartsWith(created.id(), "sub_"));
  EXPECT_EQ(created.id().size(), 30u);
  EXPECT_EQ(created.site(), "/NOAA/NWS");
  EXPECT_EQ(created.permission(), "view");
  EXPECT_EQ(created.dialect(), "default");
  EXPECT_TRUE(created.active());
  EXPECT_FALSE(created.is_static());
  EXPECT_TRUE(absl::StartsWith(created.secret(), "whsec_"));
  EXPECT_EQ(created.create_time_micros(), absl::ToUnixMicros(clock_.Now()));
  EXPECT_EQ(MatchIds("/NOAA/NWS"), std::set<std::string>{created.id()});
}

struct BadDraft {
  std::string name;
  std::function<void(SubscriptionRecord&)> mutate;
  absl::StatusCode code;
  std::string field;
};

class BadDraftTest : public SubscriptionRegistryTest,
                     public ::testing::WithParamInterface<BadDraft> {};

TEST_P(BadDraftTest, IsRejectedAndStoresNothing) {
  SubscriptionRecord draft = Draft();
  GetParam().mutate(draft);
  const int64_t writes = store_.write_count();
  absl::Status status = registry_->Create(draft, Scope::All()).status();
  EXPECT_EQ(status.code(), GetParam().code) << status;
  EXPECT_THAT(status.message(), HasSubstr(GetParam().field));
  EXPECT_EQ(store_.write_count(), writes);
  EXPECT_EQ(registry_->index().size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadDraftTest,
    ::testing::Values(
        BadDraft{"RelativeSite", [](auto& d) { d.set_site("NOAA"); },
                 absl::StatusCode::kInvalidArgument, "subscription.site"},
        BadDraft{"DotDotSite", [](auto& d) { d.set_site("/a/../b"); },
                 absl::StatusCode::kInvalidArgument, "subscription.site"},
        BadDraft{"MissingResourceType", [](auto& d) { d.set_resource_type(""); },
                 absl::StatusCode::kInvalidArgument,
                 "subscription.resource_type"},
        BadDraft{"UppercaseEventType", [](auto& d) { d.set_event_type("Added"); },
                 absl::StatusCode::kInvalidArgument, "subscription.event_type"},
        BadDraft{"HttpUrl",
                 [](auto& d) { d.set_target_url("http://example.com/"); },
                 absl::StatusCode::kInvalidArgument, "subscription.target_url"},
        BadDraft{"CredentialsInUrl",
                 [](auto& d) { d.set_target_url("https://u:p@example.com/"); },
                 absl::StatusCode::kInvalidArgument, "subscription.target_url"},
        BadDraft{"OwnerWithSpace", [](auto& d) { d.set_owner("a b"); },
                 absl::StatusCode::kInvalidArgument, "subscription.owner"},
        BadDraft{"BadPermission", [](auto& d) { d.set_permission("View!"); },
                 absl::StatusCode::kInvalidArgument, "subscription.permission"},
        BadDraft{"UnknownDialect", [](auto& d) { d.set_dialect("zapier"); },
                 absl::StatusCode::kFailedPrecondition,
                 "subscription.dialect"}),
    [](const auto& p) { return p.param.name; });

TEST_F(SubscriptionRegistryTest, HttpAllowedWithDevelopmentFlag) {
  options_.allow_http_targets = true;
  Reopen();
  SubscriptionRecord created = MustCreate(Draft("/", "HTTP://Example.com:80"));
  EXPECT_EQ(created.target_url(), "http://example.com/");
}

TEST_F(SubscriptionRegistryTest, ScopedCallerOwnsWhatItCreates) {
  SubscriptionRecord mine = MustCreate(Draft(), Scope::OwnedBy("alice"));
  EXPECT_EQ(mine.owner(), "alice");
  SubscriptionRecord other = Draft();
  other.set_owner("bob");
  EXPECT_EQ(registry_->Create(other, Scope::OwnedBy("alice")).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Another principal's subscription does not exist for a scoped caller.
  EXPECT_EQ(registry_->Get(mine.id(), Scope::OwnedBy("bob")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->Delete(mine.id(), Scope::OwnedBy("bob")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->SetActive(mine.id(), false, "", Scope::OwnedBy("bob"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->RotateSecret(mine.id(), Scope::OwnedBy("bob"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(ListIds({}, Scope::OwnedBy("bob")).empty());
  EXPECT_EQ(ListIds({}, Scope::OwnedBy("alice")),
            std::vector<std::string>{mine.id()});
  ListQuery other_owner;
  other_owner.owner = "alice";
  EXPECT_TRUE(ListIds(other_owner, Scope::OwnedBy("bob")).empty());
  // Handing the subscription to someone else is not allowed either.
  SubscriptionRecord change;
  change.set_id(mine.id());
  change.set_owner("bob");
  EXPECT_EQ(registry_->Update(change, {"owner"}, Scope::OwnedBy("alice"))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(SubscriptionRegistryTest, GetRejectsMalformedAndUnknownIds) {
  EXPECT_EQ(registry_->Get("", Scope::All()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Get("sub_ bad", Scope::All()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Get("sub_unknown", Scope::All()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SubscriptionRegistryTest, ListFiltersAndPages) {
  std::vector<std::string> noaa, nws, root;
  for (int i = 0; i < 12; ++i) noaa.push_back(MustCreate(Draft("/NOAA")).id());
  for (int i = 0; i < 5; ++i) nws.push_back(MustCreate(Draft("/NOAA/NWS")).id());
  for (int i = 0; i < 3; ++i) root.push_back(MustCreate(Draft("/")).id());
  MustCreate(Draft("/NOAAX"));
  ASSERT_TRUE(registry_->SetActive(noaa[0], false, "", Scope::All()).ok());

  ListQuery exact;
  exact.site = "/NOAA";
  exact.page_size = 5;
  EXPECT_EQ(ListIds(exact), noaa);  // ids sort by creation time
  ListQuery subtree = exact;
  subtree.include_descendants = true;
  std::vector<std::string> expected = noaa;
  expected.insert(expected.end(), nws.begin(), nws.end());
  EXPECT_EQ(ListIds(subtree), expected);
  ListQuery everything;
  everything.page_size = 7;
  EXPECT_EQ(ListIds(everything).size(), 21u);
  ListQuery inactive;
  inactive.active = ListQuery::Active::kInactiveOnly;
  EXPECT_EQ(ListIds(inactive), std::vector<std::string>{noaa[0]});
  ListQuery active = subtree;
  active.active = ListQuery::Active::kActiveOnly;
  EXPECT_EQ(ListIds(active).size(), 16u);

  absl::StatusOr<SubscriptionPage> first = registry_->List(exact, Scope::All());
  ASSERT_TRUE(first.ok());
  ListQuery changed = subtree;
  changed.page_token = first->next_page_token;
  absl::Status reused = registry_->List(changed, Scope::All()).status();
  EXPECT_EQ(reused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reused.message(), HasSubstr("page_token"));
  ListQuery negative;
  negative.page_size = -1;
  EXPECT_EQ(registry_->List(negative, Scope::All()).status().code(),
            absl::StatusCode::kInvalidArgument);
  ListQuery bad_site;
  bad_site.site = "relative";
  EXPECT_EQ(registry_->List(bad_site, Scope::All()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SubscriptionRegistryTest, ListByOwner) {
  SubscriptionRecord draft = Draft("/z");
  draft.set_owner("alice");
  std::string a1 = MustCreate(draft).id();
  draft.set_site("/a");
  std::string a2 = MustCreate(draft).id();
  MustCreate(Draft("/a"));
  ListQuery by_owner;
  by_owner.owner = "alice";
  by_owner.page_size = 1;
  EXPECT_EQ(ListIds(by_owner), (std::vector<std::string>{a1, a2}));
}

TEST_F(SubscriptionRegistryTest, UpdateAppliesMaskAndMovesIndex) {
  SubscriptionRecord created = MustCreate(Draft("/NOAA"));
  clock_.Advance(absl::Seconds(5));
  SubscriptionRecord change;
  change.set_id(created.id());
  change.set_site("/NOAA/NWS");
  change.set_target_url("https://other.example.com/x");
  absl::StatusOr<SubscriptionRecord> updated =
      registry_->Update(change, {"site"}, Scope::All());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->site(), "/NOAA/NWS");
  EXPECT_EQ(updated->target_url(), "https://example.com/hook");
  EXPECT_EQ(updated->secret(), created.secret());
  EXPECT_GT(updated->update_time_micros(), created.update_time_micros());
  EXPECT_TRUE(MatchIds("/NOAA").empty());
  EXPECT_EQ(MatchIds("/NOAA/NWS").size(), 1u);
  ListQuery old_site;
  old_site.site = "/NOAA";
  EXPECT_TRUE(ListIds(old_site).empty());

  const int64_t writes = store_.write_count();
  EXPECT_EQ(registry_->Update(change, {}, Scope::All()).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status immutable = registry_->Update(change, {"secret"}, Scope::All()).status();
  EXPECT_EQ(immutable.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(immutable.message(), HasSubstr("update_mask"));
  change.set_event_type("NOPE");
  EXPECT_EQ(registry_->Update(change, {"event_type"}, Scope::All()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.write_count(), writes);
}

TEST_F(SubscriptionRegistryTest, DeactivateAndActivate) {
  SubscriptionRecord created = MustCreate(Draft());
  absl::StatusOr<SubscriptionRecord> off =
      registry_->SetActive(created.id(), false, "", Scope::All());
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->active());
  EXPECT_EQ(off->status_message(), "Deactivated through the API.");
  EXPECT_TRUE(MatchIds("/").empty());
  absl::StatusOr<SubscriptionRecord> on =
      registry_->SetActive(created.id(), true, "", Scope::All());
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on->active());
  EXPECT_EQ(on->status_message(), "");
  EXPECT_EQ(MatchIds("/").size(), 1u);
}

TEST_F(SubscriptionRegistryTest, RotateKeepsPreviousSecretForOverlap) {
  SubscriptionRecord created = MustCreate(Draft());
  absl::StatusOr<SubscriptionRecord> rotated =
      registry_->RotateSecret(created.id(), Scope::All());
  ASSERT_TRUE(rotated.ok());
  EXPECT_NE(rotated->secret(), created.secret());
  EXPECT_EQ(rotated->previous_secret(), created.secret());
  EXPECT_EQ(rotated->previous_secret_expire_micros(),
            absl::ToUnixMicros(clock_.Now() + absl::Hours(24)));
}

TEST_F(SubscriptionRegistryTest, DeleteRemovesEverywhere) {
  SubscriptionRecord created = MustCreate(Draft("/a"));
  ASSERT_TRUE(registry_->Delete(created.id(), Scope::All()).ok());
  EXPECT_EQ(registry_->Get(created.id(), Scope::All()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(MatchIds("/a").empty());
  EXPECT_TRUE(ListIds({}).empty());
  EXPECT_EQ(registry_->Delete(created.id(), Scope::All()).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SubscriptionRegistryTest, ReopenRebuildsIndexFromStorage) {
  SubscriptionRecord a = MustCreate(Draft("/NOAA"));
  SubscriptionRecord b = MustCreate(Draft("/NOAA/NWS/OUN"));
  SubscriptionRecord c = MustCreate(Draft("/NOAA/NWS"));
  ASSERT_TRUE(registry_->SetActive(c.id(), false, "", Scope::All()).ok());
  Reopen();
  EXPECT_EQ(registry_->index().size(), 3u);
  std::set<std::string> ids;
  registry_->index().Match(
      MatchQuery{{"/NOAA/NWS/OUN", "/NOAA/NWS", "/NOAA", "/"}, {"user"}, {"added"}},
      [&](const SubscriptionView& s) { ids.insert(std::string(s.id)); });
  EXPECT_EQ(ids, (std::set<std::string>{a.id(), b.id()}));
}

TEST_F(SubscriptionRegistryTest, StorageFailureChangesNothing) {
  SubscriptionRecord created = MustCreate(Draft("/a"));
  store_.FailWrites(absl::UnavailableError("disk gone"));
  EXPECT_EQ(registry_->Create(Draft("/b"), Scope::All()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(registry_->Delete(created.id(), Scope::All()).code(),
            absl::StatusCode::kUnavailable);
  store_.FailWrites(absl::OkStatus());
  EXPECT_EQ(registry_->index().size(), 1u);
  EXPECT_EQ(MatchIds("/a").size(), 1u);
  EXPECT_TRUE(MatchIds("/b").empty());
}

TEST_F(SubscriptionRegistryTest, SubscriptionLimitIsResourceExhausted) {
  options_.limits.max_subscriptions = 2;
  Reopen();
  MustCreate(Draft());
  MustCreate(Draft());
  EXPECT_EQ(registry_->Create(Draft(), Scope::All()).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(SubscriptionRegistryTest, PerOwnerLimitLeavesRoomForOthers) {
  options_.limits.max_subscriptions_per_owner = 2;
  Reopen();
  SubscriptionRecord alice = Draft();
  alice.set_owner("alice");
  MustCreate(alice);
  MustCreate(alice);
  absl::StatusOr<SubscriptionRecord> third = registry_->Create(alice, Scope::All());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(third.status().message()),
              ::testing::HasSubstr("subscription.owner"));
  EXPECT_EQ(registry_->CountOwnedBy("alice"), 2u);
  // Another owner is not held up; moving one to alice is refused too.
  SubscriptionRecord bob = Draft();
  bob.set_owner("bob");
  SubscriptionRecord bobs = MustCreate(bob);
  SubscriptionRecord change;
  change.set_id(bobs.id());
  change.set_owner("alice");
  EXPECT_EQ(registry_->Update(change, {"owner"}, Scope::All()).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(registry_->CountOwnedBy("bob"), 1u);
}

TEST_F(SubscriptionRegistryTest, StaticSyncFollowsTheConfigFile) {
  SubscriptionRecord declared = Draft("/ops");
  ASSERT_TRUE(registry_->SyncStatic({declared}).ok());
  const std::string id = StaticSubscriptionId(
      *registry_->Get(ListIds({})[0], Scope::All()));
  absl::StatusOr<SubscriptionRecord> first = registry_->Get(id, Scope::All());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->is_static());
  EXPECT_TRUE(first->active());
  EXPECT_EQ(registry_->Delete(id, Scope::All()).code(),
            absl::StatusCode::kFailedPrecondition);
  SubscriptionRecord change;
  change.set_id(id);
  EXPECT_EQ(registry_->Update(change, {"site"}, Scope::All()).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Syncing the same file again writes nothing.
  const int64_t writes = store_.write_count();
  ASSERT_TRUE(registry_->SyncStatic({declared}).ok());
  EXPECT_EQ(store_.write_count(), writes);

  // Gone from the file: deactivated, secret kept.
  ASSERT_TRUE(registry_->SyncStatic({}).ok());
  absl::StatusOr<SubscriptionRecord> gone = registry_->Get(id, Scope::All());
  EXPECT_FALSE(gone->active());
  EXPECT_EQ(gone->status_message(), "Removed from the configuration file.");
  // Back in the file: active again, same secret.
  Reopen();
  ASSERT_TRUE(registry_->SyncStatic({declared}).ok());
  absl::StatusOr<SubscriptionRecord> back = registry_->Get(id, Scope::All());
  EXPECT_TRUE(back->active());
  EXPECT_EQ(back->secret(), first->secret());

  // Deactivated through the API: a restart does not reactivate it.
  ASSERT_TRUE(registry_->SetActive(id, false, "paused", Scope::All()).ok());
  ASSERT_TRUE(registry_->SyncStatic({declared}).ok());
  EXPECT_FALSE(registry_->Get(id, Scope::All())->active());
}

TEST_F(SubscriptionRegistryTest, StaticSyncRejectsBadEntriesWholesale) {
  SubscriptionRecord bad = Draft("/ops", "ftp://x/");
  absl::Status status = registry_->SyncStatic({Draft("/a"), bad});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("subscriptions[1]"));
  EXPECT_EQ(registry_->index().size(), 0u);
  SubscriptionRecord dup = Draft("/a");
  EXPECT_EQ(registry_->SyncStatic({dup, dup}).code(),
            absl::StatusCode::kInvalidArgument);
  SubscriptionRecord dynamic = MustCreate(Draft());
  SubscriptionRecord clash = Draft("/c");
  clash.set_id(dynamic.id());
  EXPECT_EQ(registry_->SyncStatic({clash}).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace webhooks::core
