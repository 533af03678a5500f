#include "core/principal_directory.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "core/registry_fixture.h"
#include "gmock/gmock.h"

namespace webhooks::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PrincipalDirectoryTest : public RegistryFixture {
 protected:
  // Whether `group`'s member set, as matching sees it, holds `id`.
  bool IsMember(std::string_view id, std::string_view group) {
    const PrincipalDirectory::MembershipView view(directory_.get());
    const PrincipalDirectory::Members* members = view.MembersOf(group);
    return members != nullptr && members->contains(AsAbsl(id));
  }
};

TEST_F(PrincipalDirectoryTest, SetGroupsDedupesAndPersists) {
  absl::StatusOr<PrincipalRecord> set =
      directory_->SetGroups("alice", {"staff", "oun", "staff"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(set->groups(), ElementsAre("staff", "oun"));
  EXPECT_EQ(set->update_time_micros(), absl::ToUnixMicros(clock_.Now()));
  Reopen();
  absl::StatusOr<PrincipalRecord> alice = directory_->Get("alice");
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_THAT(alice->groups(), ElementsAre("staff", "oun"));
  EXPECT_EQ(directory_->Get("bob").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(IsMember("alice", "oun"));
  EXPECT_FALSE(IsMember("alice", "ou"));
  EXPECT_FALSE(IsMember("bob", "staff"));
}

TEST_F(PrincipalDirectoryTest, UnknownPrincipalIsNotFound) {
  EXPECT_EQ(directory_->Get("nobody").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PrincipalDirectoryTest, BadInputNamesTheFieldAndStoresNothing) {
  const int64_t writes = store_.write_count();
  absl::Status bad_id = directory_->SetGroups("al ice", {"x"}).status();
  EXPECT_EQ(bad_id.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_id.message(), HasSubstr("principal_id"));
  absl::Status bad_group = directory_->SetGroups("alice", {"a\tb"}).status();
  EXPECT_EQ(bad_group.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_group.message(), HasSubstr("groups"));
  std::vector<std::string> many(options_.limits.max_groups + 1, "g");
  for (size_t i = 0; i < many.size(); ++i) many[i] += std::to_string(i);
  EXPECT_EQ(directory_->SetGroups("alice", many).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store_.write_count(), writes);
}

TEST_F(PrincipalDirectoryTest, RemovalDeletesDynamicAndDeactivatesStatic) {
  ASSERT_TRUE(directory_->SetGroups("alice", {"staff"}).ok());
  SubscriptionRecord mine = Draft("/a");
  mine.set_owner("alice");
  SubscriptionRecord a = MustCreate(mine);
  SubscriptionRecord b = MustCreate(mine);
  SubscriptionRecord other = Draft("/a");
  other.set_owner("bob");
  SubscriptionRecord bobs = MustCreate(other);
  SubscriptionRecord declared = Draft("/s");
  declared.set_id("static_alice");
  declared.set_owner("alice");
  ASSERT_TRUE(registry_->SyncStatic({declared}).ok());
  EXPECT_EQ(registry_->CountOwnedBy("alice"), 3u);

  absl::StatusOr<PrincipalRemoval> removal =
      registry_->RemovePrincipal("alice", false);
  ASSERT_TRUE(removal.ok()) << removal.status();
  EXPECT_EQ(removal->deleted, 2);
  EXPECT_EQ(removal->deactivated, 1);
  EXPECT_EQ(registry_->Get(a.id(), Scope::All()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->Get(b.id(), Scope::All()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(registry_->Get(bobs.id(), Scope::All()).ok());
  absl::StatusOr<SubscriptionRecord> kept =
      registry_->Get("static_alice", Scope::All());
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_FALSE(kept->active());
  EXPECT_EQ(kept->status_message(), "The owning principal was removed.");
  EXPECT_EQ(directory_->Get("alice").status().code(),
            absl::StatusCode::kNotFound);
  Reopen();
  EXPECT_EQ(directory_->Get("alice").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->CountOwnedBy("alice"), 1u);
}

TEST_F(PrincipalDirectoryTest, DeactivateOnlyKeepsSubscriptions) {
  SubscriptionRecord mine = Draft();
  mine.set_owner("carol");
  SubscriptionRecord a = MustCreate(mine);
  absl::StatusOr<PrincipalRemoval> removal =
      registry_->RemovePrincipal("carol", true);
  ASSERT_TRUE(removal.ok()) << removal.status();
  EXPECT_EQ(removal->deleted, 0);
  EXPECT_EQ(removal->deactivated, 1);
  EXPECT_FALSE(registry_->Get(a.id(), Scope::All())->active());
}

TEST_F(PrincipalDirectoryTest, RemovingUnknownPrincipalIsNotFound) {
  EXPECT_EQ(registry_->RemovePrincipal("ghost", false).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PrincipalDirectoryTest, MemberSetsFollowChangesRemovalAndReload) {
  ASSERT_TRUE(directory_->SetGroups("alice", {"staff", "oun"}).ok());
  ASSERT_TRUE(directory_->SetGroups("bob", {"staff"}).ok());
  const auto members = [&](std::string_view group) {
    const PrincipalDirectory::MembershipView view(directory_.get());
    const PrincipalDirectory::Members* set = view.MembersOf(group);
    std::vector<std::string> ids;
    if (set != nullptr) ids.assign(set->begin(), set->end());
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_THAT(members("staff"), ElementsAre("alice", "bob"));
  EXPECT_THAT(members("oun"), ElementsAre("alice"));
  EXPECT_THAT(members("nobody-in-it"), ElementsAre());

  // Replacing alice's groups takes her out of the ones she left; a group
  // left empty is gone.
  ASSERT_TRUE(directory_->SetGroups("alice", {"admins"}).ok());
  EXPECT_THAT(members("staff"), ElementsAre("bob"));
  EXPECT_THAT(members("oun"), ElementsAre());
  EXPECT_THAT(members("admins"), ElementsAre("alice"));
  EXPECT_FALSE(IsMember("alice", "staff"));
  EXPECT_TRUE(IsMember("alice", "admins"));

  Reopen();  // rebuilt from storage
  EXPECT_THAT(members("staff"), ElementsAre("bob"));
  EXPECT_THAT(members("admins"), ElementsAre("alice"));

  ASSERT_TRUE(registry_->RemovePrincipal("bob", false).ok());
  EXPECT_THAT(members("staff"), ElementsAre());
  EXPECT_FALSE(IsMember("bob", "staff"));
}

}  // namespace
}  // namespace webhooks::core
