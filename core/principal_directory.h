// What the service knows of principals: their groups, used when an event's
// ACL is checked for a subscription's owner. Held in memory, written through
// to storage.
//
//   ASSIGN_OR_RETURN(auto directory, PrincipalDirectory::Open(store, clock, limits));
//   directory->SetGroups("alice", {"staff", "oun-managers"});
//
// Thread-safe.
#ifndef WEBHOOKS_CORE_PRINCIPAL_DIRECTORY_H_
#define WEBHOOKS_CORE_PRINCIPAL_DIRECTORY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "core/limits.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::PrincipalRecord;

class PrincipalDirectory {
 public:
  // Loads every stored principal. The pointers must outlive the directory.
  static absl::StatusOr<std::unique_ptr<PrincipalDirectory>> Open(
      storage::Store* store, const Clock* clock, const Limits& limits);

  // Replaces the principal's groups (validated, duplicates dropped) and
  // returns the stored record. Fields are named "principal_id" and "groups".
  absl::StatusOr<PrincipalRecord> SetGroups(
      std::string_view id, const std::vector<std::string>& groups);

  // The stored record; NOT_FOUND when the principal has none.
  absl::StatusOr<PrincipalRecord> Get(std::string_view id) const;

  // Whether `group` is one of the principal's groups (no copy).
  bool IsMember(std::string_view id, std::string_view group) const;

  // Changes after every change of anyone's groups.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  // Adds the removal of the principal's record to `batch`. Once the batch is
  // written, call Forgotten(id) so memory follows.
  static void StageForget(std::string_view id, storage::WriteBatch& batch);
  void Forgotten(std::string_view id);

 private:
  PrincipalDirectory(storage::Store* store, const Clock* clock,
                     const Limits& limits)
      : store_(store), clock_(clock), limits_(limits) {}

  // Constant after construction.
  storage::Store* const store_;
  const Clock* const clock_;
  const Limits limits_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, PrincipalRecord> principals_
      ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
};

using PrincipalDirectoryPtr = std::unique_ptr<PrincipalDirectory>;

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_PRINCIPAL_DIRECTORY_H_
