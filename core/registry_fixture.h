// A SubscriptionRegistry over a MemoryStore with a fake clock and seeded
// randomness, for the core registry tests.
#ifndef WEBHOOKS_CORE_REGISTRY_FIXTURE_H_
#define WEBHOOKS_CORE_REGISTRY_FIXTURE_H_

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "core/dialect_catalog.h"
#include "core/principal_directory.h"
#include "core/subscription_registry.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"

namespace webhooks::core {

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Builds the domain objects anew over the same store, as a restart does.
  void Reopen() {
    registry_.reset();
    directory_.reset();
    catalog_.reset();
    auto catalog = DialectCatalog::Open(&store_, &clock_, options_.limits);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = *std::move(catalog);
    auto directory = PrincipalDirectory::Open(&store_, &clock_, options_.limits);
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);
    auto registry = SubscriptionRegistry::Open(
        &store_, catalog_.get(), directory_.get(), &clock_, &random_, options_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
  }

  static SubscriptionRecord Draft(std::string site = "/",
                                  std::string url = "https://example.com/hook",
                                  std::string resource_type = "user",
                                  std::string event_type = "added") {
    SubscriptionRecord draft;
    draft.set_site(std::move(site));
    draft.set_target_url(std::move(url));
    draft.set_resource_type(std::move(resource_type));
    draft.set_event_type(std::move(event_type));
    return draft;
  }

  SubscriptionRecord MustCreate(const SubscriptionRecord& draft,
                                const Scope& scope = Scope::All()) {
    clock_.Advance(absl::Milliseconds(1));  // ids then sort by creation
    absl::StatusOr<SubscriptionRecord> created = registry_->Create(draft, scope);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : SubscriptionRecord();
  }

  storage::MemoryStore store_;
  FakeClock clock_;
  SeededRandom random_{11};
  RegistryOptions options_;
  DialectCatalogPtr catalog_;
  PrincipalDirectoryPtr directory_;
  SubscriptionRegistryPtr registry_;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_REGISTRY_FIXTURE_H_
