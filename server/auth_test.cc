#include "server/auth.h"

#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

namespace webhooks::server {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Metadata = std::multimap<std::string_view, std::string_view>;

constexpr std::string_view kAdminToken = "admin-token-0123456789";
constexpr std::string_view kPublisherToken = "publisher-token-0123456789";
constexpr std::string_view kSubscriberToken = "subscriber-token-0123456789";
constexpr std::string_view kBothToken = "pub-and-sub-token-0123456789";

void AddToken(v1::ServerConfig& config, std::string_view token,
              std::string_view principal, std::vector<v1::Role> roles) {
  v1::ApiToken* t = config.add_tokens();
  t->set_token(std::string(token));
  t->set_principal(std::string(principal));
  for (v1::Role role : roles) t->add_roles(role);
}

v1::ServerConfig FourTokens() {
  v1::ServerConfig config;
  AddToken(config, kAdminToken, "ops", {v1::ADMIN});
  AddToken(config, kPublisherToken, "billing", {v1::PUBLISHER});
  AddToken(config, kSubscriberToken, "alice", {v1::SUBSCRIBER});
  AddToken(config, kBothToken, "bob", {v1::PUBLISHER, v1::SUBSCRIBER});
  return config;
}

Authenticator MakeAuth(const v1::ServerConfig& config) {
  absl::StatusOr<Authenticator> auth = Authenticator::FromConfig(config);
  EXPECT_TRUE(auth.ok()) << auth.status();
  return *std::move(auth);
}

absl::Status FromConfigStatus(const v1::ServerConfig& config) {
  return Authenticator::FromConfig(config).status();
}

// ---- FromConfig -----------------------------------------------------------

TEST(AuthenticatorFromConfigTest, AcceptsValidTokens) {
  EXPECT_FALSE(MakeAuth(FourTokens()).open_mode());
}

TEST(AuthenticatorFromConfigTest, NoTokensIsOpenMode) {
  EXPECT_TRUE(MakeAuth(v1::ServerConfig()).open_mode());
}

TEST(AuthenticatorFromConfigTest, SixteenByteTokenIsEnough) {
  v1::ServerConfig config;
  AddToken(config, "0123456789abcdef", "ops", {v1::ADMIN});
  EXPECT_TRUE(Authenticator::FromConfig(config).ok());
}

TEST(AuthenticatorFromConfigTest, RejectsShortTokenWithoutEchoingIt) {
  v1::ServerConfig config = FourTokens();
  AddToken(config, "0123456789abcde", "ops", {v1::ADMIN});  // 15 bytes
  absl::Status status = FromConfigStatus(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("tokens[4].token"), HasSubstr("16"),
                    Not(HasSubstr("0123456789abcde"))));
}

TEST(AuthenticatorFromConfigTest, RejectsEmptyToken) {
  v1::ServerConfig config;
  AddToken(config, "", "ops", {v1::ADMIN});
  absl::Status status = FromConfigStatus(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("tokens[0].token"));
}

TEST(AuthenticatorFromConfigTest, RejectsWhitespaceAndControlInToken) {
  for (std::string_view token :
       {"0123456789 abcdef", "0123456789\tabcdef", "0123456789abcdef\n",
        "0123456789\x01"
        "abcdef"}) {
    v1::ServerConfig config;
    AddToken(config, token, "ops", {v1::ADMIN});
    absl::Status status = FromConfigStatus(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(
        std::string(status.message()),
        AllOf(HasSubstr("tokens[0].token"), Not(HasSubstr("0123456789"))));
  }
}

TEST(AuthenticatorFromConfigTest, RejectsInvalidPrincipal) {
  for (std::string_view principal : {"", "has space", "tab\there"}) {
    v1::ServerConfig config = FourTokens();
    AddToken(config, "another-token-0123456789", principal, {v1::ADMIN});
    absl::Status status = FromConfigStatus(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << principal;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("tokens[4].principal"));
  }
}

TEST(AuthenticatorFromConfigTest, RejectsTokenWithoutRoles) {
  v1::ServerConfig config;
  AddToken(config, kAdminToken, "ops", {});
  absl::Status status = FromConfigStatus(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("tokens[0].roles"));
}

TEST(AuthenticatorFromConfigTest, RejectsUnspecifiedAndUnknownRoles) {
  for (v1::Role bad : {v1::ROLE_UNSPECIFIED, static_cast<v1::Role>(42)}) {
    v1::ServerConfig config;
    AddToken(config, kAdminToken, "ops", {v1::PUBLISHER, bad});
    absl::Status status = FromConfigStatus(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr("tokens[0].roles[1]"));
  }
}

TEST(AuthenticatorFromConfigTest, RejectsDuplicateTokenWithoutEchoingIt) {
  v1::ServerConfig config = FourTokens();
  AddToken(config, kPublisherToken, "someone-else", {v1::SUBSCRIBER});
  absl::Status status = FromConfigStatus(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("tokens[4].token"), HasSubstr("tokens[1].token"),
                    Not(HasSubstr(std::string(kPublisherToken)))));
}

