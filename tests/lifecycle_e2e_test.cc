// Server lifecycle end to end: health and reflection, signals, the data
// directory lock, static subscriptions over restarts, and principal removal.
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::SizeIs;
using Code = absl::StatusCode;

constexpr int kServing = 1;

TEST(ServerE2eTest, HealthIsServing) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  ASSERT_OK_AND_ASSIGN(int health, HealthCheck(server->NewChannel(), ""));
  EXPECT_EQ(health, kServing);
}

// webhookd runs itself again with glibc's huge-page heap turned on (see
// common/huge_pages.h) unless WEBHOOKD_HUGE_PAGES=0; it logs which.
TEST(ServerE2eTest, RunsWithAHugePageHeap) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  if (const char* toggle = std::getenv("WEBHOOKD_HUGE_PAGES");
      toggle != nullptr && std::string_view(toggle) == "0") {
    GTEST_SKIP() << "WEBHOOKD_HUGE_PAGES=0 in the test's environment";
  }
  EXPECT_THAT(server->Log(),
              HasSubstr("heap huge pages on (glibc.malloc.hugetlb=1)"));
  // Still called webhookd (what ps, top and pkill see), not "exe".
  std::ifstream comm(absl::StrCat("/proc/", server->pid(), "/comm"));
  std::string name;
  std::getline(comm, name);
  EXPECT_EQ(name, "webhookd");
}

TEST(ServerE2eTest, HealthNeedsNoToken) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(TokensConfig()));
  absl::StatusOr<int> health = HealthCheck(server->NewChannel(), "");
  ASSERT_OK(health.status());
  EXPECT_EQ(*health, kServing);
}

TEST(ServerE2eTest, ReflectionListsTheServices) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> services,
                       ReflectionListServices(server->NewChannel()));
  for (const char* name :
       {"webhooks.v1.SubscriptionService", "webhooks.v1.PrincipalService",
        "webhooks.v1.DialectService", "webhooks.v1.EventService",
        "webhooks.v1.DeliveryService", "webhooks.v1.ApiKeyService",
        "grpc.health.v1.Health"}) {
    EXPECT_THAT(services, Contains(name));
  }
}

TEST(ServerE2eTest, SigtermAndSigintExitCleanly) {
  for (int signal : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(signal);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                         ServerProcess::Start(""));
    Api api(server->NewChannel());
    ASSERT_OK(api.CreateSubscription(NewSubscription()).status());
    ASSERT_OK_AND_ASSIGN(int code, server->Stop(signal));
    EXPECT_EQ(code, 0);
    // Restarting on the same data works and keeps the data.
    ASSERT_OK(server->Restart());
    Api again(server->NewChannel());
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                         again.ListAllSubscriptions());
    EXPECT_THAT(all, SizeIs(1));
  }
}

TEST(ServerE2eTest, SecondServerOnTheSameDataDirFails) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  Api api(server->NewChannel());
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       api.CreateSubscription(NewSubscription()));
  absl::StatusOr<int> second = server->RunSecondInstance(absl::Seconds(20));
  ASSERT_OK(second.status());
  EXPECT_NE(*second, 0);
  // The first one is unharmed.
  EXPECT_OK(api.GetSubscription(sub.id()).status());
  ASSERT_OK_AND_ASSIGN(int code, server->Terminate());
  EXPECT_EQ(code, 0);
}

