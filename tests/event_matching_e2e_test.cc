// Matching end to end: site hierarchy (the seed's example), types and
// wildcards, ACLs with groups and system.Everyone, duplicate URLs and
// inactive subscriptions, through MatchSubscriptions, Prepare and Commit.
// Every checked event is also committed, and at the end the pending
// deliveries on disk must be exactly the dry runs' DELIVERED verdicts.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/delivery_reader.h"
#include "tests/event_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAreArray;
using Match = v1::SubscriptionMatch;
// Subscription id -> "DELIVERED", "DELIVERED@<acl entry>" (owned),
// "DENIED_BY_ACL@<acl entry>", "NO_GRANT", "INACTIVE", "DUPLICATE_URL".
using Summary = std::map<std::string, std::string>;

Summary Summarize(const v1::MatchSubscriptionsResponse& response) {
  Summary summary;
  for (const Match& m : response.matches()) {
    std::string text = Match::Verdict_Name(m.verdict());
    const bool owned_delivery =
        m.verdict() == Match::DELIVERED && !m.subscription().owner().empty();
    if (owned_delivery || m.verdict() == Match::DENIED_BY_ACL) {
      absl::StrAppend(&text, "@", m.acl_entry_index());
    }
    summary[m.subscription().id()] = text;
  }
  return summary;
}

const Match* Find(const v1::MatchSubscriptionsResponse& response,
                  const std::string& id) {
  for (const Match& m : response.matches()) {
    if (m.subscription().id() == id) return &m;
  }
  return nullptr;
}

class EventMatchingE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(TokensConfig()));
    admin_.emplace(server_->NewChannel(), kAdminToken);
    publisher_.emplace(admin_->WithToken(kPublisherToken));
  }

  const Api& pub() const { return *publisher_; }

  // Creates a subscription (its own URL unless `path` is given); its id.
  std::string Sub(const std::string& site, const std::string& resource_type,
                  const std::string& event_type, const std::string& owner = "",
                  const std::string& permission = "", std::string path = "") {
    if (path.empty()) path = absl::StrCat("/hook/", ++subscriptions_);
    v1::Subscription s = NewSubscription(site, resource_type, event_type, path);
    s.set_owner(owner);
    s.set_permission(permission);
    absl::StatusOr<v1::Subscription> created = admin_->CreateSubscription(s);
    EXPECT_OK(created.status());
    return created.ok() ? created->id() : "";
  }
  std::string Sub(const std::string& site) {
    return Sub(site, "user", "added");
  }

  // Dry-runs `event` under a fresh id, then prepares and commits it in a
  // transaction of its own: Prepare's matched_subscriptions and Commit's
  // deliveries_created must equal the dry run's DELIVERED count. Remembers
  // the deliveries for VerifyStoredDeliveries().
  v1::MatchSubscriptionsResponse Check(v1::Event event) {
    const int n = ++checks_;
    event.set_id(absl::StrCat("ev-", n));
    absl::StatusOr<v1::MatchSubscriptionsResponse> match =
        MatchEvent(pub(), event);
    EXPECT_OK(match.status());
    if (!match.ok()) return {};
    std::set<std::string> listed;
    for (const Match& m : match->matches()) {
      EXPECT_TRUE(listed.insert(m.subscription().id()).second)
          << "listed twice: " << m.ShortDebugString();
      EXPECT_NE(m.verdict(), Match::VERDICT_UNSPECIFIED);
      EXPECT_FALSE(m.reason().empty()) << m.ShortDebugString();
    }
    const std::set<std::string> delivered = DeliveredIds(*match);
    const auto count = static_cast<int64_t>(delivered.size());

    const std::string tx = absl::StrCat("tx-", n);
    absl::StatusOr<v1::PrepareResponse> prepared =
        PrepareEvents(pub(), tx, {event});
    EXPECT_OK(prepared.status());
    if (prepared.ok()) {
      EXPECT_EQ(prepared->event_results(0).matched_subscriptions(), count)
          << "Prepare disagrees with MatchSubscriptions";
    }
    absl::StatusOr<v1::CommitResponse> committed = CommitTransaction(pub(), tx);
    EXPECT_OK(committed.status());
    if (committed.ok()) {
      EXPECT_EQ(committed->deliveries_created(), count)
          << "Commit disagrees with MatchSubscriptions";
    }
    for (const std::string& id : delivered)
      expected_.emplace_back(event.id(), id);
    return *match;
  }

  // Stops the server; its pending deliveries are exactly those of Check().
  void VerifyStoredDeliveries() {
    // Close our connections first: with one open, the server's graceful
    // shutdown waits out a 5 s timeout.
    admin_.reset();
    publisher_.reset();
    ASSERT_OK_AND_ASSIGN(int exit_code, server_->Terminate());
    EXPECT_EQ(exit_code, 0);
    ASSERT_OK_AND_ASSIGN(std::vector<internal::DeliveryRecord> pending,
                         ReadPendingDeliveries(server_->data_dir()));
    EXPECT_THAT(EventSubscriptionPairs(pending),
                UnorderedElementsAreArray(expected_));
  }

  std::unique_ptr<ServerProcess> server_;
  std::optional<Api> admin_;
  std::optional<Api> publisher_;
  int subscriptions_ = 0;
  int checks_ = 0;
  std::vector<EventSubscription> expected_;
};

