#include "core/api_key_registry.h"

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

namespace webhooks::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ApiKeyRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    keys_.reset();
    auto keys = ApiKeyRegistry::Open(&store_, &clock_, &random_, Limits{});
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
  }

  static ApiKeyDraft Draft(std::string principal = "alice",
                           std::vector<int> roles = {kRoleSubscriber}) {
    ApiKeyDraft draft;
    draft.principal = std::move(principal);
    draft.roles = std::move(roles);
    draft.display_name = "portal";
    draft.created_by = "ops";
    return draft;
  }

  CreatedApiKey MustCreate(const ApiKeyDraft& draft) {
    clock_.Advance(absl::Milliseconds(1));  // ids then sort by creation
    absl::StatusOr<CreatedApiKey> created = keys_->Create(draft);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : CreatedApiKey();
  }

  // Every stored byte, to check that a refused call changed nothing.
  std::string Dump() {
    std::string out;
    for (storage::Column column : storage::AllColumns()) {
      EXPECT_TRUE(store_
                      .Scan(column, "", "",
                            [&](std::string_view k, std::string_view v) {
                              out += std::string(k) + "=" + std::string(v) + ";";
                              return true;
                            })
                      .ok());
    }
    return out;
  }

  storage::MemoryStore store_;
  FakeClock clock_;
  SeededRandom random_{42};
  ApiKeyRegistryPtr keys_;
};

TEST_F(ApiKeyRegistryTest, CreatedKeyAuthenticatesAndSurvivesARestart) {
  CreatedApiKey created = MustCreate(Draft("alice", {kRoleSubscriber, kRoleSubscriber}));
  EXPECT_TRUE(created.record.id().starts_with("key_"));
  EXPECT_EQ(created.token.size(), 74u);
  EXPECT_TRUE(created.token.starts_with(ApiKeyRegistry::PrefixOf(created.record)));
  EXPECT_TRUE(ApiKeyRegistry::LooksLikeApiKey(created.token));
  EXPECT_EQ(created.record.roles_size(), 1);  // duplicates dropped
  Reopen();
  absl::StatusOr<ApiKeyRecord> key = keys_->Authenticate(created.token);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->principal(), "alice");
  EXPECT_EQ(key->created_by(), "ops");
  EXPECT_EQ(keys_->StateOf(*key), ApiKeyState::kActive);
}

TEST_F(ApiKeyRegistryTest, TheTokenIsNeverStored) {
  CreatedApiKey created = MustCreate(Draft());
  const std::string secret = created.token.substr(31);
  EXPECT_THAT(Dump(), Not(HasSubstr(secret)));
  EXPECT_EQ(created.record.digest().size(), 32u);
}

TEST_F(ApiKeyRegistryTest, WrongOrUnknownTokensAreUnauthenticatedWithoutEcho) {
  CreatedApiKey created = MustCreate(Draft());
  std::string wrong = created.token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  std::string unknown_id = created.token;
  unknown_id[10] = unknown_id[10] == 'a' ? 'b' : 'a';
  for (const std::string& token :
       {wrong, unknown_id, std::string("whk_short"), std::string("x")}) {
    absl::StatusOr<ApiKeyRecord> key = keys_->Authenticate(token);
    EXPECT_EQ(key.status().code(), absl::StatusCode::kUnauthenticated) << token;
    EXPECT_EQ(key.status().message(), "unknown bearer token");
  }
}

TEST_F(ApiKeyRegistryTest, ExpiryFollowsTheClock) {
  ApiKeyDraft draft = Draft();
  draft.expire_time = clock_.Now() + absl::Minutes(10);
  CreatedApiKey created = MustCreate(draft);
  ASSERT_TRUE(keys_->Authenticate(created.token).ok());
  clock_.Advance(absl::Minutes(10));
  absl::StatusOr<ApiKeyRecord> key = keys_->Authenticate(created.token);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(key.status().message(), HasSubstr("expired"));
  EXPECT_THAT(key.status().message(), HasSubstr(created.record.id()));
  EXPECT_EQ(keys_->StateOf(*keys_->Get(created.record.id())),
            ApiKeyState::kExpired);
}

