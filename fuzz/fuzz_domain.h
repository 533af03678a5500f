// The domain objects the server wires in Application::Create (catalog,
// principals, registry with the config's static subscriptions and dialects,
// matcher, queue, transaction log, attempt log) over a MemoryStore, with a
// fake clock and seeded randomness and no threads, so that a fuzz input's
// run is deterministic and each input starts from an empty store.
#ifndef WEBHOOKS_FUZZ_FUZZ_DOMAIN_H_
#define WEBHOOKS_FUZZ_FUZZ_DOMAIN_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/random.h"
#include "core/attempt_log.h"
#include "core/delivery_queue.h"
#include "core/dialect_catalog.h"
#include "core/event_matcher.h"
#include "core/limits.h"
#include "core/principal_directory.h"
#include "core/subscription_registry.h"
#include "core/transaction_log.h"
#include "storage/memory_store.h"
#include "webhooks/v1/config.pb.h"

namespace webhooks::fuzz {

struct FuzzDomain {
  // As Application::Create: limits from the config, then the static dialects
  // and subscriptions synced into the empty store. Whatever that refuses
  // is returned (a config the server would not start with).
  static absl::StatusOr<std::unique_ptr<FuzzDomain>> Open(
      const v1::ServerConfig& config);

  storage::MemoryStore store;
  FakeClock clock;
  SeededRandom random{42};
  core::Limits limits;
  core::DialectCatalogPtr catalog;
  core::PrincipalDirectoryPtr directory;
  core::SubscriptionRegistryPtr registry;
  std::unique_ptr<core::EventMatcher> matcher;
  std::unique_ptr<core::DeliveryQueue> queue;
  std::unique_ptr<core::TransactionLog> transactions;
  std::unique_ptr<core::AttemptLog> attempts;
};

}  // namespace webhooks::fuzz

#endif  // WEBHOOKS_FUZZ_FUZZ_DOMAIN_H_
