// UpdateSubscription (field masks) and Activate/Deactivate end to end.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

int64_t Nanos(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000000 + t.nanos();
}

class SubscriptionUpdateE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(""));
    api_ = std::make_unique<Api>(server_->NewChannel());
    v1::Dialect alt;
    alt.set_name("alt");
    ASSERT_OK(api_->CreateDialect(alt).status());
    v1::Subscription s = NewSubscription("/a", "user", "added", "/h");
    s.set_owner("alice");
    ASSERT_OK_AND_ASSIGN(sub_, api_->CreateSubscription(s));
    sub_.clear_secret();
    // Timestamps below must be able to move.
    absl::SleepFor(absl::Milliseconds(5));
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
  v1::Subscription sub_;  // as stored, without the secret
};

TEST_F(SubscriptionUpdateE2eTest, ChangesOnlyTheMaskedFields) {
  v1::Subscription request = NewSubscription("/b", "group", "removed", "/h2");
  request.set_id(sub_.id());
  request.set_owner("bob");
  request.set_permission("edit");
  request.set_dialect("alt");
  ASSERT_OK_AND_ASSIGN(
      v1::Subscription updated,
      api_->UpdateSubscription(request, {"site", "target_url"}));
  v1::Subscription expected = sub_;
  expected.set_site("/b");
  expected.set_target_url("https://hooks.example.com/h2");
  *expected.mutable_update_time() = updated.update_time();
  EXPECT_THAT(updated, EqualsProto(expected));
  EXPECT_GT(Nanos(updated.update_time()), Nanos(sub_.update_time()));
  EXPECT_EQ(updated.secret(), "");
  ASSERT_OK_AND_ASSIGN(v1::Subscription got, api_->GetSubscription(sub_.id()));
  EXPECT_THAT(got, EqualsProto(updated));
}

TEST_F(SubscriptionUpdateE2eTest, EachPathUpdatesItsField) {
  const struct {
    std::string path;
    std::function<void(v1::Subscription&)> set;
  } kCases[] = {
      {"site", [](v1::Subscription& s) { s.set_site("/x/y"); }},
      {"resource_type", [](v1::Subscription& s) { s.set_resource_type("*"); }},
      {"event_type", [](v1::Subscription& s) { s.set_event_type("modified"); }},
      {"target_url",
       [](v1::Subscription& s) {
         s.set_target_url("https://other.example.com/p?q=1");
       }},
      {"owner", [](v1::Subscription& s) { s.set_owner("bob"); }},
      {"owner", [](v1::Subscription& s) { s.set_owner(""); }},
      {"permission", [](v1::Subscription& s) { s.set_permission("edit"); }},
      {"dialect", [](v1::Subscription& s) { s.set_dialect("alt"); }},
      {"dialect", [](v1::Subscription& s) { s.set_dialect("default"); }},
  };
  v1::Subscription current = sub_;
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.path);
    v1::Subscription request;
    request.set_id(sub_.id());
    c.set(request);
    v1::Subscription expected = current;
    c.set(expected);
    ASSERT_OK_AND_ASSIGN(v1::Subscription updated,
                         api_->UpdateSubscription(request, {c.path}));
    *expected.mutable_update_time() = updated.update_time();
    EXPECT_THAT(updated, EqualsProto(expected));
    EXPECT_GE(Nanos(updated.update_time()), Nanos(current.update_time()));
    current = updated;
  }
}

TEST_F(SubscriptionUpdateE2eTest, NormalizesTheUpdatedSite) {
  v1::Subscription request;
  request.set_id(sub_.id());
  request.set_site("//NOAA//NWS/");
  ASSERT_OK_AND_ASSIGN(v1::Subscription updated,
                       api_->UpdateSubscription(request, {"site"}));
  EXPECT_EQ(updated.site(), "/NOAA/NWS");
  request.set_site("");
  ASSERT_OK_AND_ASSIGN(updated, api_->UpdateSubscription(request, {"site"}));
  EXPECT_EQ(updated.site(), "/");
}

TEST_F(SubscriptionUpdateE2eTest, RejectsBadMasksAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse before,
                       SnapshotSubscriptions(*api_));
  const std::vector<std::vector<std::string>> kMasks = {
      {},
      {"id"},
      {"active"},
      {"secret"},
      {"static"},
      {"status_message"},
      {"create_time"},
      {"update_time"},
      {"bogus"},
      {"site", "bogus"},
      {"site", "active"},
      {"subscription.site"},
  };
  v1::Subscription request = NewSubscription("/changed", "group", "removed");
  request.set_id(sub_.id());
  request.set_active(false);
  request.set_secret("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  for (const std::vector<std::string>& mask : kMasks) {
    SCOPED_TRACE(testing::PrintToString(mask));
    EXPECT_THAT(api_->UpdateSubscription(request, mask),
                StatusIs(kInvalid, HasSubstr("update_mask")));
    ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                         SnapshotSubscriptions(*api_));
    EXPECT_THAT(after, EqualsProto(before));
  }
}

