// SubscriptionService end to end: create, read, rotate, delete, and input
// validation, against a real webhookd in open mode (every caller is admin).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

void ExpectWellFormedSecret(const std::string& secret) {
  EXPECT_THAT(secret, StartsWith("whsec_"));
  EXPECT_THAT(secret, SizeIs(50));
  std::string key;
  ASSERT_TRUE(absl::Base64Unescape(secret.substr(6), &key)) << secret;
  EXPECT_THAT(key, SizeIs(32));
}

v1::Subscription WithoutSecret(v1::Subscription s) {
  s.clear_secret();
  return s;
}

// "/a/a/.../a" with `depth` segments.
std::string DeepSite(int depth) {
  std::string site;
  for (int i = 0; i < depth; ++i) site += "/a";
  return site;
}

class SubscriptionE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(""));
    api_ = std::make_unique<Api>(server_->NewChannel());
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

TEST_F(SubscriptionE2eTest, CreateReturnsCompleteSubscription) {
  v1::Subscription request = NewSubscription("//NOAA//NWS/", "user", "added");
  request.set_owner("alice");
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api_->CreateSubscription(request));
  EXPECT_THAT(sub.id(), StartsWith("sub_"));
  EXPECT_THAT(sub.id(), SizeIs(4 + 26));
  ExpectWellFormedSecret(sub.secret());
  EXPECT_EQ(sub.site(), "/NOAA/NWS");
  EXPECT_EQ(sub.resource_type(), "user");
  EXPECT_EQ(sub.event_type(), "added");
  EXPECT_EQ(sub.target_url(), "https://hooks.example.com/hook");
  EXPECT_EQ(sub.owner(), "alice");
  EXPECT_EQ(sub.permission(), "view");
  EXPECT_EQ(sub.dialect(), "default");
  EXPECT_TRUE(sub.active());
  EXPECT_FALSE(sub.static_());
  EXPECT_EQ(sub.status_message(), "");
  EXPECT_GT(sub.create_time().seconds(), 1600000000);
  EXPECT_GT(sub.update_time().seconds(), 1600000000);
}

TEST_F(SubscriptionE2eTest, CreateIgnoresOutputOnlyFields) {
  v1::Subscription request = NewSubscription();
  request.set_id("sub_00000000000000000000000000");
  request.set_active(false);
  request.set_static_(true);
  request.set_status_message("made up");
  request.set_secret("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api_->CreateSubscription(request));
  EXPECT_NE(sub.id(), request.id());
  EXPECT_TRUE(sub.active());
  EXPECT_FALSE(sub.static_());
  EXPECT_EQ(sub.status_message(), "");
  EXPECT_NE(sub.secret(), request.secret());
}

TEST_F(SubscriptionE2eTest, IdsAndSecretsAreUnique) {
  ASSERT_OK_AND_ASSIGN(v1::Subscription a,
                       api_->CreateSubscription(NewSubscription()));
  ASSERT_OK_AND_ASSIGN(v1::Subscription b,
                       api_->CreateSubscription(NewSubscription()));
  EXPECT_NE(a.id(), b.id());
  EXPECT_NE(a.secret(), b.secret());
}

TEST_F(SubscriptionE2eTest, NormalizesSite) {
  const struct {
    std::string given;
    std::string stored;
  } kCases[] = {
      {"//NOAA//NWS/", "/NOAA/NWS"},
      {"", "/"},
      {"/", "/"},
      {"/NOAA/", "/NOAA"},
      {"/NOAA/NWS/OUN", "/NOAA/NWS/OUN"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.given);
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                         api_->CreateSubscription(NewSubscription(c.given)));
    EXPECT_EQ(sub.site(), c.stored);
    ASSERT_OK_AND_ASSIGN(v1::Subscription got, api_->GetSubscription(sub.id()));
    EXPECT_EQ(got.site(), c.stored);
  }
}

TEST_F(SubscriptionE2eTest, AcceptsWildcardsAndTokenCharacters) {
  const struct {
    std::string resource_type;
    std::string event_type;
  } kCases[] = {{"*", "*"}, {"user.profile-v2_x", "added"}, {"0", "x.y"}};
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.resource_type + " " + c.event_type);
    ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                         api_->CreateSubscription(NewSubscription(
                             "/", c.resource_type, c.event_type)));
    EXPECT_EQ(sub.resource_type(), c.resource_type);
    EXPECT_EQ(sub.event_type(), c.event_type);
  }
}

TEST_F(SubscriptionE2eTest, AcceptsValuesAtTheDefaultLimits) {
  v1::Subscription s = NewSubscription(DeepSite(32), std::string(128, 't'));
  s.set_owner(std::string(256, 'o'));
  s.set_target_url("https://hooks.example.com/" + std::string(2000, 'p'));
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api_->CreateSubscription(s));
  EXPECT_EQ(sub.site(), DeepSite(32));
  EXPECT_OK(
      api_->CreateSubscription(NewSubscription("/" + std::string(511, 's')))
          .status());
}