v1::Event At(const std::string& site, const std::string& active_site = "") {
  v1::Event event = NewEvent("", site);
  event.set_active_site(active_site);
  return event;
}

v1::Event WithAcl(std::vector<v1::AclEntry> acl) {
  v1::Event event = NewEvent("", "/NOAA");
  for (v1::AclEntry& entry : acl) *event.add_acl() = std::move(entry);
  return event;
}

TEST_F(EventMatchingE2eTest, SiteHierarchyOfTheSeedExample) {
  // The president at "/", the department head at "/NOAA", the OUN office
  // manager at "/NOAA/NWS/OUN".
  const std::string root = Sub("/");
  const std::string noaa = Sub("/NOAA");
  const std::string oun = Sub("/NOAA/NWS/OUN");
  const Summary three = {
      {root, "DELIVERED"}, {noaa, "DELIVERED"}, {oun, "DELIVERED"}};

  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OUN"))), three);
  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OUN/desk-1/"))), three);
  // A user created in OKC from the OUN office's site: the resource's
  // ancestors and the active site's ancestors, each subscription once.
  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OKC", "/NOAA/NWS/OUN"))), three);
  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OUN", "/NOAA"))), three);
  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OKC"))),
            (Summary{{root, "DELIVERED"}, {noaa, "DELIVERED"}}));
  EXPECT_EQ(Summarize(Check(At("/Other"))), (Summary{{root, "DELIVERED"}}));
  EXPECT_EQ(Summarize(Check(At("/", "/Other"))),
            (Summary{{root, "DELIVERED"}}));

  // A sibling office is not a candidate of OUN's events.
  const std::string okc = Sub("/NOAA/NWS/OKC");
  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OUN"))), three);
  Summary four = three;
  four[okc] = "DELIVERED";
  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OKC", "/NOAA/NWS/OUN"))), four);
  EXPECT_EQ(Summarize(Check(At("/NOAA/NWS/OUN", "/NOAA/NWS/OKC"))), four);
  VerifyStoredDeliveries();
}

TEST_F(EventMatchingE2eTest, TypeListsAndWildcards) {
  const std::string user_added = Sub("/", "user", "added");
  const std::string any_added = Sub("/", "*", "added");
  const std::string user_any = Sub("/", "user", "*");
  const std::string any_any = Sub("/NOAA", "*", "*");
  const std::string principal_object = Sub("/", "principal", "object_event");
  const std::string employee_added = Sub("/NOAA", "employee", "added");
  const std::string group_added = Sub("/", "group", "added");
  const std::string user_removed = Sub("/", "user", "removed");

  v1::Event employee = NewEvent("", "/NOAA", {"employee", "user", "principal"},
                                {"added", "object_event"});
  EXPECT_EQ(Summarize(Check(employee)),
            (Summary{{user_added, "DELIVERED"},
                     {any_added, "DELIVERED"},
                     {user_any, "DELIVERED"},
                     {any_any, "DELIVERED"},
                     {principal_object, "DELIVERED"},
                     {employee_added, "DELIVERED"}}));
  EXPECT_EQ(Summarize(Check(NewEvent("", "/NOAA", {"user"}, {"removed"}))),
            (Summary{{user_any, "DELIVERED"},
                     {any_any, "DELIVERED"},
                     {user_removed, "DELIVERED"}}));
  EXPECT_EQ(Summarize(Check(NewEvent("", "/", {"group"}, {"removed"}))),
            Summary{});
  EXPECT_EQ(Summarize(Check(NewEvent("", "/", {"group"}, {"added"}))),
            (Summary{{any_added, "DELIVERED"}, {group_added, "DELIVERED"}}));
  VerifyStoredDeliveries();
}