TEST(ServerE2eTest, InvalidConfigIsRefused) {
  const std::string kSub =
      "resource_type: \"user\" event_type: \"added\" "
      "target_url: \"https://hooks.example.com/\"";
  const struct {
    std::string config;
    std::string log_part;  // what the server's fatal log line names
  } kCases[] = {
      {"this is not a config", "webhooks.v1.ServerConfig"},
      {"tokens { token: \"short\" principal: \"x\" roles: ADMIN }",
       "tokens[0].token"},
      {"subscriptions { resource_type: \"User\" event_type: \"added\" "
       "target_url: \"https://hooks.example.com/\" }",
       "subscription.resource_type"},
      {"subscriptions { " + kSub + " dialect: \"nosuch\" }",
       "subscription.dialect"},
      {"subscriptions { id: \"a b\" " + kSub + " }", "subscription.id"},
      {"subscriptions { id: \"dup\" " + kSub +
           " } subscriptions { id: "
           "\"dup\" " +
           kSub + " }",
       "subscriptions[1]"},
      {"dialects { name: \"default\" }", "dialects[0]"},
      {"dialects { name: \"z\" http_method: \"GET\" }", "dialect.http_method"},
      {"delivery { sender_threads: -1 }", "sender_threads: must be from 1"},
      {"delivery { sender_threads: 65 }", "sender_threads: must be from 1"},
      {"delivery { max_in_flight: 2 sender_threads: 3 }",
       "sender_threads: must be at most max_in_flight (2)"},
      {"delivery { saturated_write_interval_ms: -2 }",
       "delivery.saturated_write_interval_ms: must be from -1 (off) to 1000 "
       "(got -2)"},
      {"delivery { saturated_write_interval_ms: 1001 }",
       "delivery.saturated_write_interval_ms: must be from -1"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.config);
    // The harness reports the exit and the server's log, which says why.
    EXPECT_THAT(ServerProcess::Start(c.config),
                StatusIs(Code::kFailedPrecondition,
                         testing::AllOf(HasSubstr("exited with code"),
                                        HasSubstr(c.log_part))));
  }
}

// Static subscriptions: `users` keeps its id across edits; `groups` has a
// derived id.
std::string StaticConfig(bool with_users, std::string users_path = "/users") {
  std::string config =
      "subscriptions { site: \"/\" resource_type: \"group\" event_type: \"*\" "
      "target_url: \"https://hooks.example.com/groups\" }\n";
  if (with_users) {
    absl::StrAppend(&config,
                    "subscriptions { id: \"users-hook\" site: \"/NOAA\" "
                    "resource_type: \"user\" event_type: \"added\" "
                    "owner: \"alice\" target_url: \"https://hooks.example.com",
                    users_path, "\" }\n");
  }
  return config;
}

class StaticSubscriptionE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(StaticConfig(true)));
  }

  Api NewApi() { return Api(server_->NewChannel()); }

  std::string GroupsId() {
    v1::ListSubscriptionsRequest request;
    request.set_site("/");
    absl::StatusOr<std::vector<v1::Subscription>> all =
        NewApi().ListAllSubscriptions(request);
    EXPECT_OK(all.status());
    if (!all.ok()) return "";
    for (const v1::Subscription& s : *all) {
      if (s.resource_type() == "group") return s.id();
    }
    ADD_FAILURE() << "no static groups subscription";
    return "";
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(StaticSubscriptionE2eTest, AreListedStaticAndActive) {
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                       NewApi().ListAllSubscriptions());
  ASSERT_THAT(all, SizeIs(2));
  for (const v1::Subscription& s : all) {
    SCOPED_TRACE(s.ShortDebugString());
    EXPECT_TRUE(s.static_());
    EXPECT_TRUE(s.active());
    EXPECT_EQ(s.secret(), "");
    EXPECT_EQ(s.permission(), "view");
    EXPECT_EQ(s.dialect(), "default");
  }
  ASSERT_OK_AND_ASSIGN(v1::Subscription users,
                       NewApi().GetSubscription("users-hook"));
  EXPECT_EQ(users.site(), "/NOAA");
  EXPECT_EQ(users.owner(), "alice");
  EXPECT_THAT(GroupsId(), MatchesRegex("static_[0-9a-f]{16}"));
}

TEST_F(StaticSubscriptionE2eTest, CannotBeUpdatedOrDeleted) {
  Api api = NewApi();
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse before,
                       SnapshotSubscriptions(api));
  v1::Subscription change;
  change.set_id("users-hook");
  change.set_target_url("https://evil.example.com/");
  EXPECT_THAT(api.UpdateSubscription(change, {"target_url"}),
              StatusIs(Code::kFailedPrecondition, _));
  EXPECT_THAT(api.DeleteSubscription("users-hook"),
              StatusIs(Code::kFailedPrecondition, _));
  EXPECT_THAT(api.DeleteSubscription(GroupsId()),
              StatusIs(Code::kFailedPrecondition, _));
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                       SnapshotSubscriptions(api));
  EXPECT_THAT(after, EqualsProto(before));
}

