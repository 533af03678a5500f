// API keys against a real webhookd, over gRPC and over the JSON HTTP API:
// created by an admin, used at once, listed without their secret, revoked
// and refused at once; expired keys refused; a subscriber's key sees only
// its own subscriptions; only admins manage keys; bad input names the field
// and stores nothing; keys survive a restart; open mode still honours them.
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/api_client.h"
#include "tests/matchers.h"
#include "tests/raw_http_client.h"
#include "tests/server_process.h"

namespace webhooks::e2e {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using K = v1::ApiKeyService::Stub;

v1::CreateApiKeyRequest KeyFor(std::string principal,
                               std::vector<v1::Role> roles) {
  v1::CreateApiKeyRequest request;
  request.mutable_api_key()->set_principal(std::move(principal));
  request.mutable_api_key()->set_display_name("portal");
  for (v1::Role role : roles) request.mutable_api_key()->add_roles(role);
  return request;
}

v1::ListApiKeysRequest AllKeys() {
  v1::ListApiKeysRequest request;
  request.set_page_size(1000);
  return request;
}

v1::RevokeApiKeyRequest Revoke(const std::string& id) {
  v1::RevokeApiKeyRequest request;
  request.set_id(id);
  return request;
}

// Calls with `key` until it is refused (or `timeout` passes); its status.
absl::Status WaitRefused(const Api& api, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status status;
  do {
    status = api.ListAllSubscriptions().status();
    if (!status.ok()) return status;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  return status;
}

class ApiKeyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(TokensConfig()));
    admin_ = std::make_unique<Api>(server_->NewChannel(), kAdminToken);
  }

  v1::CreateApiKeyResponse MustCreate(const v1::CreateApiKeyRequest& request) {
    absl::StatusOr<v1::CreateApiKeyResponse> created =
        admin_->Call(&K::CreateApiKey, request);
    EXPECT_OK(created.status());
    return created.ok() ? *created : v1::CreateApiKeyResponse();
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> admin_;
};

TEST_F(ApiKeyE2eTest, CreateUseListRevokeOverGrpc) {
  v1::CreateApiKeyResponse created =
      MustCreate(KeyFor("carol", {v1::SUBSCRIBER}));
  const v1::ApiKey& key = created.api_key();
  EXPECT_THAT(key.id(), StartsWith("key_"));
  EXPECT_THAT(created.secret(), StartsWith(key.prefix()));
  EXPECT_THAT(key.prefix(), StartsWith("whk_"));
  EXPECT_EQ(key.state(), v1::ApiKey::ACTIVE);
  EXPECT_EQ(key.created_by(), "ops");

  // The new key works at once, as principal carol.
  Api carol = admin_->WithToken(created.secret());
  ASSERT_OK_AND_ASSIGN(v1::Subscription sub,
                       carol.CreateSubscription(NewSubscription("/c")));
  EXPECT_EQ(sub.owner(), "carol");

  // Listed and read without the secret.
  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse listed,
                       admin_->Call(&K::ListApiKeys, AllKeys()));
  ASSERT_EQ(listed.api_keys_size(), 1);
  EXPECT_EQ(listed.api_keys(0).id(), key.id());
  const std::string secret_part = created.secret().substr(key.prefix().size());
  EXPECT_THAT(listed.SerializeAsString(), Not(HasSubstr(secret_part)));
  v1::GetApiKeyRequest get;
  get.set_id(key.id());
  ASSERT_OK_AND_ASSIGN(v1::ApiKey got, admin_->Call(&K::GetApiKey, get));
  EXPECT_THAT(got.SerializeAsString(), Not(HasSubstr(secret_part)));
  EXPECT_EQ(got.principal(), "carol");

  // Revoked: refused on the very next call.
  ASSERT_OK_AND_ASSIGN(v1::ApiKey revoked,
                       admin_->Call(&K::RevokeApiKey, Revoke(key.id())));
  EXPECT_EQ(revoked.state(), v1::ApiKey::REVOKED);
  EXPECT_THAT(carol.ListAllSubscriptions().status(),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("revoked")));
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse before,
                       SnapshotSubscriptions(*admin_));
  EXPECT_THAT(carol.CreateSubscription(NewSubscription("/c2")).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, _));
  EXPECT_THAT(carol.DeleteSubscription(sub.id()),
              StatusIs(absl::StatusCode::kUnauthenticated, _));
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                       SnapshotSubscriptions(*admin_));
  EXPECT_THAT(after, EqualsProto(before));
  // Idempotent: the first revoke_time stays.
  ASSERT_OK_AND_ASSIGN(v1::ApiKey again,
                       admin_->Call(&K::RevokeApiKey, Revoke(key.id())));
  EXPECT_THAT(again, EqualsProto(revoked));
  // The config file's tokens still work beside keys.
  EXPECT_OK(admin_->WithToken(kAliceToken).ListAllSubscriptions().status());
}

