// Numbers taken in commit order: a batch that needs the next numbers of
// some counters gets them inside the write's critical section, so a number
// is never visible before a smaller one of the same counter (what ordered
// delivery's head-of-line check relies on; see core/delivery_order.h).
//
// The hole it closes: a number taken before the write that stores it could
// commit out of order (6 visible while 5 is still being written), and a
// reader would take 6 for the lowest. Here each counter's last number is a
// key of kMeta; the batch that uses new numbers also writes the counter and
// Expects (WriteBatch::Expect) the value it started from. A writer that
// took numbers from the same value meanwhile fails with ABORTED, nothing
// written (retry, e.g. with core's RetryOnConflict); so every number was
// committed after every smaller one. Within one Sequencer numbers are
// taken and written under a lock per counter (striped): its writers never
// conflict. Other Sequencers on the same store (other processes in cluster
// mode, where PostgreSQL locks an expected row until COMMIT) may, and retry.
//
//   const SequenceNeed needs[] = {{"order/sub_1", 2}};
//   RETURN_IF_ERROR(sequencer.Write(batch, needs,
//       [&](std::span<const uint64_t> first, WriteBatch& b) {
//         b.Put(..., key with first[0]), b.Put(..., key with first[0] + 1);
//       }));
//
// Thread-safe.
#ifndef WEBHOOKS_STORAGE_SEQUENCER_H_
#define WEBHOOKS_STORAGE_SEQUENCER_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/store.h"

namespace webhooks::storage {

struct SequenceNeed {
  std::string counter;
  uint64_t count = 0;  // numbers wanted (> 0)
};

class Sequencer {
 public:
  explicit Sequencer(Store* store) : store_(store) {}

  // Calls fill(first, batch) with first[i] the first of needs[i].count
  // consecutive numbers of needs[i].counter (numbers start at 1), then
  // writes `batch` with the counters advanced. ABORTED (nothing written)
  // when another Sequencer took numbers of one of the counters meanwhile;
  // after any error the numbers given are void. Counters must be distinct.
  absl::Status Write(
      WriteBatch& batch, std::span<const SequenceNeed> needs,
      absl::FunctionRef<void(std::span<const uint64_t>, WriteBatch&)> fill,
      WriteOptions options = {});

  // The last number a committed write took of `counter` (0: none).
  absl::StatusOr<uint64_t> Last(std::string_view counter) const;

  // The kMeta key of a counter.
  static std::string CounterKey(std::string_view counter);

 private:
  static constexpr size_t kStripes = 64;

  Store* const store_;
  std::array<absl::Mutex, kStripes> stripes_;
  absl::Mutex cache_mu_;
  // The last number stored per counter, as far as this Sequencer knows
  // (each entry changed only under its counter's stripe).
  absl::flat_hash_map<std::string, uint64_t> last_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace webhooks::storage

#endif  // WEBHOOKS_STORAGE_SEQUENCER_H_