TEST_F(StaticSubscriptionE2eTest, FollowTheConfigOverRestarts) {
  const std::string groups_id = GroupsId();
  ASSERT_OK_AND_ASSIGN(v1::Subscription dynamic,
                       NewApi().CreateSubscription(NewSubscription("/d")));

  // Removed from the config: kept, inactive, with a reason.
  ASSERT_OK(server_->RewriteConfig(StaticConfig(false)));
  ASSERT_OK(server_->Restart());
  ASSERT_OK_AND_ASSIGN(v1::Subscription users,
                       NewApi().GetSubscription("users-hook"));
  EXPECT_FALSE(users.active());
  EXPECT_EQ(users.status_message(), "Removed from the configuration file.");
  ASSERT_OK_AND_ASSIGN(v1::Subscription groups,
                       NewApi().GetSubscription(groups_id));
  EXPECT_TRUE(groups.active());
  EXPECT_TRUE(groups.static_());
  ASSERT_OK_AND_ASSIGN(v1::Subscription still_dynamic,
                       NewApi().GetSubscription(dynamic.id()));
  EXPECT_TRUE(still_dynamic.active());
  EXPECT_FALSE(still_dynamic.static_());

  // Put back, with an edited URL: the same id, active again, edited.
  ASSERT_OK(server_->RewriteConfig(StaticConfig(true, "/users-v2")));
  ASSERT_OK(server_->Restart());
  ASSERT_OK_AND_ASSIGN(users, NewApi().GetSubscription("users-hook"));
  EXPECT_TRUE(users.active());
  EXPECT_TRUE(users.static_());
  EXPECT_EQ(users.status_message(), "");
  EXPECT_EQ(users.target_url(), "https://hooks.example.com/users-v2");
  EXPECT_EQ(GroupsId(), groups_id);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                       NewApi().ListAllSubscriptions());
  EXPECT_THAT(all, SizeIs(3));
}

TEST(PrincipalE2eTest, GroupsAreDedupedAndCounted) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  Api api(server->NewChannel());
  EXPECT_THAT(api.GetPrincipal("carol"), StatusIs(Code::kNotFound, _));
  v1::Subscription s = NewSubscription();
  s.set_owner("carol");
  ASSERT_OK(api.CreateSubscription(s).status());
  ASSERT_OK_AND_ASSIGN(v1::Principal p,
                       api.SetPrincipalGroups("carol", {"b", "a", "b", "c"}));
  EXPECT_EQ(p.id(), "carol");
  EXPECT_THAT(p.groups(), ElementsAre("b", "a", "c"));
  EXPECT_GT(p.update_time().seconds(), 1600000000);
  EXPECT_EQ(p.subscription_count(), 1);
  ASSERT_OK_AND_ASSIGN(v1::Principal got, api.GetPrincipal("carol"));
  EXPECT_THAT(got, EqualsProto(p));
  ASSERT_OK_AND_ASSIGN(v1::Subscription second, api.CreateSubscription(s));
  ASSERT_OK_AND_ASSIGN(got, api.GetPrincipal("carol"));
  EXPECT_EQ(got.subscription_count(), 2);
  ASSERT_OK(api.DeleteSubscription(second.id()));
  ASSERT_OK_AND_ASSIGN(got, api.GetPrincipal("carol"));
  EXPECT_EQ(got.subscription_count(), 1);
  ASSERT_OK_AND_ASSIGN(p, api.SetPrincipalGroups("carol", {}));
  EXPECT_THAT(p.groups(), IsEmpty());
  EXPECT_EQ(p.subscription_count(), 1);
  EXPECT_THAT(api.SetPrincipalGroups("", {"g"}),
              StatusIs(Code::kInvalidArgument, HasSubstr("principal_id")));
  EXPECT_THAT(api.SetPrincipalGroups("carol", {"a b"}),
              StatusIs(Code::kInvalidArgument, HasSubstr("groups")));
}