TEST_F(ApiKeyE2eTest, ExpiredKeyIsRefused) {
  v1::CreateApiKeyRequest request = KeyFor("carol", {v1::SUBSCRIBER});
  *request.mutable_api_key()->mutable_expire_time() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
          absl::ToUnixMillis(absl::Now() + absl::Seconds(3)));
  v1::CreateApiKeyResponse created = MustCreate(request);
  absl::Status refused =
      WaitRefused(admin_->WithToken(created.secret()), absl::Seconds(30));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated,
                                HasSubstr("expired")));
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse before,
                       SnapshotSubscriptions(*admin_));
  EXPECT_THAT(admin_->WithToken(created.secret())
                  .CreateSubscription(NewSubscription("/late"))
                  .status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  ASSERT_OK_AND_ASSIGN(v1::ListSubscriptionsResponse after,
                       SnapshotSubscriptions(*admin_));
  EXPECT_THAT(after, EqualsProto(before));
  v1::GetApiKeyRequest get;
  get.set_id(created.api_key().id());
  ASSERT_OK_AND_ASSIGN(v1::ApiKey got, admin_->Call(&K::GetApiKey, get));
  EXPECT_EQ(got.state(), v1::ApiKey::EXPIRED);
}

TEST_F(ApiKeyE2eTest, SubscriberKeySeesOnlyItsOwnSubscriptions) {
  Api alice = admin_->WithToken(kAliceToken);
  Api bob = admin_->WithToken(kBobToken);
  ASSERT_OK_AND_ASSIGN(v1::Subscription mine,
                       alice.CreateSubscription(NewSubscription("/a")));
  ASSERT_OK_AND_ASSIGN(v1::Subscription theirs,
                       bob.CreateSubscription(NewSubscription("/b")));
  v1::CreateApiKeyResponse created =
      MustCreate(KeyFor("alice", {v1::SUBSCRIBER}));
  Api portal = admin_->WithToken(created.secret());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> seen,
                       portal.ListAllSubscriptions());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id(), mine.id());
  EXPECT_THAT(portal.GetSubscription(theirs.id()).status(),
              StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_THAT(portal.DeleteSubscription(theirs.id()),
              StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_OK(bob.GetSubscription(theirs.id()).status());
}

TEST_F(ApiKeyE2eTest, OnlyAdminsManageKeys) {
  v1::CreateApiKeyResponse subscriber_key =
      MustCreate(KeyFor("alice", {v1::SUBSCRIBER, v1::PUBLISHER}));
  for (const std::string& token :
       {std::string(kAliceToken), std::string(kPublisherToken),
        subscriber_key.secret()}) {
    Api caller = admin_->WithToken(token);
    EXPECT_THAT(
        caller.Call(&K::CreateApiKey, KeyFor("alice", {v1::ADMIN})).status(),
        StatusIs(absl::StatusCode::kPermissionDenied,
                 HasSubstr("managing API keys requires the admin role")));
    EXPECT_THAT(caller.Call(&K::ListApiKeys, AllKeys()).status(),
                StatusIs(absl::StatusCode::kPermissionDenied, _));
    EXPECT_THAT(caller
                    .Call(&K::RevokeApiKey,
                          Revoke(subscriber_key.api_key().id()))
                    .status(),
                StatusIs(absl::StatusCode::kPermissionDenied, _));
  }
  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse listed,
                       admin_->Call(&K::ListApiKeys, AllKeys()));
  ASSERT_EQ(listed.api_keys_size(), 1);
  EXPECT_EQ(listed.api_keys(0).state(), v1::ApiKey::ACTIVE);
  // A key with the admin role manages keys.
  v1::CreateApiKeyResponse admin_key = MustCreate(KeyFor("ops2", {v1::ADMIN}));
  Api admin2 = admin_->WithToken(admin_key.secret());
  ASSERT_OK_AND_ASSIGN(v1::CreateApiKeyResponse made,
                       admin2.Call(&K::CreateApiKey, KeyFor("dave", {v1::PUBLISHER})));
  EXPECT_EQ(made.api_key().created_by(), "ops2");
}