TEST(AuthenticatorFromConfigTest, SamePrincipalMayHaveSeveralTokens) {
  v1::ServerConfig config = FourTokens();
  AddToken(config, "rotated-admin-token-0123456789", "ops", {v1::ADMIN});
  EXPECT_TRUE(Authenticator::FromConfig(config).ok());
}

// ---- Authenticate ---------------------------------------------------------

TEST(AuthenticateTest, OpenModeMakesEveryCallerAnAnonymousAdmin) {
  Authenticator auth = MakeAuth(v1::ServerConfig());
  for (const Metadata& metadata :
       {Metadata{}, Metadata{{"authorization", "Basic xyz"}},
        Metadata{{"authorization", "Bearer whatever-it-is-0123"}}}) {
    absl::StatusOr<Caller> caller = auth.Authenticate(metadata);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->principal, "");
    EXPECT_TRUE(caller->admin);
  }
}

TEST(AuthenticateTest, KnownTokensMapToTheirCallers) {
  Authenticator auth = MakeAuth(FourTokens());
  struct Case {
    std::string_view token;
    std::string_view principal;
    bool admin, publisher, subscriber;
  };
  for (const Case& c : {Case{kAdminToken, "ops", true, false, false},
                        Case{kPublisherToken, "billing", false, true, false},
                        Case{kSubscriberToken, "alice", false, false, true},
                        Case{kBothToken, "bob", false, true, true}}) {
    const std::string header = std::string("Bearer ") + std::string(c.token);
    absl::StatusOr<Caller> caller =
        auth.Authenticate({{"authorization", header}, {"x-other", "1"}});
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->principal, c.principal);
    EXPECT_EQ(caller->admin, c.admin);
    EXPECT_EQ(caller->publisher, c.publisher);
    EXPECT_EQ(caller->subscriber, c.subscriber);
  }
}

TEST(AuthenticateTest, AcceptsSchemeInAnyCaseAndExtraSpaces) {
  Authenticator auth = MakeAuth(FourTokens());
  const std::string token(kSubscriberToken);
  for (const std::string& header :
       {"bearer " + token, "BEARER " + token, "bEaReR " + token,
        "Bearer   " + token, " Bearer " + token + " "}) {
    absl::StatusOr<Caller> caller =
        auth.Authenticate({{"authorization", header}});
    ASSERT_TRUE(caller.ok()) << header << ": " << caller.status();
    EXPECT_EQ(caller->principal, "alice");
  }
}

TEST(AuthenticateTest, MissingTokenIsUnauthenticated) {
  Authenticator auth = MakeAuth(FourTokens());
  for (const Metadata& metadata :
       {Metadata{}, Metadata{{"x-other", "Bearer admin-token-0123456789"}},
        Metadata{{"authorization", ""}}, Metadata{{"authorization", "Bearer"}},
        Metadata{{"authorization", "bearer   "}}}) {
    absl::Status status = auth.Authenticate(metadata).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("missing bearer token"));
  }
}