TEST_F(SubscriptionUpdateE2eTest, RejectsBadValuesAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse before,
                       SnapshotSubscriptions(*api_));
  const struct {
    std::string path;
    std::function<void(v1::Subscription&)> set;
    absl::StatusCode code;
    std::string field;
  } kCases[] = {
      {"site", [](v1::Subscription& s) { s.set_site("rel/ative"); }, kInvalid,
       "subscription.site"},
      {"site", [](v1::Subscription& s) { s.set_site("/a/../b"); }, kInvalid,
       "subscription.site"},
      {"resource_type", [](v1::Subscription& s) { s.set_resource_type(""); },
       kInvalid, "subscription.resource_type"},
      {"resource_type",
       [](v1::Subscription& s) { s.set_resource_type("User"); }, kInvalid,
       "subscription.resource_type"},
      {"event_type", [](v1::Subscription& s) { s.set_event_type(""); },
       kInvalid, "subscription.event_type"},
      {"target_url",
       [](v1::Subscription& s) { s.set_target_url("http://h.example.com/"); },
       kInvalid, "subscription.target_url"},
      {"target_url",
       [](v1::Subscription& s) {
         s.set_target_url("https://user:pw@h.example.com/");
       },
       kInvalid, "subscription.target_url"},
      {"target_url", [](v1::Subscription& s) { s.set_target_url(""); },
       kInvalid, "subscription.target_url"},
      {"owner", [](v1::Subscription& s) { s.set_owner("a b"); }, kInvalid,
       "subscription.owner"},
      {"permission", [](v1::Subscription& s) { s.set_permission("Edit It"); },
       kInvalid, "subscription.permission"},
      {"dialect", [](v1::Subscription& s) { s.set_dialect("nosuch"); },
       absl::StatusCode::kFailedPrecondition, "subscription.dialect"},
  };
  for (const auto& c : kCases) {
    v1::Subscription request;
    request.set_id(sub_.id());
    c.set(request);
    SCOPED_TRACE(request.ShortDebugString());
    EXPECT_THAT(api_->UpdateSubscription(request, {c.path}),
                StatusIs(c.code, HasSubstr(c.field)));
    ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                         SnapshotSubscriptions(*api_));
    EXPECT_THAT(after, EqualsProto(before));
  }
}

TEST_F(SubscriptionUpdateE2eTest, UnknownOrMissingIds) {
  v1::Subscription request;
  request.set_site("/b");
  EXPECT_THAT(api_->UpdateSubscription(request, {"site"}),
              StatusIs(kInvalid, HasSubstr("id")));
  request.set_id("sub_00000000000000000000000000");
  EXPECT_THAT(api_->UpdateSubscription(request, {"site"}),
              StatusIs(absl::StatusCode::kNotFound, _));
}

TEST_F(SubscriptionUpdateE2eTest, DeactivateAndActivate) {
  ASSERT_OK_AND_ASSIGN(v1::Subscription off,
                       api_->DeactivateSubscription(sub_.id()));
  EXPECT_FALSE(off.active());
  EXPECT_EQ(off.status_message(), "Deactivated through the API.");
  EXPECT_EQ(off.secret(), "");
  ASSERT_OK_AND_ASSIGN(v1::Subscription got, api_->GetSubscription(sub_.id()));
  EXPECT_FALSE(got.active());
  EXPECT_EQ(got.status_message(), "Deactivated through the API.");

  ASSERT_OK_AND_ASSIGN(v1::Subscription on,
                       api_->ActivateSubscription(sub_.id()));
  EXPECT_TRUE(on.active());
  EXPECT_EQ(on.status_message(), "");
  ASSERT_OK_AND_ASSIGN(got, api_->GetSubscription(sub_.id()));
  EXPECT_TRUE(got.active());
  EXPECT_EQ(got.status_message(), "");

  ASSERT_OK_AND_ASSIGN(off, api_->DeactivateSubscription(
                                sub_.id(), "Receiver down for maintenance"));
  EXPECT_FALSE(off.active());
  EXPECT_EQ(off.status_message(), "Receiver down for maintenance");
  // Other fields are untouched by either call.
  v1::Subscription expected = sub_;
  expected.set_active(false);
  expected.set_status_message("Receiver down for maintenance");
  *expected.mutable_update_time() = off.update_time();
  EXPECT_THAT(off, EqualsProto(expected));
}

TEST_F(SubscriptionUpdateE2eTest, UpdateKeepsTheActiveState) {
  ASSERT_OK(api_->DeactivateSubscription(sub_.id(), "paused").status());
  v1::Subscription request;
  request.set_id(sub_.id());
  request.set_target_url("https://hooks.example.com/new");
  ASSERT_OK_AND_ASSIGN(v1::Subscription updated,
                       api_->UpdateSubscription(request, {"target_url"}));
  EXPECT_FALSE(updated.active());
  EXPECT_EQ(updated.status_message(), "paused");
}

TEST_F(SubscriptionUpdateE2eTest, ActiveFilterFollowsTheState) {
  ASSERT_OK(api_->CreateSubscription(NewSubscription("/z")).status());
  ASSERT_OK(api_->DeactivateSubscription(sub_.id()).status());
  v1::ListSubscriptionsRequest inactive;
  inactive.set_active_filter(v1::ListSubscriptionsRequest::INACTIVE_ONLY);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> listed,
                       api_->ListAllSubscriptions(inactive));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), sub_.id());
  ASSERT_OK(api_->ActivateSubscription(sub_.id()).status());
  ASSERT_OK_AND_ASSIGN(listed, api_->ListAllSubscriptions(inactive));
  EXPECT_TRUE(listed.empty());
}

}  // namespace
}  // namespace webhooks::e2e