TEST_F(SubscriptionE2eTest, GetAndListNeverReturnTheSecret) {
  ASSERT_OK_AND_ASSIGN(v1::Subscription created,
                       api_->CreateSubscription(NewSubscription("/NOAA")));
  ASSERT_FALSE(created.secret().empty());
  ASSERT_OK_AND_ASSIGN(v1::Subscription got,
                       api_->GetSubscription(created.id()));
  EXPECT_THAT(got, EqualsProto(WithoutSecret(created)));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> listed,
                       api_->ListAllSubscriptions());
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_THAT(listed[0], EqualsProto(WithoutSecret(created)));
}

TEST_F(SubscriptionE2eTest, RotateIssuesANewSecret) {
  ASSERT_OK_AND_ASSIGN(v1::Subscription created,
                       api_->CreateSubscription(NewSubscription()));
  ASSERT_OK_AND_ASSIGN(v1::Subscription rotated,
                       api_->RotateSubscriptionSecret(created.id()));
  ExpectWellFormedSecret(rotated.secret());
  EXPECT_NE(rotated.secret(), created.secret());
  EXPECT_EQ(rotated.id(), created.id());
  EXPECT_EQ(rotated.target_url(), created.target_url());
  EXPECT_TRUE(rotated.active());
  ASSERT_OK_AND_ASSIGN(v1::Subscription again,
                       api_->RotateSubscriptionSecret(created.id()));
  EXPECT_NE(again.secret(), rotated.secret());
  EXPECT_NE(again.secret(), created.secret());
  ASSERT_OK_AND_ASSIGN(v1::Subscription got,
                       api_->GetSubscription(created.id()));
  EXPECT_EQ(got.secret(), "");
}

TEST_F(SubscriptionE2eTest, DeleteRemovesTheSubscription) {
  ASSERT_OK_AND_ASSIGN(v1::Subscription keep,
                       api_->CreateSubscription(NewSubscription("/a")));
  ASSERT_OK_AND_ASSIGN(v1::Subscription gone,
                       api_->CreateSubscription(NewSubscription("/b")));
  ASSERT_OK(api_->DeleteSubscription(gone.id()));
  const absl::StatusCode kNotFound = absl::StatusCode::kNotFound;
  EXPECT_THAT(api_->GetSubscription(gone.id()), StatusIs(kNotFound, _));
  EXPECT_THAT(api_->DeleteSubscription(gone.id()), StatusIs(kNotFound, _));
  EXPECT_THAT(api_->ActivateSubscription(gone.id()), StatusIs(kNotFound, _));
  EXPECT_THAT(api_->DeactivateSubscription(gone.id()), StatusIs(kNotFound, _));
  EXPECT_THAT(api_->RotateSubscriptionSecret(gone.id()),
              StatusIs(kNotFound, _));
  v1::Subscription update = gone;
  update.set_site("/c");
  EXPECT_THAT(api_->UpdateSubscription(update, {"site"}),
              StatusIs(kNotFound, _));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> listed,
                       api_->ListAllSubscriptions());
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_THAT(listed[0], EqualsProto(WithoutSecret(keep)));
}

TEST_F(SubscriptionE2eTest, MalformedIdsAreInvalidArguments) {
  for (const std::string& id :
       std::vector<std::string>{"", "not an id", "sub_!!!", "../../etc/passwd",
                                std::string(300, 'a')}) {
    SCOPED_TRACE(id);
    const auto kInvalid = absl::StatusCode::kInvalidArgument;
    EXPECT_THAT(api_->GetSubscription(id), StatusIs(kInvalid, HasSubstr("id")));
    EXPECT_THAT(api_->DeleteSubscription(id),
                StatusIs(kInvalid, HasSubstr("id")));
    EXPECT_THAT(api_->ActivateSubscription(id),
                StatusIs(kInvalid, HasSubstr("id")));
    EXPECT_THAT(api_->DeactivateSubscription(id),
                StatusIs(kInvalid, HasSubstr("id")));
    EXPECT_THAT(api_->RotateSubscriptionSecret(id),
                StatusIs(kInvalid, HasSubstr("id")));
  }
}