TEST(AuthenticateTest, MalformedHeaderIsUnauthenticatedWithoutEcho) {
  Authenticator auth = MakeAuth(FourTokens());
  const std::string token(kAdminToken);
  for (const std::string& header :
       {"Basic " + token, token, "Bearer:" + token, "Bearer\t" + token,
        "Bearer" + token, "Bearer " + token + " extra", "Token " + token}) {
    absl::Status status =
        auth.Authenticate({{"authorization", header}}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_THAT(std::string(status.message()),
                AllOf(HasSubstr("Bearer <token>"), Not(HasSubstr(token))))
        << header;
  }
}

TEST(AuthenticateTest, UnknownTokenIsUnauthenticatedWithoutEcho) {
  Authenticator auth = MakeAuth(FourTokens());
  const std::string admin(kAdminToken);
  for (const std::string& presented :
       {std::string("not-a-configured-token-1234"), admin.substr(0, 16),
        admin + "x", admin.substr(1), std::string("ADMIN-TOKEN-0123456789")}) {
    absl::Status status =
        auth.Authenticate({{"authorization", "Bearer " + presented}}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << presented;
    EXPECT_EQ(status.message(), "unknown bearer token");
  }
}

TEST(AuthenticateTest, KeyIsMatchedLowercaseAsGrpcDelivers) {
  Authenticator auth = MakeAuth(FourTokens());
  const std::string header = "Bearer " + std::string(kAdminToken);
  EXPECT_EQ(auth.Authenticate({{"Authorization", header}}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AuthenticateTest, RejectsMoreThanOneAuthorizationEntry) {
  Authenticator auth = MakeAuth(FourTokens());
  const std::string admin = "Bearer " + std::string(kAdminToken);
  const std::string alice = "Bearer " + std::string(kSubscriberToken);
  absl::Status status =
      auth.Authenticate({{"authorization", alice}, {"authorization", admin}})
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("more than one authorization"));
}

// ---- Authorize ------------------------------------------------------------

constexpr Operation kAllOperations[] = {
    Operation::kReadSubscriptions, Operation::kWriteSubscriptions,
    Operation::kReadPrincipal,     Operation::kWritePrincipals,
    Operation::kReadDialects,      Operation::kWriteDialects,
    Operation::kSubmitEvents,      Operation::kReadDeliveries,
    Operation::kWriteDeliveries,
};

const std::set<Operation> kSubscriberOps = {
    Operation::kReadSubscriptions, Operation::kWriteSubscriptions,
    Operation::kReadPrincipal,     Operation::kReadDialects,
    Operation::kReadDeliveries,    Operation::kWriteDeliveries,
};
const std::set<Operation> kPublisherOps = {Operation::kSubmitEvents,
                                           Operation::kReadDialects};

struct RoleCase {
  std::string_view name;
  std::vector<v1::Role> roles;
  std::set<Operation> allowed;  // every other operation is denied
};

std::set<Operation> Union(const std::set<Operation>& a,
                          const std::set<Operation>& b) {
  std::set<Operation> out = a;
  out.insert(b.begin(), b.end());
  return out;
}

std::vector<RoleCase> RoleCases() {
  const std::set<Operation> all(std::begin(kAllOperations),
                                std::end(kAllOperations));
  return {
      {"admin", {v1::ADMIN}, all},
      {"publisher", {v1::PUBLISHER}, kPublisherOps},
      {"subscriber", {v1::SUBSCRIBER}, kSubscriberOps},
      {"publisher+subscriber",
       {v1::PUBLISHER, v1::SUBSCRIBER},
       Union(kPublisherOps, kSubscriberOps)},
      {"publisher+admin", {v1::PUBLISHER, v1::ADMIN}, all},
      {"subscriber twice", {v1::SUBSCRIBER, v1::SUBSCRIBER}, kSubscriberOps},
  };
}

TEST(AuthorizeTest, EveryRoleTimesEveryOperation) {
  int checked = 0;
  for (const RoleCase& c : RoleCases()) {
    v1::ServerConfig config;
    AddToken(config, "role-table-token-0123456789", "carol", c.roles);
    Authenticator auth = MakeAuth(config);
    absl::StatusOr<Caller> caller = auth.Authenticate(
        {{"authorization", "Bearer role-table-token-0123456789"}});
    ASSERT_TRUE(caller.ok()) << caller.status();
    for (Operation op : kAllOperations) {
      absl::Status status = Authorize(*caller, op);
      if (c.allowed.contains(op)) {
        EXPECT_TRUE(status.ok())
            << c.name << " op " << static_cast<int>(op) << ": " << status;
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied)
            << c.name << " op " << static_cast<int>(op);
        EXPECT_THAT(std::string(status.message()),
                    AllOf(HasSubstr("requires"), HasSubstr("\"carol\"")));
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6 * 9);
}

TEST(AuthorizeTest, OpenModeCallerMayDoEverything) {
  Caller caller = *MakeAuth(v1::ServerConfig()).Authenticate({});
  for (Operation op : kAllOperations) EXPECT_TRUE(Authorize(caller, op).ok());
}

TEST(AuthorizeTest, CallerWithoutRolesIsDeniedEverything) {
  const Caller nobody{.principal = "nobody"};
  for (Operation op : kAllOperations) {
    absl::Status status = Authorize(nobody, op);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(status.message()), HasSubstr("no roles"));
  }
}

TEST(AuthorizeTest, MessagesNameTheOperationAndAllowedRoles) {
  const Caller subscriber{.principal = "alice", .subscriber = true};
  const Caller publisher{.principal = "billing", .publisher = true};
  struct Case {
    Caller caller;
    Operation op;
    std::string_view expected;
  };
  for (const Case& c : {
           Case{subscriber, Operation::kSubmitEvents,
                "submitting events requires the publisher or admin role; "
                "principal \"alice\" has roles: subscriber"},
           Case{publisher, Operation::kWriteSubscriptions,
                "changing subscriptions requires the subscriber or admin "
                "role; principal \"billing\" has roles: publisher"},
           Case{subscriber, Operation::kWriteDialects,
                "changing dialects requires the admin role"},
           Case{subscriber, Operation::kWritePrincipals,
                "changing principals requires the admin role"},
           Case{publisher, Operation::kReadDeliveries,
                "reading deliveries requires the subscriber or admin role"},
           Case{publisher, Operation::kWriteDeliveries,
                "redelivering or recovering deliveries requires"},
           Case{publisher, Operation::kReadPrincipal,
                "reading a principal requires the subscriber or admin role"},
           Case{publisher, Operation::kReadSubscriptions,
                "reading subscriptions requires the subscriber or admin"},
       }) {
    absl::Status status = Authorize(c.caller, c.op);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected));
  }
}

// ---- ScopeFor -------------------------------------------------------------

TEST(ScopeForTest, AdminSeesAllOthersTheirOwn) {
  EXPECT_FALSE(
      ScopeFor(Caller{.principal = "ops", .admin = true}).owner.has_value());
  EXPECT_FALSE(
      ScopeFor(Caller{.principal = "", .admin = true}).owner.has_value());
  for (const Caller& caller :
       {Caller{.principal = "alice", .subscriber = true},
        Caller{.principal = "alice", .publisher = true},
        Caller{.principal = "alice", .publisher = true, .subscriber = true}}) {
    core::Scope scope = ScopeFor(caller);
    ASSERT_TRUE(scope.owner.has_value());
    EXPECT_EQ(*scope.owner, "alice");
  }
}

// ---- API keys -------------------------------------------------------------

class ApiKeyAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = core::ApiKeyRegistry::Open(&store_, &clock_, &random_,
                                           core::Limits{});
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
  }

  std::string NewKey(std::string principal, std::vector<int> roles) {
    core::ApiKeyDraft draft;
    draft.principal = std::move(principal);
    draft.roles = std::move(roles);
    absl::StatusOr<core::CreatedApiKey> created = keys_->Create(draft);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->token : "";
  }

  static absl::StatusOr<Caller> With(const Authenticator& auth,
                                     const std::string& header) {
    Metadata metadata;
    metadata.emplace("authorization", header);
    return auth.Authenticate(metadata);
  }

  storage::MemoryStore store_;
  FakeClock clock_;
  SeededRandom random_{7};
  core::ApiKeyRegistryPtr keys_;
};

