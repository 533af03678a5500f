#include "fuzz/fuzz_domain.h"

#include <utility>

#include "common/status_macros.h"
#include "server/config_loader.h"
#include "server/converters/static_config.h"

namespace webhooks::fuzz {

absl::StatusOr<std::unique_ptr<FuzzDomain>> FuzzDomain::Open(
    const v1::ServerConfig& config) {
  auto d = std::make_unique<FuzzDomain>();
  d->limits = server::LimitsFromConfig(config);
  ASSIGN_OR_RETURN(d->catalog,
                   core::DialectCatalog::Open(&d->store, &d->clock, d->limits));
  ASSIGN_OR_RETURN(d->directory, core::PrincipalDirectory::Open(
                                     &d->store, &d->clock, d->limits));
  core::RegistryOptions options;
  options.limits = d->limits;
  options.allow_http_targets = config.allow_http_targets();
  ASSIGN_OR_RETURN(d->registry, core::SubscriptionRegistry::Open(
                                    &d->store, d->catalog.get(),
                                    d->directory.get(), &d->clock, &d->random,
                                    options));
  core::SubscriptionRegistry* registry = d->registry.get();
  RETURN_IF_ERROR(d->catalog->SyncStatic(
      server::StaticDialects(config), [registry](std::string_view name) {
        return registry->CountUsingDialect(name);
      }));
  RETURN_IF_ERROR(registry->SyncStatic(server::StaticSubscriptions(config)));
  d->matcher = std::make_unique<core::EventMatcher>(&registry->index(),
                                                    d->directory.get());
  d->queue = std::make_unique<core::DeliveryQueue>(&d->store);
  d->transactions = std::make_unique<core::TransactionLog>(
      &d->store, d->queue.get(), d->matcher.get(), d->catalog.get(), &d->clock,
      &d->random, d->limits, core::TransactionOptions());
  d->attempts = std::make_unique<core::AttemptLog>(&d->store, 50, d->limits);
  return d;
}

}  // namespace webhooks::fuzz