TEST(PrincipalE2eTest, DeletingAPrincipalRemovesItsSubscriptions) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ServerProcess> server,
      ServerProcess::Start(
          "subscriptions { id: \"carol-static\" resource_type: \"user\" "
          "event_type: \"added\" owner: \"carol\" "
          "target_url: \"https://hooks.example.com/carol\" }"));
  Api api(server->NewChannel());
  std::vector<std::string> carols;
  for (const char* site : {"/a", "/b"}) {
    v1::Subscription s = NewSubscription(site);
    s.set_owner("carol");
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api.CreateSubscription(s));
    carols.push_back(sub.id());
  }
  v1::Subscription dans = NewSubscription("/a");
  dans.set_owner("dan");
  ASSERT_OK_AND_ASSIGN(v1::Subscription dan_sub, api.CreateSubscription(dans));
  ASSERT_OK(api.SetPrincipalGroups("carol", {"g1", "g2"}).status());
  ASSERT_OK_AND_ASSIGN(v1::Principal carol, api.GetPrincipal("carol"));
  EXPECT_EQ(carol.subscription_count(), 3);

  ASSERT_OK_AND_ASSIGN(v1::DeletePrincipalResponse response,
                       api.DeletePrincipal("carol"));
  EXPECT_EQ(response.deleted_subscriptions(), 2);
  EXPECT_EQ(response.deactivated_subscriptions(), 1);
  for (const std::string& id : carols) {
    EXPECT_THAT(api.GetSubscription(id), StatusIs(Code::kNotFound, _));
  }
  ASSERT_OK_AND_ASSIGN(v1::Subscription static_sub,
                       api.GetSubscription("carol-static"));
  EXPECT_FALSE(static_sub.active());
  EXPECT_EQ(static_sub.status_message(), "The owning principal was removed.");
  // Its groups are forgotten (it may still be known as the static owner).
  absl::StatusOr<v1::Principal> after = api.GetPrincipal("carol");
  if (after.ok()) {
    EXPECT_THAT(after->groups(), IsEmpty());
  } else {
    EXPECT_THAT(after, StatusIs(Code::kNotFound, _));
  }
  ASSERT_OK_AND_ASSIGN(v1::Subscription dan_after,
                       api.GetSubscription(dan_sub.id()));
  EXPECT_TRUE(dan_after.active());
  EXPECT_THAT(api.DeletePrincipal("nobody"), StatusIs(Code::kNotFound, _));
}

TEST(PrincipalE2eTest, DeactivateOnlyKeepsTheSubscriptions) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  Api api(server->NewChannel());
  std::vector<std::string> ids;
  for (const char* site : {"/a", "/b"}) {
    v1::Subscription s = NewSubscription(site);
    s.set_owner("erin");
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api.CreateSubscription(s));
    ids.push_back(sub.id());
  }
  ASSERT_OK(api.SetPrincipalGroups("erin", {"g"}).status());
  ASSERT_OK_AND_ASSIGN(v1::DeletePrincipalResponse response,
                       api.DeletePrincipal("erin", /*deactivate_only=*/true));
  EXPECT_EQ(response.deactivated_subscriptions(), 2);
  EXPECT_THAT(response.deleted_subscriptions(), AnyOf(0, 2));
  for (const std::string& id : ids) {
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api.GetSubscription(id));
    EXPECT_FALSE(sub.active());
    EXPECT_EQ(sub.status_message(), "The owning principal was removed.");
  }
  ASSERT_OK_AND_ASSIGN(v1::Principal erin, api.GetPrincipal("erin"));
  EXPECT_THAT(erin.groups(), IsEmpty());
  EXPECT_EQ(erin.subscription_count(), 2);
}

}  // namespace
}  // namespace webhooks::e2e