TEST_F(ApiKeyAuthTest, KeysAreCheckedAfterConfigTokens) {
  absl::StatusOr<Authenticator> auth =
      Authenticator::FromConfig(FourTokens(), keys_.get());
  ASSERT_TRUE(auth.ok()) << auth.status();
  const std::string token =
      NewKey("carol", {core::kRolePublisher, core::kRoleSubscriber});
  absl::StatusOr<Caller> caller = With(*auth, "Bearer " + token);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->principal, "carol");
  EXPECT_FALSE(caller->admin);
  EXPECT_TRUE(caller->publisher);
  EXPECT_TRUE(caller->subscriber);
  EXPECT_EQ(ScopeFor(*caller).owner, "carol");
  EXPECT_TRUE(With(*auth, "Bearer " + std::string(kAdminToken))->admin);
  EXPECT_EQ(Authorize(*caller, Operation::kManageApiKeys).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(ApiKeyAuthTest, OpenModeHonoursKeysOnly) {
  absl::StatusOr<Authenticator> auth =
      Authenticator::FromConfig(v1::ServerConfig(), keys_.get());
  ASSERT_TRUE(auth.ok());
  ASSERT_TRUE(auth->open_mode());
  const std::string token = NewKey("carol", {core::kRoleSubscriber});
  absl::StatusOr<Caller> caller = With(*auth, "Bearer " + token);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->principal, "carol");
  EXPECT_FALSE(caller->admin);
  EXPECT_TRUE(With(*auth, "Bearer anything-else-0123456789")->admin);
  EXPECT_TRUE(auth->Authenticate(Metadata())->admin);
  ASSERT_TRUE(keys_->Revoke("key_" + token.substr(4, 26)).ok());
  EXPECT_EQ(With(*auth, "Bearer " + token).status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace webhooks::server