TEST_F(SubscriptionE2eTest, WellFormedUnknownIdsAreNotFound) {
  for (const std::string id :
       {"sub_00000000000000000000000000", "sub_ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "static_0123456789abcdef"}) {
    SCOPED_TRACE(id);
    EXPECT_THAT(api_->GetSubscription(id),
                StatusIs(absl::StatusCode::kNotFound, _));
  }
}

struct InvalidCase {
  std::string name;
  std::function<void(v1::Subscription&)> mutate;
  absl::StatusCode code;
  std::string message_part;  // a field path
};

std::vector<InvalidCase> InvalidSubscriptions() {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  auto site = [](std::string v) {
    return [v](v1::Subscription& s) { s.set_site(v); };
  };
  auto type = [](std::string v) {
    return [v](v1::Subscription& s) { s.set_resource_type(v); };
  };
  auto event = [](std::string v) {
    return [v](v1::Subscription& s) { s.set_event_type(v); };
  };
  auto url = [](std::string v) {
    return [v](v1::Subscription& s) { s.set_target_url(v); };
  };
  const std::string kSite = "subscription.site";
  const std::string kType = "subscription.resource_type";
  const std::string kEvent = "subscription.event_type";
  const std::string kUrl = "subscription.target_url";
  return {
      {"relative site", site("NOAA/NWS"), kInvalid, kSite},
      {"dot-dot site", site("/NOAA/../x"), kInvalid, kSite},
      {"dot site", site("/NOAA/./x"), kInvalid, kSite},
      {"space in site", site("/a b"), kInvalid, kSite},
      {"empty resource_type", type(""), kInvalid, kType},
      {"uppercase resource_type", type("User"), kInvalid, kType},
      {"space in resource_type", type("us er"), kInvalid, kType},
      {"partial wildcard resource_type", type("us*"), kInvalid, kType},
      {"empty event_type", event(""), kInvalid, kEvent},
      {"uppercase event_type", event("ADDED"), kInvalid, kEvent},
      {"slash in event_type", event("a/b"), kInvalid, kEvent},
      {"http target", url("http://hooks.example.com/x"), kInvalid, kUrl},
      {"credentials in target", url("https://user:pw@hooks.example.com/"),
       kInvalid, kUrl},
      {"no scheme", url("hooks.example.com/x"), kInvalid, kUrl},
      {"ftp scheme", url("ftp://hooks.example.com/x"), kInvalid, kUrl},
      {"empty target", url(""), kInvalid, kUrl},
      {"fragment", url("https://hooks.example.com/x#frag"), kInvalid, kUrl},
      {"too long target",
       url("https://hooks.example.com/" + std::string(2100, 'a')), kInvalid,
       kUrl},
      {"space in target", url("https://hooks.example.com/a b"), kInvalid, kUrl},
      {"newline in target", url("https://hooks.example.com/a\nb"), kInvalid,
       kUrl},
      {"no host", url("https:///path"), kInvalid, kUrl},
      {"site too long (default 512)", site("/" + std::string(513, 's')),
       kInvalid, kSite},
      {"site too deep (default 32)", site(DeepSite(33)), kInvalid, kSite},
      {"resource_type too long (default 128)", type(std::string(129, 't')),
       kInvalid, kType},
      {"whitespace in owner",
       [](v1::Subscription& s) { s.set_owner("al ice"); }, kInvalid,
       "subscription.owner"},
      {"owner too long (default 256)",
       [](v1::Subscription& s) { s.set_owner(std::string(257, 'o')); },
       kInvalid, "subscription.owner"},
      {"unknown dialect", [](v1::Subscription& s) { s.set_dialect("nosuch"); },
       absl::StatusCode::kFailedPrecondition, "subscription.dialect"},
  };
}

TEST_F(SubscriptionE2eTest, CreateRejectsInvalidFieldsAndStoresNothing) {
  v1::Subscription seed = NewSubscription("/NOAA");
  seed.set_owner("alice");
  ASSERT_OK(api_->CreateSubscription(seed).status());
  ASSERT_OK(api_->CreateSubscription(NewSubscription("/x", "*", "*")).status());
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse before,
                       SnapshotSubscriptions(*api_));
  ASSERT_THAT(before.subscriptions(), SizeIs(2));
  for (const InvalidCase& c : InvalidSubscriptions()) {
    SCOPED_TRACE(c.name);
    v1::Subscription request = NewSubscription("/NOAA");
    c.mutate(request);
    EXPECT_THAT(api_->CreateSubscription(request),
                StatusIs(c.code, HasSubstr(c.message_part)));
    ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                         SnapshotSubscriptions(*api_));
    EXPECT_THAT(after, EqualsProto(before));
  }
}

TEST_F(SubscriptionE2eTest, CreateWithoutSubscriptionIsInvalid) {
  // An empty request has no resource_type, event_type or target_url.
  EXPECT_THAT(
      api_->CreateSubscription(v1::Subscription()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subscription.")));
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                       SnapshotSubscriptions(*api_));
  EXPECT_THAT(after.subscriptions(), SizeIs(0));
}

TEST(SubscriptionHttpTargetE2eTest, HttpTargetsNeedTheDevelopmentFlag) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start("", {"--allow_http_targets"}));
  Api api(server->NewChannel());
  v1::Subscription http = NewSubscription();
  http.set_target_url("http://hooks.example.com/x");
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub, api.CreateSubscription(http));
  EXPECT_EQ(sub.target_url(), "http://hooks.example.com/x");
  // Credentials stay forbidden even in development mode.
  v1::Subscription with_user = NewSubscription();
  with_user.set_target_url("http://user:pw@hooks.example.com/x");
  EXPECT_THAT(api.CreateSubscription(with_user),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("subscription.target_url")));
}

}  // namespace
}  // namespace webhooks::e2e