TEST_F(ApiKeyRegistryTest, RevocationIsImmediateAndIdempotent) {
  CreatedApiKey created = MustCreate(Draft());
  absl::StatusOr<ApiKeyRecord> revoked = keys_->Revoke(created.record.id());
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  const int64_t when = revoked->revoke_time_micros();
  EXPECT_NE(when, 0);
  absl::StatusOr<ApiKeyRecord> key = keys_->Authenticate(created.token);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(key.status().message(), HasSubstr("revoked"));
  clock_.Advance(absl::Seconds(5));
  const std::string before = Dump();
  absl::StatusOr<ApiKeyRecord> again = keys_->Revoke(created.record.id());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->revoke_time_micros(), when);
  EXPECT_EQ(Dump(), before);
  Reopen();
  EXPECT_EQ(keys_->Authenticate(created.token).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(ApiKeyRegistryTest, UnknownAndMalformedIds) {
  EXPECT_EQ(keys_->Revoke("key_0000000000000000000000000a").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(keys_->Get("key_0000000000000000000000000a").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<ApiKeyRecord> bad = keys_->Get("sub_123");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("id:"));
  EXPECT_THAT(keys_->Revoke("").status().message(), HasSubstr("id is required"));
}

TEST_F(ApiKeyRegistryTest, BadDraftsNameTheFieldAndStoreNothing) {
  const std::string before = Dump();
  struct Case {
    ApiKeyDraft draft;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({Draft(""), "api_key.principal"});
  cases.push_back({Draft("has space"), "api_key.principal"});
  cases.push_back({Draft("alice", {}), "api_key.roles"});
  cases.push_back({Draft("alice", {kRoleAdmin, 7}), "api_key.roles[1]"});
  cases.push_back({Draft("alice", {0}), "api_key.roles[0]"});
  ApiKeyDraft past = Draft();
  past.expire_time = clock_.Now();
  cases.push_back({past, "api_key.expire_time"});
  ApiKeyDraft long_name = Draft();
  long_name.display_name = std::string(201, 'x');
  cases.push_back({long_name, "api_key.display_name"});
  ApiKeyDraft control = Draft();
  control.display_name = "a\nb";
  cases.push_back({control, "api_key.display_name"});
  for (const Case& c : cases) {
    absl::StatusOr<CreatedApiKey> created = keys_->Create(c.draft);
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument)
        << c.field;
    const std::string message(created.status().message());
    EXPECT_TRUE(message.starts_with(c.field + ":") ||
                message == c.field + " is required")
        << message;
  }
  EXPECT_EQ(Dump(), before);
}

TEST_F(ApiKeyRegistryTest, ListsPagesOldestFirstAndFiltersByPrincipal) {
  std::vector<std::string> alice;
  for (int i = 0; i < 5; ++i) {
    alice.push_back(MustCreate(Draft("alice")).record.id());
    MustCreate(Draft("bob"));
  }
  std::vector<std::string> seen;
  std::string token;
  do {
    absl::StatusOr<ApiKeyPage> page = keys_->List("alice", 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const ApiKeyRecord& key : page->keys) seen.push_back(key.id());
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(seen, alice);
  absl::StatusOr<ApiKeyPage> all = keys_->List("", 0, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->keys.size(), 10u);
  // A token issued for one filter is refused with another.
  absl::StatusOr<ApiKeyPage> first = keys_->List("alice", 2, "");
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(keys_->List("bob", 2, first->next_page_token).status().message(),
              HasSubstr("page_token:"));
  EXPECT_THAT(keys_->List("a b", 2, "").status().message(),
              HasSubstr("principal:"));
}

TEST_F(ApiKeyRegistryTest, RefreshFollowsAnotherWriterOfTheStore) {
  CreatedApiKey created = MustCreate(Draft());
  // Another node (another registry over the same store) revokes it.
  auto other = ApiKeyRegistry::Open(&store_, &clock_, &random_, Limits{});
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Revoke(created.record.id()).ok());
  EXPECT_TRUE(keys_->Authenticate(created.token).ok());  // not yet told
  ASSERT_TRUE(keys_->Refresh(created.record.id()).ok());
  EXPECT_EQ(keys_->Authenticate(created.token).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A key the other creates is known after Reload.
  CreatedApiKey later = [&] {
    clock_.Advance(absl::Milliseconds(1));
    return *(*other)->Create(Draft("bob"));
  }();
  EXPECT_FALSE(keys_->Authenticate(later.token).ok());
  ASSERT_TRUE(keys_->Reload().ok());
  EXPECT_TRUE(keys_->Authenticate(later.token).ok());
}

}  // namespace
}  // namespace webhooks::core