TEST_F(ApiKeyE2eTest, BadInputNamesTheFieldAndStoresNothing) {
  struct Case {
    v1::CreateApiKeyRequest request;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({KeyFor("", {v1::ADMIN}), "api_key.principal is required"});
  cases.push_back({KeyFor("a b", {v1::ADMIN}), "api_key.principal:"});
  cases.push_back({KeyFor("carol", {}), "api_key.roles:"});
  cases.push_back({KeyFor("carol", {v1::ROLE_UNSPECIFIED}), "api_key.roles[0]:"});
  cases.push_back({KeyFor("carol", {v1::ADMIN, static_cast<v1::Role>(9)}),
                   "api_key.roles[1]:"});
  v1::CreateApiKeyRequest past = KeyFor("carol", {v1::ADMIN});
  past.mutable_api_key()->mutable_expire_time()->set_seconds(1700000000);
  cases.push_back({past, "api_key.expire_time: must be in the future"});
  v1::CreateApiKeyRequest bad_time = KeyFor("carol", {v1::ADMIN});
  bad_time.mutable_api_key()->mutable_expire_time()->set_nanos(-1);
  cases.push_back({bad_time, "api_key.expire_time:"});
  v1::CreateApiKeyRequest long_name = KeyFor("carol", {v1::ADMIN});
  long_name.mutable_api_key()->set_display_name(std::string(201, 'x'));
  cases.push_back({long_name, "api_key.display_name:"});
  for (const Case& c : cases) {
    EXPECT_THAT(admin_->Call(&K::CreateApiKey, c.request).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         StartsWith(c.message)));
  }
  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse listed,
                       admin_->Call(&K::ListApiKeys, AllKeys()));
  EXPECT_EQ(listed.api_keys_size(), 0);

  EXPECT_THAT(admin_->Call(&K::RevokeApiKey,
                           Revoke("key_0000000000000000000000000a"))
                  .status(),
              StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_THAT(admin_->Call(&K::RevokeApiKey, Revoke("sub_1")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id:")));
  v1::ListApiKeysRequest bad_filter = AllKeys();
  bad_filter.set_principal("a b");
  EXPECT_THAT(admin_->Call(&K::ListApiKeys, bad_filter).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("principal:")));
}

TEST_F(ApiKeyE2eTest, MissingAndUnknownKeysAreUnauthenticatedWithoutEcho) {
  v1::CreateApiKeyResponse created =
      MustCreate(KeyFor("carol", {v1::SUBSCRIBER}));
  std::string forged = created.secret();
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  absl::Status refused = admin_->WithToken(forged).ListAllSubscriptions().status();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated,
                                HasSubstr("unknown bearer token")));
  EXPECT_THAT(std::string(refused.message()),
              Not(HasSubstr(forged.substr(30))));
  EXPECT_THAT(admin_->WithToken("").ListAllSubscriptions().status(),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("missing bearer token")));
  // Nothing was changed by the refused calls.
  ASSERT_OK_AND_ASSIGN(v1::ListApiKeysResponse listed,
                       admin_->Call(&K::ListApiKeys, AllKeys()));
  ASSERT_EQ(listed.api_keys_size(), 1);
  EXPECT_EQ(listed.api_keys(0).state(), v1::ApiKey::ACTIVE);
}

TEST_F(ApiKeyE2eTest, KeysAndRevocationsSurviveARestart) {
  v1::CreateApiKeyResponse kept = MustCreate(KeyFor("carol", {v1::SUBSCRIBER}));
  v1::CreateApiKeyResponse gone = MustCreate(KeyFor("dave", {v1::SUBSCRIBER}));
  ASSERT_OK(admin_->Call(&K::RevokeApiKey, Revoke(gone.api_key().id())).status());
  ASSERT_OK(server_->Restart());
  Api admin(server_->NewChannel(), kAdminToken);
  EXPECT_OK(admin.WithToken(kept.secret()).ListAllSubscriptions().status());
  EXPECT_THAT(admin.WithToken(gone.secret()).ListAllSubscriptions().status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("revoked")));
}

TEST(ApiKeyOpenModeE2eTest, AKeyIsHonouredWithoutConfiguredTokens) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                       ServerProcess::Start(""));
  Api anonymous(server->NewChannel());
  ASSERT_OK(anonymous.CreateSubscription(NewSubscription("/x")).status());
  ASSERT_OK_AND_ASSIGN(v1::CreateApiKeyResponse created,
                       anonymous.Call(&K::CreateApiKey,
                                      KeyFor("carol", {v1::SUBSCRIBER})));
  Api carol = anonymous.WithToken(created.secret());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Subscription> seen,
                       carol.ListAllSubscriptions());
  EXPECT_TRUE(seen.empty());  // the anonymous admin's is not carol's
  ASSERT_OK(anonymous.Call(&K::RevokeApiKey, Revoke(created.api_key().id()))
                .status());
  EXPECT_THAT(carol.ListAllSubscriptions().status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("revoked")));
}

