// The subscriptions: validated, stored durably, and mirrored in the
// in-memory SubscriptionIndex that event matching reads.
//
//   ASSIGN_OR_RETURN(auto registry, SubscriptionRegistry::Open(deps, options));
//   ASSIGN_OR_RETURN(SubscriptionRecord created,
//                    registry->Create(draft, Scope::OwnedBy("alice")));
//
// Every mutation is one synced storage batch (record + site and owner index
// keys) followed by the in-memory update, under one writer lock, so storage
// and index never disagree. Reads go to storage. Thread-safe.
//
// In a cluster several nodes write one store: each batch expects the record
// it replaces to be unchanged (storage::WriteBatch::Expect), a mutation that
// lost a race is retried from a fresh read, and the change feed calls
// Refresh so that the index follows other nodes' changes.
#ifndef WEBHOOKS_CORE_SUBSCRIPTION_REGISTRY_H_
#define WEBHOOKS_CORE_SUBSCRIPTION_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "core/dialect_catalog.h"
#include "core/limits.h"
#include "core/ordering_directory.h"
#include "core/principal_directory.h"
#include "core/subscription_index.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::SubscriptionRecord;

inline constexpr std::string_view kDefaultPermission = "view";

// Which subscriptions a caller may see. A subscriber sees only its own;
// another's subscription does not exist for it (NOT_FOUND).
struct Scope {
  std::optional<std::string> owner;
  static Scope All() { return {}; }
  static Scope OwnedBy(std::string principal) {
    return Scope{std::move(principal)};
  }
  bool Allows(const SubscriptionRecord& record) const {
    return !owner.has_value() || record.owner() == *owner;
  }
};

struct ListQuery {
  enum class Active { kAny, kActiveOnly, kInactiveOnly };
  std::string site;  // empty: every site
  bool include_descendants = false;
  std::string owner;  // empty: any owner
  Active active = Active::kAny;
  int page_size = 0;
  std::string page_token;
};

struct SubscriptionPage {
  std::vector<SubscriptionRecord> subscriptions;
  std::string next_page_token;
};

struct PrincipalRemoval {
  int64_t deleted = 0;
  int64_t deactivated = 0;
};

struct RegistryOptions {
  Limits limits;
  bool allow_http_targets = false;
  // How long the previous secret keeps signing after a rotation.
  absl::Duration secret_overlap = absl::Hours(24);
};

class SubscriptionRegistry {
 public:
  // Loads every stored subscription into the index. The pointers must
  // outlive the registry.
  static absl::StatusOr<std::unique_ptr<SubscriptionRegistry>> Open(
      storage::Store* store, DialectCatalog* dialects,
      PrincipalDirectory* principals, const Clock* clock, RandomSource* random,
      const RegistryOptions& options);

  // Validates `draft` (fields named "subscription.<field>"), assigns id,
  // secret and timestamps, stores it active. With a scoped caller the owner
  // defaults to the caller and may not name anyone else (PERMISSION_DENIED).
  absl::StatusOr<SubscriptionRecord> Create(const SubscriptionRecord& draft,
                                            const Scope& scope);

  // The stored record, secret included (callers strip it for the API).
  absl::StatusOr<SubscriptionRecord> Get(std::string_view id,
                                         const Scope& scope) const;

  // Ordered by (site, resource_type, event_type, id); with only an owner
  // filter, by id.
  absl::StatusOr<SubscriptionPage> List(const ListQuery& query,
                                        const Scope& scope) const;

  // Sets the fields named in `paths` to their values in `changes`
  // (`changes.id()` names the subscription). FAILED_PRECONDITION for static
  // subscriptions.
  absl::StatusOr<SubscriptionRecord> Update(
      const SubscriptionRecord& changes, const std::vector<std::string>& paths,
      const Scope& scope);

  // Activation clears the failure count and the status message.
  absl::StatusOr<SubscriptionRecord> SetActive(std::string_view id,
                                               bool active,
                                               std::string_view message,
                                               const Scope& scope);

  // FAILED_PRECONDITION for static subscriptions.
  absl::Status Delete(std::string_view id, const Scope& scope);

  // New secret; the old one is kept as previous_secret for the overlap.
  absl::StatusOr<SubscriptionRecord> RotateSecret(std::string_view id,
                                                  const Scope& scope);

  // Deletes (or with `deactivate_only` deactivates) every subscription the
  // principal owns and forgets its groups, in one batch. Static
  // subscriptions are deactivated, never deleted.
  absl::StatusOr<PrincipalRemoval> RemovePrincipal(std::string_view owner,
                                                   bool deactivate_only);

  // Deletes a dialect no subscription uses (FAILED_PRECONDITION otherwise).
  absl::Status DeleteDialect(std::string_view name);

