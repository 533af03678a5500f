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
#include "absl/container/flat_hash_set.h"
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

  // The principals of a group, as a set.
  using Members = absl::flat_hash_set<std::string>;

  // Membership of many principals in a few groups under one reader lock:
  // resolve each group an ACL names once, then test principals against the
  // group's member set, which is small for the groups ACLs usually name and
  // absent for a group nobody is in, instead of looking each principal up.
  //
  //   PrincipalDirectory::MembershipView view(directory);
  //   const Members* staff = view.MembersOf("staff");  // null: nobody
  //   bool in = staff != nullptr && staff->contains("alice");
  //
  // Holds the directory's reader lock while it lives: keep it short and do
  // not change principals (or call out to code that may) meanwhile.
  class ABSL_SCOPED_LOCKABLE MembershipView {
   public:
    explicit MembershipView(const PrincipalDirectory* directory)
        ABSL_SHARED_LOCK_FUNCTION(directory->mu_)
        : directory_(directory) {
      directory_->mu_.ReaderLock();
    }
    ~MembershipView() ABSL_UNLOCK_FUNCTION() { directory_->mu_.ReaderUnlock(); }
    MembershipView(const MembershipView&) = delete;
    MembershipView& operator=(const MembershipView&) = delete;

    // Null when nobody is in the group.
    const Members* MembersOf(std::string_view group) const
        ABSL_NO_THREAD_SAFETY_ANALYSIS;

   private:
    const PrincipalDirectory* const directory_;
  };

  // Changes after every change of anyone's groups.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  // Cluster mode: makes memory match what is stored for one principal
  // (after another node changed it; the change feed calls it), or for all.
  absl::Status Refresh(std::string_view id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);

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

  // Adds (removes) principal `id` to (from) the sets of `record`'s groups.
  void JoinGroups(std::string_view id, const PrincipalRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LeaveGroups(std::string_view id, const PrincipalRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Makes memory hold `record` (null: nothing) for `id`.
  void Mirror(std::string_view id, const PrincipalRecord* record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, PrincipalRecord> principals_
      ABSL_GUARDED_BY(mu_);
  // group -> its principals; a group nobody is in has no entry.
  absl::flat_hash_map<std::string, Members> members_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
};

using PrincipalDirectoryPtr = std::unique_ptr<PrincipalDirectory>;

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_PRINCIPAL_DIRECTORY_H_