// The same over the JSON HTTP API (Connect).
struct JsonReply {
  int status = 0;
  std::string body;
  google::protobuf::Struct json;
  std::string Str(const std::string& key) const {
    auto it = json.fields().find(key);
    return it == json.fields().end() ? "" : it->second.string_value();
  }
};

JsonReply Post(int port, std::string_view path, std::string_view body,
               std::string_view token) {
  std::string request = "POST " + std::string(path) +
                        " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                        "Content-Type: application/json\r\n";
  if (!token.empty()) {
    request += "Authorization: Bearer " + std::string(token) + "\r\n";
  }
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;
  raw_http::HttpReply reply = raw_http::RawHttp(port, request);
  JsonReply out;
  if (reply.status_line.size() >= 12) {
    out.status = std::stoi(reply.status_line.substr(9, 3));
  }
  out.body = reply.body;
  (void)google::protobuf::util::JsonStringToMessage(reply.body, &out.json);
  return out;
}

class ApiKeyHttpE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string port_file =
        ::testing::TempDir() + "apikey_http_port_" + std::to_string(getpid());
    ::unlink(port_file.c_str());
    ASSERT_OK_AND_ASSIGN(
        server_, ServerProcess::Start(TokensConfig(),
                                      {"--http_listen=127.0.0.1:0",
                                       "--http_port_file=" + port_file}));
    std::ifstream in(port_file);
    in >> port_;
    ::unlink(port_file.c_str());
    ASSERT_GT(port_, 0);
  }

  JsonReply Call(std::string_view method, std::string_view body,
                 std::string_view token = kAdminToken) {
    return Post(port_, "/webhooks.v1.ApiKeyService/" + std::string(method),
                body, token);
  }

  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(ApiKeyHttpE2eTest, CreateUseListRevokeOverJson) {
  JsonReply created = Call("CreateApiKey",
      R"({"apiKey": {"principal": "carol", "roles": ["SUBSCRIBER"],
          "displayName": "carol's portal"}})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string secret = created.Str("secret");
  ASSERT_THAT(secret, StartsWith("whk_"));
  const auto& key = created.json.fields().at("apiKey").struct_value().fields();
  const std::string id = key.at("id").string_value();
  EXPECT_EQ(key.at("state").string_value(), "ACTIVE");

  JsonReply subs = Post(port_, "/webhooks.v1.SubscriptionService/ListSubscriptions",
                        "{}", secret);
  EXPECT_EQ(subs.status, 200) << subs.body;

  JsonReply listed = Call("ListApiKeys", "{}");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_THAT(listed.body, HasSubstr(id));
  EXPECT_THAT(listed.body, Not(HasSubstr(secret.substr(31))));
  EXPECT_THAT(listed.body, Not(HasSubstr("digest")));

  JsonReply revoked = Call("RevokeApiKey", absl::StrCat(R"({"id": ")", id, R"("})"));
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_THAT(revoked.body, HasSubstr("REVOKED"));
  JsonReply refused = Post(port_, "/webhooks.v1.SubscriptionService/ListSubscriptions",
                           "{}", secret);
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(refused.Str("code"), "unauthenticated");
  EXPECT_THAT(refused.Str("message"), HasSubstr("revoked"));
}

TEST_F(ApiKeyHttpE2eTest, RefusalsOverJson) {
  JsonReply no_key = Call("ListApiKeys", "{}", "");
  EXPECT_EQ(no_key.status, 401) << no_key.body;
  EXPECT_EQ(no_key.Str("code"), "unauthenticated");
  JsonReply not_admin = Call("ListApiKeys", "{}", kAliceToken);
  EXPECT_EQ(not_admin.status, 403) << not_admin.body;
  EXPECT_EQ(not_admin.Str("code"), "permission_denied");
  JsonReply bad = Call("CreateApiKey",
                       R"({"apiKey": {"principal": "carol", "roles": []}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.Str("message"), StartsWith("api_key.roles:"));
  JsonReply past = Call("CreateApiKey",
      R"({"apiKey": {"principal": "carol", "roles": ["ADMIN"],
          "expireTime": "2020-01-01T00:00:00Z"}})");
  EXPECT_EQ(past.status, 400) << past.body;
  EXPECT_THAT(past.Str("message"), StartsWith("api_key.expire_time:"));
  JsonReply listed = Call("ListApiKeys", "{}");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_THAT(listed.body, Not(HasSubstr("key_")));
}

}  // namespace
}  // namespace webhooks::e2e