  // Makes the static subscriptions match `declared` (the config file): new
  // ones created, changed ones updated in place (secret kept), ones no
  // longer declared deactivated; ones declared again after that
  // reactivated. Ids come from the record or StaticSubscriptionId.
  absl::Status SyncStatic(const std::vector<SubscriptionRecord>& declared);

  // What happened to one delivery attempt, for the subscription's health.
  struct AttemptOutcome {
    std::string subscription_id;
    enum class Kind { kSucceeded, kFailed, kGone } kind;
  };
  struct Deactivation {
    std::string subscription_id;
    std::string owner;
    std::string message;
  };
  // Applies attempt outcomes in order: a success clears the failure count;
  // a failure adds to it and at `failure_limit` consecutive failures
  // deactivates the subscription ("Delivery suspended due to too many
  // delivery failures."); 410 Gone deactivates at once. One batch. Returns
  // the subscriptions deactivated. Unknown or inactive ones are skipped.
  absl::StatusOr<std::vector<Deactivation>> RecordAttemptOutcomes(
      const std::vector<AttemptOutcome>& outcomes, int failure_limit);

  // Cluster mode: makes memory (the index and the counts) match what is
  // stored for one subscription, after another node changed it (the change
  // feed calls it); Reload does it for every subscription.
  absl::Status Refresh(std::string_view id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);

  // Subscriptions that use the dialect / are owned by the principal.
  size_t CountUsingDialect(std::string_view dialect) const;
  size_t CountOwnedBy(std::string_view owner) const;

  const SubscriptionIndex& index() const { return index_; }
  // Which subscriptions are ordered, mirrored like the index.
  const OrderingDirectory& ordering() const { return ordering_; }

  // Changes whenever a stored subscription changes (after the write): a
  // record read while generation() stayed the same is still current. Every
  // change reaches the index (ApplyReplace upserts or removes the entry),
  // so the index's generation is the registry's.
  uint64_t generation() const { return index_.generation(); }

 private:
  SubscriptionRegistry(storage::Store* store, DialectCatalog* dialects,
                       PrincipalDirectory* principals, const Clock* clock,
                       RandomSource* random, const RegistryOptions& options)
      : store_(store),
        dialects_(dialects),
        principals_(principals),
        clock_(clock),
        random_(random),
        options_(options) {}

  // Validates the user-settable fields of `record`, filling defaults.
  absl::Status Normalize(SubscriptionRecord& record) const;
  absl::StatusOr<std::optional<SubscriptionRecord>> Load(
      std::string_view id) const;
  // Load + scope check: NOT_FOUND when absent or hidden from `scope`.
  absl::StatusOr<SubscriptionRecord> LoadVisible(std::string_view id,
                                                 const Scope& scope) const;
  // Adds to `batch` the writes that replace `before` (may be null) by
  // `after` (may be null): record and index keys.
  static void StageReplace(const SubscriptionRecord* before,
                           const SubscriptionRecord* after,
                           storage::WriteBatch& batch);
  // Mirrors a written replacement in memory.
  void ApplyReplace(const SubscriptionRecord* before,
                    const SubscriptionRecord* after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RESOURCE_EXHAUSTED when `owner` has max_subscriptions_per_owner.
  absl::Status CheckOwnerQuota(std::string_view owner) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes memory hold `after` (null: nothing) for `id`, whatever it held.
  void Mirror(std::string_view id, const SubscriptionRecord* after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `after` over `before` and mirrors it.
  absl::Status Replace(const SubscriptionRecord* before,
                       const SubscriptionRecord* after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  storage::Store* const store_;
  DialectCatalog* const dialects_;
  PrincipalDirectory* const principals_;
  const Clock* const clock_;
  RandomSource* const random_;
  const RegistryOptions options_;

  SubscriptionIndex index_;  // thread-safe on its own; written under mu_
  OrderingDirectory ordering_;  // likewise

  // Serializes read-modify-write of subscriptions.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, size_t> dialect_users_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> owned_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> static_ids_ ABSL_GUARDED_BY(mu_);
  // Subscriptions whose consecutive_failures is above 0 (a success of any
  // other changes nothing, so RecordAttemptOutcomes need not read it).
  absl::flat_hash_set<std::string> failing_ ABSL_GUARDED_BY(mu_);
};

using SubscriptionRegistryPtr = std::unique_ptr<SubscriptionRegistry>;

// The id of a static subscription declared without one: "static_" + 16 hex
// digits of a stable hash of site, types, URL, owner, permission, dialect.
std::string StaticSubscriptionId(const SubscriptionRecord& record);

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_SUBSCRIPTION_REGISTRY_H_
