// Durability end to end: whatever the API reported as stored survives
// `kill -9` of the server and a restart on the same data directory.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::SizeIs;
using Code = absl::StatusCode;

// What the API says is stored.
struct State {
  v1::ListSubscriptionsResponse subscriptions;
  v1::ListDialectsResponse dialects;
  std::map<std::string, v1::Principal> principals;
};

State ReadState(const Api& api, const std::vector<std::string>& principals) {
  State state;
  absl::StatusOr<v1::ListSubscriptionsResponse> subs =
      SnapshotSubscriptions(api);
  EXPECT_OK(subs.status());
  if (subs.ok()) state.subscriptions = *subs;
  v1::ListDialectsRequest request;
  request.set_page_size(1000);
  absl::StatusOr<v1::ListDialectsResponse> dialects = api.ListDialects(request);
  EXPECT_OK(dialects.status());
  if (dialects.ok()) state.dialects = *dialects;
  for (const std::string& id : principals) {
    absl::StatusOr<v1::Principal> p = api.GetPrincipal(id);
    EXPECT_OK(p.status()) << id;
    if (p.ok()) state.principals[id] = *p;
  }
  return state;
}

void ExpectSameState(const State& before, const State& after) {
  EXPECT_THAT(after.subscriptions, EqualsProto(before.subscriptions));
  EXPECT_THAT(after.dialects, EqualsProto(before.dialects));
  for (const auto& [id, principal] : before.principals) {
    SCOPED_TRACE(id);
    auto it = after.principals.find(id);
    ASSERT_NE(it, after.principals.end());
    EXPECT_THAT(it->second, EqualsProto(principal));
  }
}

class DurabilityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(TokensConfig()));
  }

  Api Admin() { return Api(server_->NewChannel(), kAdminToken); }

  // A mixed workload: 20 creates (ids_), updates, a delete, dialects, groups.
  void Populate() {
    Api api = Admin();
    v1::Dialect zapier;
    zapier.set_name("zapier");
    zapier.set_representation("zapier-webhook-delivery");
    zapier.set_http_method("PUT");
    zapier.set_user_agent("zapier/1");
    (*zapier.mutable_headers())["X-Api-Key"] = "k";
    zapier.set_signing(v1::Dialect::NONE);
    zapier.set_envelope(v1::Dialect::STANDARD_WEBHOOKS_JSON);
    ASSERT_OK(api.CreateDialect(zapier).status());

    const char* kSites[] = {"/", "/NOAA", "/NOAA/NWS", "/NOAA/NWS/OUN",
                            "/Other"};
    const char* kOwners[] = {"", "alice", "bob", "carol"};
    for (int i = 0; i < 20; ++i) {
      v1::Subscription s =
          NewSubscription(kSites[i % 5], i % 3 == 0 ? "*" : "user",
                          i % 2 == 0 ? "added" : "removed",
                          absl::StrCat("/hook/", i, "?q=", i));
      s.set_owner(kOwners[i % 4]);
      if (i % 4 == 1) s.set_permission("edit");
      if (i % 5 == 2) s.set_dialect("zapier");
      ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api.CreateSubscription(s));
      ids_.push_back(sub.id());
    }
    ASSERT_OK(
        api.DeactivateSubscription(ids_[3], "paused for the test").status());
    ASSERT_OK(api.DeactivateSubscription(ids_[4]).status());
    ASSERT_OK(api.ActivateSubscription(ids_[4]).status());
    v1::Subscription change;
    change.set_id(ids_[5]);
    change.set_site("/Moved/Here");
    change.set_target_url("https://moved.example.com/x");
    ASSERT_OK(api.UpdateSubscription(change, {"site", "target_url"}).status());
    ASSERT_OK(api.RotateSubscriptionSecret(ids_[6]).status());
    ASSERT_OK(api.DeleteSubscription(ids_[7]));
    deleted_id_ = ids_[7];
    ASSERT_OK(api.SetPrincipalGroups("alice", {"staff", "ops"}).status());
    ASSERT_OK(api.SetPrincipalGroups("dave", {"g"}).status());
    ASSERT_OK(api.SetPrincipalGroups("dave", {"h", "g"}).status());
    v1::Dialect spare;
    spare.set_name("spare");
    ASSERT_OK(api.CreateDialect(spare).status());
    ASSERT_OK(api.DeleteDialect("spare"));
  }

  std::unique_ptr<ServerProcess> server_;
  std::vector<std::string> ids_;
  std::string deleted_id_;
};

const std::vector<std::string> kPrincipals = {"alice", "bob", "carol", "dave"};