TEST_F(EventMatchingE2eTest, AclsWithGroupsEveryoneAndFirstEntryDeciding) {
  ASSERT_OK(admin_->SetPrincipalGroups("alice", {"staff"}).status());
  ASSERT_OK(admin_->SetPrincipalGroups("bob", {"ops"}).status());
  const std::string alice = Sub("/", "user", "added", "alice");
  const std::string bob = Sub("/", "user", "added", "bob");
  const std::string carol = Sub("/", "user", "added", "carol", "edit");
  const std::string open = Sub("/");
  const auto summary = [&](const char* a, const char* b, const char* c) {
    return Summary{{alice, a}, {bob, b}, {carol, c}, {open, "DELIVERED"}};
  };

  EXPECT_EQ(Summarize(Check(WithAcl({}))),
            summary("NO_GRANT", "NO_GRANT", "NO_GRANT"));
  EXPECT_EQ(Summarize(Check(WithAcl({Allow("staff")}))),
            summary("DELIVERED@0", "NO_GRANT", "NO_GRANT"));
  EXPECT_EQ(Summarize(Check(WithAcl({Allow("bob"), Allow("carol")}))),
            summary("NO_GRANT", "DELIVERED@0", "NO_GRANT"));
  // Deny before allow: the first applicable entry decides.
  v1::MatchSubscriptionsResponse denied =
      Check(WithAcl({Deny("staff"), Allow("system.Everyone")}));
  EXPECT_EQ(Summarize(denied),
            summary("DENIED_BY_ACL@0", "DELIVERED@1", "NO_GRANT"));
  ASSERT_NE(Find(denied, alice), nullptr);
  EXPECT_THAT(Find(denied, alice)->reason(), HasSubstr("acl[0]"));
  ASSERT_NE(Find(denied, carol), nullptr);
  EXPECT_THAT(Find(denied, carol)->reason(), HasSubstr("carol"));
  EXPECT_EQ(Summarize(Check(WithAcl({Allow("alice"), Deny("staff")}))),
            summary("DELIVERED@0", "NO_GRANT", "NO_GRANT"));
  // Entries for another permission do not apply.
  EXPECT_EQ(
      Summarize(Check(WithAcl({Deny("alice", "edit"), Allow("alice", "view"),
                               Allow("carol", "view")}))),
      summary("DELIVERED@1", "NO_GRANT", "NO_GRANT"));
  EXPECT_EQ(Summarize(Check(WithAcl({Allow("system.Everyone", "*")}))),
            summary("DELIVERED@0", "DELIVERED@0", "DELIVERED@0"));
  EXPECT_EQ(Summarize(Check(
                WithAcl({Deny("ops", "*"), Allow("system.Everyone", "view"),
                         Allow("carol", "edit")}))),
            summary("DELIVERED@1", "DENIED_BY_ACL@0", "DELIVERED@2"));

  // Group membership is read at match time.
  ASSERT_OK(admin_->SetPrincipalGroups("bob", {"ops", "staff"}).status());
  ASSERT_OK(admin_->SetPrincipalGroups("alice", {}).status());
  EXPECT_EQ(Summarize(Check(WithAcl({Allow("staff")}))),
            summary("NO_GRANT", "DELIVERED@0", "NO_GRANT"));
  VerifyStoredDeliveries();
}

