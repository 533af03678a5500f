// What Prepare matched, kept in memory for Commit: each prepared event's
// id, sequence number, representation names and recipients, with the
// matcher's state when it was matched. While that state has not changed,
// Commit can build deliveries from here instead of reading the events back
// from disk and matching them again. Bounded by a number of events; a
// transaction that is not here in full (evicted, prepared before a restart,
// over the bound) is simply read and matched from disk.
//
//   matches.Add(tx, held_before, std::move(events));  // after Prepare's write
//   if (auto events = matches.Take(tx, record.event_count(), state)) ...
//
// Thread-safe.
#ifndef WEBHOOKS_CORE_PREPARED_MATCHES_H_
#define WEBHOOKS_CORE_PREPARED_MATCHES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/event_matcher.h"

namespace webhooks::core {

struct PreparedEvent {
  std::string id;
  uint64_t seq = 0;
  std::vector<std::string> representations;  // names the event carries
  std::vector<Recipient> recipients;
  EventMatcher::State state;  // read before it was matched
};

class PreparedMatches {
 public:
  explicit PreparedMatches(size_t max_events) : max_events_(max_events) {}

  // Records `events`, just stored in `transaction_id`, which held
  // `held_before` events before them. Kept only if every earlier event of
  // the transaction is here too and the bound allows.
  void Add(std::string_view transaction_id, int64_t held_before,
           std::vector<PreparedEvent> events) ABSL_LOCKS_EXCLUDED(mu_);

  // Removes the transaction's events and returns them in order when all
  // `count` are here and each was matched in `state`; otherwise nullopt.
  std::optional<std::vector<PreparedEvent>> Take(
      std::string_view transaction_id, int64_t count,
      const EventMatcher::State& state) ABSL_LOCKS_EXCLUDED(mu_);

  // Drops the transaction (aborted, expired).
  void Forget(std::string_view transaction_id) ABSL_LOCKS_EXCLUDED(mu_);

  size_t events() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void EraseLocked(std::string_view transaction_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_events_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<PreparedEvent>> by_transaction_
      ABSL_GUARDED_BY(mu_);
  size_t events_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_PREPARED_MATCHES_H_
