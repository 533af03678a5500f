// Retries a read-modify-write that lost a race with another writer of the
// same store (storage::WriteBatch::Expect failed: ABORTED). Each try must
// read afresh. In one process the in-process locks make this rare; in a
// cluster it is how two nodes changing one record end with both changes.
//
//   return RetryOnConflict([&]() -> absl::StatusOr<Record> {
//     ... read, decide, batch.Expect(...), write ...
//   });
#ifndef WEBHOOKS_CORE_CONFLICT_RETRY_H_
#define WEBHOOKS_CORE_CONFLICT_RETRY_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/store.h"

namespace webhooks::core {

inline constexpr int kConflictRetries = 16;

namespace conflict_internal {
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace conflict_internal

// Calls `attempt` until it does not fail with an expectation failure, at
// most kConflictRetries times; returns the last result (ABORTED when every
// try lost, which only sustained contention on one record causes).
template <typename F>
auto RetryOnConflict(F&& attempt) -> decltype(attempt()) {
  for (int i = 1;; ++i) {
    auto result = attempt();
    if (i >= kConflictRetries ||
        !storage::IsExpectationFailure(conflict_internal::StatusOf(result))) {
      return result;
    }
  }
}

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_CONFLICT_RETRY_H_