TEST_F(EventMatchingE2eTest, OneDeliveryPerTargetUrlAndDialect) {
  v1::Dialect zapier;
  zapier.set_name("zapier");
  ASSERT_OK(admin_->CreateDialect(zapier).status());
  const std::string a = Sub("/", "user", "added", "", "", "/same");
  const std::string b = Sub("/NOAA", "user", "added", "", "", "/same");
  const std::string c = Sub("/NOAA", "*", "*", "", "", "/same");

  v1::MatchSubscriptionsResponse m = Check(At("/NOAA/NWS"));
  EXPECT_THAT(DeliveredIds(m), SizeIs(1));
  int duplicates = 0;
  for (const Match& match : m.matches()) {
    if (match.verdict() != Match::DUPLICATE_URL) continue;
    ++duplicates;
    EXPECT_THAT(match.reason(), HasSubstr(*DeliveredIds(m).begin()));
  }
  EXPECT_EQ(duplicates, 2);

  // The same URL (normalized) with another dialect is another delivery.
  v1::Subscription other = NewSubscription("/", "user", "added", "/same");
  other.set_target_url("https://HOOKS.Example.com/same");
  ASSERT_OK_AND_ASSIGN(v1::Subscription same_url,
                       admin_->CreateSubscription(other));
  other.set_dialect("zapier");
  ASSERT_OK_AND_ASSIGN(v1::Subscription zapier_sub,
                       admin_->CreateSubscription(other));
  m = Check(At("/NOAA/NWS"));
  EXPECT_THAT(DeliveredIds(m), SizeIs(2));
  EXPECT_EQ(Summarize(m)[zapier_sub.id()], "DELIVERED");
  EXPECT_EQ(Summarize(m).size(), 5u);

  // Only allowed subscriptions count: a denied one does not take the URL.
  const std::string alice = Sub("/", "user", "added", "alice", "", "/shared");
  const std::string bob = Sub("/", "user", "added", "bob", "", "/shared");
  v1::Event for_bob = WithAcl({Deny("alice"), Allow("bob")});
  EXPECT_EQ(Summarize(Check(for_bob))[alice], "DENIED_BY_ACL@0");
  v1::MatchSubscriptionsResponse both =
      Check(WithAcl({Allow("system.Everyone")}));
  EXPECT_EQ(Summarize(both)[alice] == "DUPLICATE_URL",
            Summarize(both)[bob] == "DELIVERED@0");
  VerifyStoredDeliveries();
}

TEST_F(EventMatchingE2eTest, InactiveSubscriptionsAreListedButNotDelivered) {
  const std::string on = Sub("/");
  const std::string off = Sub("/NOAA");
  const std::string off_same_url = Sub("/NOAA", "user", "added", "", "",
                                       "/hook/1");  // on's URL
  ASSERT_OK(admin_->DeactivateSubscription(off, "paused").status());
  ASSERT_OK(admin_->DeactivateSubscription(off_same_url).status());
  EXPECT_EQ(
      Summarize(Check(At("/NOAA"))),
      (Summary{
          {on, "DELIVERED"}, {off, "INACTIVE"}, {off_same_url, "INACTIVE"}}));
  ASSERT_OK(admin_->ActivateSubscription(off).status());
  EXPECT_EQ(
      Summarize(Check(At("/NOAA"))),
      (Summary{
          {on, "DELIVERED"}, {off, "DELIVERED"}, {off_same_url, "INACTIVE"}}));
  VerifyStoredDeliveries();
}

TEST_F(EventMatchingE2eTest, DryRunStoresNothing) {
  ASSERT_OK(admin_->SetPrincipalGroups("alice", {"staff"}).status());
  Sub("/");
  Sub("/NOAA", "user", "added", "alice");
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse before,
                       SnapshotSubscriptions(*admin_));
  for (int i = 0; i < 5; ++i) {
    v1::Event event = WithAcl({Allow("staff"), Deny("bob")});
    event.set_id(absl::StrCat("dry-", i));
    ASSERT_OK_AND_ASSIGN(v1::MatchSubscriptionsResponse m,
                         MatchEvent(pub(), event));
    EXPECT_THAT(DeliveredIds(m), SizeIs(2));
  }
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                       SnapshotSubscriptions(*admin_));
  EXPECT_THAT(after, EqualsProto(before));
  VerifyStoredDeliveries();  // none
}

}  // namespace
}  // namespace webhooks::e2e
