// Each subscription's record of delivery attempts: a ring buffer that keeps
// the last `keep` resolved attempts (default 50, as the seed does). Attempts
// are written once, when resolved, in the same batch as their delivery's
// new state; attempts in flight live in memory with the dispatcher.
//
// The ring is one in storage too: attempt `seq` is stored under slot
// `seq % keep` (keys::Attempt(subscription, slot)), so a new attempt
// overwrites the one that falls out, and appending costs one write, not a
// write and a delete. Records stored under their seq (before slots, or
// under another `keep`) are read alike, ordered by their seq, and deleted
// as they fall out.
//
//   AttemptLog log(store, 50);
//   log.StageAppend(attempt, batch);   // assigns id and seq, prunes
//   ...write batch...
//   ASSIGN_OR_RETURN(AttemptPage page, log.List(sub_id, std::nullopt, 20, ""));
//
// Thread-safe.
#ifndef WEBHOOKS_CORE_ATTEMPT_LOG_H_
#define WEBHOOKS_CORE_ATTEMPT_LOG_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/limits.h"
#include "storage/store.h"
#include "webhooks/internal/records.pb.h"

namespace webhooks::core {

using internal::AttemptRecord;

struct AttemptPage {
  std::vector<AttemptRecord> attempts;  // newest first
  std::string next_page_token;
};

class AttemptLog {
 public:
  AttemptLog(storage::Store* store, int keep, const Limits& limits)
      : store_(store), keep_(keep), limits_(limits) {}

  // Gives `attempt` (resolved) the subscription's next seq, and adds to
  // `batch` its write and the deletion of resolved attempts beyond `keep`.
  // Call Committed(batch-result) order: the caller writes `batch` next;
  // if the write fails the in-memory ring is reloaded on next use.
  absl::Status StageAppend(AttemptRecord& attempt, storage::WriteBatch& batch);

  // Forgets the in-memory ring of a subscription (after a failed write, or
  // when the subscription is deleted), so it is reloaded from storage.
  void Invalidate(std::string_view subscription_id);
  // Forgets every in-memory ring (cluster mode: after partitions were taken
  // over, their subscriptions' rings were written by another node).
  void InvalidateAll();

  // Newest first, optionally only with `status`. Request bodies are read
  // from their events (core/attempt_body.h).
  absl::StatusOr<AttemptPage> List(std::string_view subscription_id,
                                   std::optional<AttemptRecord::Status> status,
                                   int page_size,
                                   std::string_view page_token) const;

  // NOT_FOUND when the subscription has no such attempt (any longer).
  absl::StatusOr<AttemptRecord> Get(std::string_view subscription_id,
                                    std::string_view attempt_id) const;

 private:
  struct Stored {
    uint64_t seq;
    uint64_t key;  // the number in its key: its slot, or its seq
  };
  struct Ring {
    uint64_t next_seq = 0;
    std::deque<Stored> resolved;  // oldest first
  };
  // Loads the ring from storage when it is not in memory.
  absl::StatusOr<Ring*> RingFor(std::string_view subscription_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::Store* const store_;
  const int keep_;
  const Limits limits_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Ring> rings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_ATTEMPT_LOG_H_
