#include "bench/populate.h"

#include <cstdio>

#include "bench/stats.h"
#include "core/dialect_catalog.h"
#include "core/principal_directory.h"
#include "core/subscription_registry.h"

namespace webhooks::bench {

absl::Status Populate(storage::Store* store, const Workload& workload,
                      const Clock* clock, RandomSource* random,
                      const std::function<std::string(size_t)>& target_url) {
  const double start = Now();
  const core::RegistryOptions options;
  auto catalog = core::DialectCatalog::Open(store, clock, options.limits);
  if (!catalog.ok()) return catalog.status();
  auto directory = core::PrincipalDirectory::Open(store, clock, options.limits);
  if (!directory.ok()) return directory.status();
  auto registry = core::SubscriptionRegistry::Open(
      store, catalog->get(), directory->get(), clock, random, options);
  if (!registry.ok()) return registry.status();
  for (size_t i = 0; i < workload.owner_count(); ++i) {
    auto set = (*directory)->SetGroups(Workload::Owner(i), {kOwnerGroup});
    if (!set.ok()) return set.status();
  }
  for (size_t i = 0; i < workload.subscription_count(); ++i) {
    const SubscriptionSpec spec = workload.Subscription(i);
    internal::SubscriptionRecord draft;
    draft.set_site(spec.site);
    draft.set_resource_type(spec.resource_type);
    draft.set_event_type(spec.event_type);
    draft.set_owner(spec.owner);
    draft.set_target_url(target_url ? target_url(i) : spec.target_url);
    auto created = (*registry)->Create(draft, core::Scope::All());
    if (!created.ok()) return created.status();
  }
  std::printf("setup: %zu subscriptions and %zu principals created in %.1f s\n",
              workload.subscription_count(), workload.owner_count(),
              Now() - start);
  return absl::OkStatus();
}

}  // namespace webhooks::bench