TEST_F(DurabilityE2eTest, EverythingSurvivesKill9) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  State before = ReadState(Admin(), kPrincipals);
  ASSERT_THAT(before.subscriptions.subscriptions(), SizeIs(19));
  ASSERT_EQ(before.dialects.dialects_size(), 2);

  ASSERT_OK(server_->Kill9());
  ASSERT_OK(server_->Restart());
  Api api = Admin();
  State after = ReadState(api, kPrincipals);
  ExpectSameState(before, after);

  // Field by field through Get as well.
  for (const v1::Subscription& s : before.subscriptions.subscriptions()) {
    ASSERT_OK_AND_ASSIGN(v1::Subscription got, api.GetSubscription(s.id()));
    EXPECT_THAT(got, EqualsProto(s));
  }
  ASSERT_OK_AND_ASSIGN(v1::Subscription paused, api.GetSubscription(ids_[3]));
  EXPECT_FALSE(paused.active());
  EXPECT_EQ(paused.status_message(), "paused for the test");
  ASSERT_OK_AND_ASSIGN(v1::Subscription moved, api.GetSubscription(ids_[5]));
  EXPECT_EQ(moved.site(), "/Moved/Here");
  EXPECT_THAT(api.GetSubscription(deleted_id_), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(api.GetDialect("spare"), StatusIs(Code::kNotFound, _));
  ASSERT_OK_AND_ASSIGN(v1::Principal dave, api.GetPrincipal("dave"));
  EXPECT_THAT(dave.groups(), testing::ElementsAre("h", "g"));
}

TEST_F(DurabilityE2eTest, FiltersAndIndexesWorkAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  v1::ListSubscriptionsRequest query;
  query.set_site("/NOAA");
  query.set_include_descendants(true);
  query.set_owner("alice");
  query.set_page_size(2);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> before,
                       Admin().ListAllSubscriptions(query));
  ASSERT_OK(server_->Kill9());
  ASSERT_OK(server_->Restart());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> after,
                       Admin().ListAllSubscriptions(query));
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_THAT(after[i], EqualsProto(before[i]));
  }
  // The in-use dialect is still protected, and new writes work.
  EXPECT_THAT(Admin().DeleteDialect("zapier"),
              StatusIs(Code::kFailedPrecondition, _));
  ASSERT_OK_AND_ASSIGN(v1::Subscription fresh,
                       Admin().CreateSubscription(NewSubscription("/new")));
  for (const std::string& id : ids_) EXPECT_NE(fresh.id(), id);
}

TEST_F(DurabilityE2eTest, RepeatedCrashesLoseNothing) {
  std::vector<std::string> ids;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    Api api = Admin();
    for (int i = 0; i < 5; ++i) {
      ASSERT_OK_AND_ASSIGN(
          v1::Subscription sub,
          api.CreateSubscription(NewSubscription(absl::StrCat("/r", round))));
      ids.push_back(sub.id());
    }
    // No pause: the kill follows the last acknowledged write at once.
    ASSERT_OK(server_->Kill9());
    ASSERT_OK(server_->Restart());
    Api restarted = Admin();
    for (const std::string& id : ids) {
      EXPECT_OK(restarted.GetSubscription(id).status()) << id;
    }
    ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                         restarted.ListAllSubscriptions());
    EXPECT_THAT(all, SizeIs(ids.size()));
  }
}

TEST_F(DurabilityE2eTest, ConcurrentWritesAreAllKept) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  absl::Mutex mu;
  std::set<std::string> ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Api api = Admin();
      for (int i = 0; i < kPerThread; ++i) {
        v1::Subscription s = NewSubscription(absl::StrCat("/t", t), "user",
                                             "added", absl::StrCat("/", i));
        absl::StatusOr<v1::Subscription> sub = api.CreateSubscription(s);
        EXPECT_OK(sub.status());
        if (!sub.ok()) return;
        absl::MutexLock lock(&mu);
        ids.insert(sub->id());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
  ASSERT_OK(server_->Kill9());
  ASSERT_OK(server_->Restart());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> all,
                       Admin().ListAllSubscriptions());
  std::set<std::string> listed;
  for (const v1::Subscription& s : all) listed.insert(s.id());
  EXPECT_EQ(listed, ids);
  EXPECT_EQ(all.size(), ids.size());
}

TEST_F(DurabilityE2eTest, GracefulRestartKeepsEverythingToo) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  State before = ReadState(Admin(), kPrincipals);
  ASSERT_OK_AND_ASSIGN(int code, server_->Terminate());
  EXPECT_EQ(code, 0);
  ASSERT_OK(server_->Restart());
  ExpectSameState(before, ReadState(Admin(), kPrincipals));
}

}  // namespace
}  // namespace webhooks::e2e
