// The dialects: how deliveries are rendered as HTTP requests. Holds every
// dialect in memory (they are few) and writes through to storage.
//
//   ASSIGN_OR_RETURN(auto catalog, DialectCatalog::Open(store, clock, limits));
//   ASSIGN_OR_RETURN(DialectRecord zapier, catalog->Create(draft));
//
// The built-in `default` dialect always exists and cannot be changed or
// deleted. Thread-safe.
#ifndef WEBHOOKS_CORE_DIALECT_CATALOG_H_
#define WEBHOOKS_CORE_DIALECT_CATALOG_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "core/limits.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::DialectRecord;

inline constexpr std::string_view kDefaultDialect = "default";
inline constexpr std::string_view kDefaultRepresentation = "webhook-delivery";

// Values of DialectRecord.signing / .envelope (webhooks.v1.Dialect enums).
enum DialectSigning : int { kSigningStandardWebhooks = 1, kSigningNone = 2 };
enum DialectEnvelope : int { kEnvelopeRaw = 1, kEnvelopeStandardJson = 2 };

struct DialectPage {
  std::vector<DialectRecord> dialects;
  std::string next_page_token;
};

class DialectCatalog {
 public:
  // Loads every stored dialect and writes the built-in one when missing.
  // The pointers must outlive the catalog.
  static absl::StatusOr<std::unique_ptr<DialectCatalog>> Open(
      storage::Store* store, const Clock* clock, const Limits& limits);

  // Validates `draft` (fields named "dialect.<field>"), fills defaults and
  // stores it. ALREADY_EXISTS when the name is taken.
  absl::StatusOr<DialectRecord> Create(const DialectRecord& draft);

  absl::StatusOr<DialectRecord> Get(std::string_view name) const;
  bool Exists(std::string_view name) const;
  // The representation dialect `name` asks for, into `out` (its buffer
  // reused): kDefaultRepresentation for an unknown dialect.
  void RepresentationOf(std::string_view name, std::string& out) const;

  // Changes after every change to any dialect (what matching reads of them
  // is current while it stays the same).
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  // Dialects ordered by name.
  absl::StatusOr<DialectPage> List(int page_size,
                                   std::string_view page_token) const;

  // Changes the fields named in `paths` (relative to the dialect) to their
  // values in `changes`. FAILED_PRECONDITION for built-in and static ones.
  absl::StatusOr<DialectRecord> Update(const DialectRecord& changes,
                                       const std::vector<std::string>& paths);

  // Cluster mode: makes memory match what is stored for one dialect (after
  // another node changed it; the change feed calls it), or for all.
  absl::Status Refresh(std::string_view name) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);

  // Deletes a dynamic dialect. The caller has checked that no subscription
  // uses it (SubscriptionRegistry::DeleteDialect does).
  absl::Status Delete(std::string_view name);

  // Makes the stored static dialects equal to `declared` (from the config
  // file): new ones created, changed ones updated, ones no longer declared
  // deleted when `in_use` says no subscription uses them, otherwise kept as
  // ordinary dialects.
  absl::Status SyncStatic(const std::vector<DialectRecord>& declared,
                          absl::FunctionRef<size_t(std::string_view)> in_use);

 private:
  DialectCatalog(storage::Store* store, const Clock* clock,
                 const Limits& limits)
      : store_(store), clock_(clock), limits_(limits) {}

  // Validates and fills defaults of every user-settable field.
  absl::Status Normalize(DialectRecord& record) const;
  absl::Status Store(const DialectRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  storage::Store* const store_;
  const Clock* const clock_;
  const Limits limits_;

  mutable absl::Mutex mu_;
  std::map<std::string, DialectRecord, std::less<>> dialects_
      ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
};

using DialectCatalogPtr = std::unique_ptr<DialectCatalog>;

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_DIALECT_CATALOG_H_
